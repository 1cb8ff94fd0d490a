"""The id, target and answer forms of the benchmarks' competitions, each by config: rows matched by position
with copied columns, a sample id named otherwise, one-hot classes, soft labels, tags in one cell, a single
answer column named otherwise than its target, ranked labels."""
import numpy as np
import pandas as pd
import pytest

from archives import write_zip as write_members
from fasthf.inputs.archive import extract_competition
from fasthf.inputs.competition import Competition
from fasthf.inputs.data import DataError
from fasthf.inputs.targets import TargetError
from fasthf.inputs.task_inference import fit_task, infer_task
from fasthf.outputs.submission import make_submission, submission_problems, write_submission
from fasthf.tasks import task_from


def write_zip(path, files: dict[str, pd.DataFrame]):
    return write_members(path, {name: frame.to_csv(index=False) for name, frame in files.items()})


def competition(**described) -> Competition:
    return Competition.from_config({"slug": "c", **described})


# -- ids ------------------------------------------------------------------------------------------

INSULTS = {"id": None, "text": "Comment", "target": "Insult", "copy_columns": ["Date", "Comment"],
           "metric": "roc_auc"}


def insults(tmp_path, n_sample=None):
    train = pd.DataFrame({"Insult": [0, 1] * 10, "Date": "20120618192155Z",
                          "Comment": ["you are kind", "you idiot"] * 10})
    test = pd.DataFrame({"Date": ["", "20120618", ""], "Comment": ["\"thanks\\n\"", "idiot", "fine"]})
    sample = pd.DataFrame({"Insult": 0, "Date": test.Date, "Comment": test.Comment}).iloc[:n_sample]
    return write_zip(tmp_path / "insults.zip", {"train.csv": train, "test.csv": test, "sample_submission.csv": sample})


def test_rows_matched_by_position_keep_the_samples_copied_columns_and_order(tmp_path):
    described = competition(**INSULTS)
    paths = extract_competition(insults(tmp_path), tmp_path / "data", described)
    described, task = Competition.load(paths["competition"])
    test, sample = described.read_test(paths["test"]), described.read_sample(paths["sample_submission"])
    assert described.answer_columns(sample) == ["Insult"]
    submission = make_submission(described.ids(test), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), sample,
                                 described, task)
    assert list(submission.columns) == ["Insult", "Date", "Comment"]
    assert submission.Insult.tolist() == [0.1, 0.8, 0.4]
    assert submission.Comment.tolist() == sample.Comment.tolist() and submission.Date.tolist() == ["", "20120618", ""]
    write_submission(tmp_path / "submission.csv", submission, sample, described, task)
    shuffled = submission.iloc[[1, 0, 2]].reset_index(drop=True)
    assert any("column Date differs from the sample submission's from row 2" in p
               for p in submission_problems(shuffled, sample, described, task))


def test_rows_matched_by_position_need_as_many_sample_rows_as_test_rows(tmp_path):
    with pytest.raises(DataError, match="test.csv has 3 rows and sample_submission.csv 2; with competition.id null"):
        extract_competition(insults(tmp_path, n_sample=2), tmp_path / "data", competition(**INSULTS))


def test_a_sample_id_named_otherwise_than_the_test_id(tmp_path):
    train = pd.DataFrame({"id": range(12), "question1": "how do I cook rice", "question2": ["how to cook rice", "why"] * 6,
                          "is_duplicate": [1, 0] * 6})
    test = pd.DataFrame({"id": [7, 3, 5], "question1": "a", "question2": "b"})
    sample = pd.DataFrame({"test_id": [3, 5, 7], "is_duplicate": 0})
    described = competition(id="id", sample_id="test_id", text="question1", text_pair="question2",
                            target="is_duplicate", metric="log_loss")
    paths = extract_competition(write_zip(tmp_path / "q.zip", {"train.csv": train, "test.csv": test,
                                                              "sample_submission.csv": sample}), tmp_path / "d", described)
    described, task = Competition.load(paths["competition"])
    test, sample = described.read_test(paths["test"]), described.read_sample(paths["sample_submission"])
    submission = make_submission(described.ids(test), np.array([[0.3, 0.7], [0.9, 0.1], [0.5, 0.5]]), sample,
                                 described, task)
    assert list(submission.columns) == ["test_id", "is_duplicate"]
    assert submission.test_id.tolist() == ["3", "5", "7"] and submission.is_duplicate.tolist() == [0.1, 0.5, 0.7]
    assert submission_problems(submission, sample, described, task) == []


# -- targets --------------------------------------------------------------------------------------

ARENA = ["winner_model_a", "winner_model_b", "winner_tie"]


def arena(rows):
    return pd.DataFrame(rows, columns=ARENA).astype(str)


def test_one_hot_columns_are_one_multiclass_target_written_back_as_probabilities():
    train = arena([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])
    kind, why = infer_task(train, ARENA)
    assert kind == "multiclass" and "one-hot" in why
    task = fit_task(kind, train, ARENA)
    assert task.classes == ARENA and task.encode(train).tolist() == [0, 1, 2, 0]
    task = task_from(task.describe())
    outputs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    values = task.submission_values(outputs, ["winner_model_a", "winner_model_b", "winner_tie"], "probabilities")
    assert np.allclose(np.stack(list(values.values()), axis=1), outputs)


def test_a_one_hot_row_that_does_not_sum_to_one_is_refused_naming_its_line():
    train = arena([[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    task = fit_task("multiclass", train, ARENA)
    with pytest.raises(TargetError, match=r"train.csv: line 3: columns \['winner_model_a', 'winner_model_b', "
                                          r"'winner_tie'\]: .* do not hold exactly one 1 \(1 such rows\)"):
        task.encode(train, "train.csv")


def test_soft_targets_are_fractions_their_empty_auxiliary_cells_zero_and_one_answer_column_takes_the_first():
    train = pd.DataFrame({"target": ["0.0", "0.8", "0.166667", "1"], "male": ["", "1.0", "0.0", ""]})
    task = fit_task("soft", train, ["target", "male"])
    assert np.allclose(task.encode(train), [[0, 0], [0.8, 1], [0.166667, 0], [1, 0]])
    outputs = np.array([[0.1, 0.9], [0.7, 0.2]])
    assert task.submission_values(outputs, ["prediction"], "probabilities")["prediction"].tolist() == [0.1, 0.7]
    task.check_answer_columns(train, ["prediction"], "probabilities", "train.csv", "sample_submission.csv")
    bad = train.assign(target=["0.5", "1.5", "0", "0"])
    with pytest.raises(TargetError, match=r"train.csv: line 3: column 'target': '1.5' is not a fraction from 0 to 1"):
        task.encode(bad, "train.csv")


def test_a_single_regression_answer_column_named_otherwise_than_its_target_is_written():
    train = pd.DataFrame({"score": ["0.25", "0.5", "1.0"]})
    task = fit_task("regression", train, ["score"])
    task.check_answer_columns(train, ["prediction"], "probabilities", "train.csv", "sample_submission.csv")
    assert task.submission_values(np.array([[0.3], [0.6]]), ["prediction"], "probabilities")["prediction"].tolist() \
        == [0.3, 0.6]


def test_tags_in_one_cell_are_a_vocabulary_answered_as_a_joined_string():
    train = pd.DataFrame({"Tags": ["php mysql", "c# .net", "php", "python"]})
    task = fit_task("tags", train, ["Tags"], tag_separator=" ")
    assert task.classes == [".net", "c#", "mysql", "php", "python"]
    y = task.encode(train)
    assert y.tolist()[0] == [0, 0, 1, 1, 0] and y.sum() == 6
    task = task_from(task.describe())
    outputs = np.array([[0.1, 0.2, 0.6, 0.9, 0.1], [0.3, 0.1, 0.1, 0.2, 0.4]])
    answers = task.submission_values(outputs, ["Tags"], "labels")["Tags"]
    assert answers.tolist() == ["mysql php", "python"]  # no tag reaches 0.5: the most probable one
    assert task.check_submission_column("Tags", pd.Series(["php", "php haskell"]), "labels").startswith(
        "1 Tags values hold tags unknown to the training file, first at row 3")


def test_ranked_answers_list_the_top_k_labels_best_first_and_are_checked():
    train = pd.DataFrame({"answer": list("ABCDE") * 2})
    task = fit_task("multiclass", train, ["answer"])
    outputs = np.array([[0.1, 0.5, 0.2, 0.15, 0.05], [0.3, 0.1, 0.1, 0.1, 0.4]])
    ranked = task.submission_values(outputs, ["prediction"], "ranked", top_k=3)["prediction"]
    assert ranked.tolist() == ["B C D", "E A B"]
    assert task.check_submission_column("prediction", pd.Series(ranked), "ranked") is None
    assert "first at row 3" in task.check_submission_column("prediction", pd.Series(["A B C", "A A B"]), "ranked")
