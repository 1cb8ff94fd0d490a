"""Memory: exactly the test texts found verbatim in the training file take what it says; nothing else changes."""
import numpy as np
import pandas as pd
import pytest

from helpers import sentiment
from fasthf.outputs.memory import apply_memory, remembered
from fasthf.tasks import MultiLabel, Regression

TRAIN = pd.Series(["good", "a good film", "None", "Good", "bad ."])
LABELS = np.array([3, 4, 2, 4, 0])
TEST = pd.Series(["good", "GOOD", "None", "bad", "bad .", "a good film "])
TASK = sentiment()[1]


def test_memory_sets_exactly_the_verbatim_test_phrases_from_training_labels():
    predicted = np.eye(5)[[3, 3, 1, 1, 1, 4]] * 0.6 + 0.08
    final, from_memory, counts = apply_memory(TEST, predicted, TRAIN, LABELS, TASK)
    # "good" and "None" and "bad ." occur verbatim; "GOOD", "bad", "a good film " (trailing space) do not
    assert from_memory.tolist() == [True, False, True, False, True, False]
    assert final.argmax(axis=1).tolist() == [3, 3, 2, 1, 0, 4]
    np.testing.assert_array_equal(final[~from_memory], predicted[~from_memory])  # the model's, untouched
    assert counts == {"enabled": True, "test_texts": 6, "set_from_memory": 3, "changed_answer": 2}


def test_memory_off_keeps_every_model_answer():
    predicted = np.eye(5)[[0, 1, 2, 3, 4, 0]]
    final, from_memory, counts = apply_memory(TEST, predicted, TRAIN, LABELS, TASK, enabled=False)
    np.testing.assert_array_equal(final, predicted)
    assert not from_memory.any() and counts["set_from_memory"] == counts["changed_answer"] == 0


def test_a_phrase_labelled_twice_takes_its_distribution_and_its_most_frequent_label():
    table = remembered(pd.Series(["ok", "ok", "ok", "meh", "meh"]), np.array([2, 3, 3, 1, 2]), TASK)
    assert table.to_numpy().argmax(axis=1).tolist() == [3, 1]  # ok: 3 (twice); meh: a tie, the lowest
    np.testing.assert_allclose(table.loc["ok"], [0, 0, 1 / 3, 2 / 3, 0])


def test_regression_memory_takes_the_mean_value_and_multilabel_the_share_of_positives():
    keys, test = pd.Series(["a", "a", "b"]), pd.Series(["a", "c"])
    values, _, counts = apply_memory(test, np.zeros((2, 1)), keys, np.array([[1.0], [2.0], [5.0]]), Regression(["y"]))
    assert values[:, 0].tolist() == [1.5, 0.0] and counts["set_from_memory"] == 1
    labels = np.array([[1, 0], [1, 1], [0, 0]], dtype=np.float32)
    probs, _, _ = apply_memory(test, np.full((2, 2), 0.3), keys, labels, MultiLabel(["x", "y"]))
    assert probs.tolist() == [[1.0, 0.5], pytest.approx([0.3, 0.3])]
