"""Blending: weights fitted on out-of-fold predictions and training labels only; an ensemble of one is its member."""
import numpy as np
import pandas as pd
import pytest

from helpers import sentiment
from fasthf.outputs.decisions import parts_for_cross_fitting
from fasthf.outputs.ensemble import Member, cross_fitted_blend, evaluate_ensemble, fit_weights
from fasthf.outputs.metrics import METRICS
from fasthf.outputs.table import OutputsError, Predictions, mean, out_of_fold
from fasthf.tasks import MultiLabel, Regression

SENTIMENT = sentiment()[1]
ACCURACY = METRICS["accuracy"]


def evaluate(members, labels, folds, decide=False):
    """The blend alone (decisions have their own tests, tests/unit/test_decisions.py)."""
    table = pd.DataFrame({"fold": folds, "group": folds.index // 4})  # four phrases per sentence
    return evaluate_ensemble(members, labels.to_numpy(), table, SENTIMENT, ACCURACY, decide=decide)


rng = np.random.default_rng(0)
N, K = 600, 5


def noisy_probs(labels, skill):
    """Probabilities that put `skill` extra logit on the true class."""
    logits = rng.normal(size=(len(labels), K))
    logits[np.arange(len(labels)), labels] += skill
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def task():
    """Training rows 0..N-1 with labels and 3 folds; test rows 0..199 of the test file (no labels exist for them)."""
    train_ids = np.arange(N)
    labels = pd.Series(rng.integers(0, K, N), index=train_ids)
    folds = pd.Series(np.arange(N) % 3, index=train_ids)
    test_ids = np.arange(200)
    return train_ids, labels, folds, test_ids


def member(name, train_ids, labels, test_ids, skill, seeds=(1,)):
    oof = {s: Predictions(train_ids, noisy_probs(labels.loc[train_ids].to_numpy(), skill)) for s in seeds}
    test = {s: Predictions(test_ids, noisy_probs(rng.integers(0, K, len(test_ids)), skill)) for s in seeds}
    return Member(name, "pkg:x", oof, test, {s: 10.0 for s in seeds})


def test_weights_favour_the_member_that_predicts_held_out_phrases_better(task):
    train_ids, labels, folds, test_ids = task
    good, poor = member("good", train_ids, labels, test_ids, 3.0), member("poor", train_ids, labels, test_ids, 0.3)
    result = evaluate([good, poor], labels, folds)
    assert result["weights"]["good"] > 0.8 and sum(result["weights"].values()) == pytest.approx(1)
    table = result["table"].set_index("name")
    assert table.loc["ensemble", "accuracy"] >= table.loc["poor seed 1", "accuracy"]
    assert list(table.kind) == ["member", "member", "ensemble"]
    assert {"accuracy negative", "accuracy positive", "seconds", "weight", "log_loss"} <= set(table.columns)


def test_blending_never_reads_test_labels_or_anything_derived_from_test(task):
    """The fit sees out-of-fold predictions and training labels only: whatever the test predictions are,
    the weights and the out-of-fold figures stay the same, and no label for a test phrase is ever looked up."""
    train_ids, labels, folds, test_ids = task
    members = [member("a", train_ids, labels, test_ids, 2.0), member("b", train_ids, labels, test_ids, 1.0)]
    first = evaluate(members, labels, folds)
    for m in members:  # test predictions replaced by anything else
        m.test = {s: Predictions(p.rows, noisy_probs(rng.integers(0, K, len(p.rows)), 5.0))
                  for s, p in m.test.items()}
    second = evaluate(members, labels, folds)
    assert first["weights"] == second["weights"]
    pd.testing.assert_frame_equal(first["table"], second["table"])
    assert len(labels) == N  # targets of the training rows only, and that was enough


def test_an_ensemble_of_one_is_its_member(task):
    train_ids, labels, folds, test_ids = task
    only = member("only", train_ids, labels, test_ids, 1.5)
    result = evaluate([only], labels, folds)
    assert result["weights"] == {"only": 1.0}
    np.testing.assert_allclose(result["test"].outputs, only.test[1].outputs)
    np.testing.assert_allclose(result["oof"].outputs, only.oof[1].aligned(result["oof"].rows))
    table = result["table"]
    assert table.accuracy.iloc[0] == table.accuracy.iloc[-1]


def test_seeds_average_into_their_member(task):
    train_ids, labels, folds, test_ids = task
    two = member("m", train_ids, labels, test_ids, 1.0, seeds=(1, 2))
    result = evaluate([two], labels, folds)
    assert result["table"].kind.tolist() == ["seed", "seed", "member", "ensemble"]
    np.testing.assert_allclose(result["test"].outputs, (two.test[1].outputs + two.test[2].outputs) / 2)


def test_cross_fitted_accuracy_uses_weights_from_the_other_folds(task):
    train_ids, labels, folds, _ = task
    y = labels.to_numpy()
    a, b = noisy_probs(y, 2.0), noisy_probs(y, 0.5)
    blended = cross_fitted_blend([a, b], y, folds.to_numpy(), SENTIMENT)
    for fold in range(3):
        rows = folds.to_numpy() == fold
        w = fit_weights([a[~rows], b[~rows]], y[~rows], SENTIMENT)
        np.testing.assert_allclose(blended[rows], w[0] * a[rows] + w[1] * b[rows])


def test_with_one_held_out_split_the_blend_is_cross_fitted_over_sentence_disjoint_parts(task):
    train_ids, labels, _, test_ids = task
    one_split = pd.Series(0, index=train_ids)
    members = [member("a", train_ids, labels, test_ids, 2.0), member("b", train_ids, labels, test_ids, 0.5)]
    result = evaluate(members, labels, one_split)
    y = labels.to_numpy()
    parts = parts_for_cross_fitting(one_split.to_numpy(), train_ids // 4)
    assert len(np.unique(parts)) == 5
    a, b = (m.oof[1].outputs for m in members)
    for part in range(5):  # each part's rows blended with weights fitted on the other four parts
        rows = parts == part
        w = fit_weights([a[~rows], b[~rows]], y[~rows], SENTIMENT)
        np.testing.assert_allclose(result["oof"].outputs[rows], w[0] * a[rows] + w[1] * b[rows])
    # the test rows take the weights fitted on every held-out row
    w = fit_weights([a, b], y, SENTIMENT)
    np.testing.assert_allclose(result["test"].outputs, w[0] * members[0].test[1].outputs + w[1] * members[1].test[1].outputs)


def test_folds_predictions_join_and_a_phrase_held_out_twice_is_refused():
    a, b = Predictions(np.array([3, 1]), np.eye(5)[[0, 1]]), Predictions(np.array([2]), np.eye(5)[[2]])
    joined = out_of_fold([a, b])
    assert joined.aligned(np.array([1, 2, 3])).argmax(axis=1).tolist() == [1, 2, 0]
    with pytest.raises(OutputsError, match="held out by more than one fold"):
        out_of_fold([a, a])
    with pytest.raises(OutputsError, match="no prediction"):
        mean([a, b])


@pytest.mark.parametrize("task, y", [
    (MultiLabel(["a", "b"]), np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 50, dtype=float)),
    (Regression(["v"]), np.linspace(-2, 2, 200)[:, None]),
])
def test_blend_weights_favour_the_better_member_for_every_task(task, y):
    rng = np.random.default_rng(1)
    good = np.clip(y + rng.normal(0, 0.1, y.shape), 0, 1) if isinstance(task, MultiLabel) else y + rng.normal(0, 0.1, y.shape)
    poor = np.clip(y + rng.normal(0, 0.8, y.shape), 0, 1) if isinstance(task, MultiLabel) else y + rng.normal(0, 0.8, y.shape)
    weights = fit_weights([good, poor], y, task)
    assert weights[0] > 0.7 and weights.sum() == pytest.approx(1)
