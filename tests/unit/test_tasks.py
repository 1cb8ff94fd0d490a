"""Each task kind: its outputs, decoding, submission columns, collapse check and answer-column check."""
import numpy as np
import pandas as pd
import pytest

from fasthf.inputs.competition import Competition
from fasthf.inputs.targets import TargetError
from fasthf.outputs.submission import make_submission, submission_problems
from fasthf.tasks import Binary, Classification, MultiLabel, Regression
from presets import preset


def test_probability_columns_follow_the_samples_order_not_the_classes():
    competition = Competition.from_config({"slug": "x", "target": "author", "metric": "log_loss"})
    task = Classification(["author"], ["EAP", "HPL", "MWS"])
    sample = pd.DataFrame({"id": ["b", "a"], "MWS": [0.3, 0.3], "EAP": [0.4, 0.4], "HPL": [0.3, 0.3]})
    outputs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])  # rows: ids a, b
    submission = make_submission(["a", "b"], outputs, sample, competition, task)
    assert list(submission.columns) == ["id", "MWS", "EAP", "HPL"]
    assert submission.values.tolist() == [["b", 0.6, 0.1, 0.3], ["a", 0.1, 0.7, 0.2]]
    assert not submission_problems(submission.astype(str), sample, competition, task)


def test_binary_probability_is_the_positive_class_and_labels_are_the_training_values():
    task = Binary(["target"], [0, 1])
    sample = pd.DataFrame({"id": [1, 2], "target": [0, 0]})
    outputs = np.array([[0.2, 0.8], [0.9, 0.1]])
    scored = Competition.from_config({"slug": "x", "metric": "roc_auc"})
    assert make_submission([1, 2], outputs, sample, scored, task).target.tolist() == [0.8, 0.1]
    labelled = Competition.from_config({"slug": "x", "metric": "f1"})
    assert make_submission([1, 2], outputs, sample, labelled, task).target.tolist() == [1, 0]


def test_a_model_that_gives_every_text_one_answer_is_called_collapsed():
    task = Classification(["Sentiment"], [0, 1, 2, 3, 4], ["negative", "somewhat negative", "neutral",
                                                            "somewhat positive", "positive"])
    y = np.array([2] * 51 + [0, 1, 3, 4] * 12 + [1])  # 51% neutral, as the real held-out split
    one_answer = np.tile([0.1, 0.1, 0.5, 0.2, 0.1], (100, 1))
    assert task.collapsed(y, one_answer) == ("100.0% of the held-out texts are answered 'neutral', "
                                             "which is the label of 51.0% of them")
    assert task.collapsed(y, np.eye(5)[y] * 0.5 + 0.1) is None  # each text its own label
    # where one class is nearly every label, answering it nearly everywhere is no collapse
    assert Binary(["target"], [0, 1]).collapsed(np.array([0] * 99 + [1]), np.tile([0.9, 0.1], (100, 1))) is None


@pytest.mark.parametrize("damage, message", [
    (lambda s: s.assign(toxic=s.toxic.where(s.index != 1, 1.5)), "toxic values are not probabilities from 0 to 1, first at row 3"),
    (lambda s: s.drop(columns="threat"), "columns are"),
    (lambda s: s.assign(id=s.id.where(s.index != 0, "zzz")), "ids are not in the sample submission"),
])
def test_a_wrong_multilabel_submission_names_the_column(damage, message):
    competition = preset("jigsaw-toxic-comment-classification-challenge")
    task = MultiLabel(list(competition.target))
    sample = pd.DataFrame({"id": ["a", "b", "c"], **{t: [0.5] * 3 for t in competition.target}})
    submission = make_submission(["a", "b", "c"], np.full((3, 6), 0.25), sample, competition, task)
    assert not submission_problems(submission, sample, competition, task)
    assert any(message in p for p in submission_problems(damage(submission), sample, competition, task))


def test_each_class_needs_its_probability_column_in_the_sample():
    task = Classification(["author"], ["EAP", "HPL", "Poe"])
    train = pd.DataFrame({"author": ["EAP", "Poe", "HPL"]})
    with pytest.raises(TargetError, match=r"train.csv: line 3: column 'author': the label 'Poe' has no column in "
                                          r"sample.csv, whose answer columns are \['EAP', 'HPL', 'MWS'\]"):
        task.check_answer_columns(train, ["EAP", "HPL", "MWS"], "probabilities", "train.csv", "sample.csv")
    task.check_answer_columns(train, ["author"], "labels", "train.csv", "sample.csv")  # one label column: no check


def test_several_targets_need_the_samples_columns_among_them():
    with pytest.raises(TargetError, match=r"sample.csv: line 1: the answer column\(s\) \['cohesion'\] are not among"):
        Regression(["syntax", "vocabulary"]).check_answer_columns(pd.DataFrame(), ["syntax", "cohesion"], "probabilities",
                                                                 "train.csv", "sample.csv")
