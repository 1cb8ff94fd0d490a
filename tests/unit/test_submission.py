import numpy as np
import pandas as pd
import pytest

from helpers import read_test, sentiment
from fasthf.outputs.submission import SubmissionError, make_submission, submission_problems, validate_submission_file, write_submission

COMPETITION, TASK = sentiment()


@pytest.fixture
def sample(competition_files):
    return COMPETITION.read_sample(competition_files["sample_submission"])


def labels_submission(sample, label):
    return make_submission(sample.PhraseId, np.eye(5)[[label] * len(sample)], sample, COMPETITION, TASK)


def test_a_matching_submission_is_written_in_the_samples_order(sample, competition_files, tmp_path):
    test = read_test(competition_files["test"])
    shuffled = np.random.default_rng(0).permutation(len(test))
    outputs = np.eye(5)[test.PhraseId.to_numpy() % 5]
    submission = make_submission(test.PhraseId.to_numpy()[shuffled], outputs[shuffled], sample, COMPETITION, TASK)
    write_submission(tmp_path / "submission.csv", submission, sample, COMPETITION, TASK)
    back = pd.read_csv(tmp_path / "submission.csv")
    assert list(back.columns) == ["PhraseId", "Sentiment"]
    assert back.PhraseId.tolist() == sample.PhraseId.tolist()
    assert (back.Sentiment == back.PhraseId % 5).all()  # each id kept its own answer


@pytest.mark.parametrize("damage, message", [
    (lambda s: s.iloc[:-1], "rows, the sample submission has"),
    (lambda s: s.iloc[::-1].reset_index(drop=True), "different order"),
    (lambda s: s.assign(Sentiment=s.Sentiment.where(s.index != 3, 5)), "not integers 0-4, first at row 5"),
    (lambda s: s.assign(PhraseId=s.PhraseId.where(s.index != 0, 1)), "not in the sample submission"),
    (lambda s: s.rename(columns={"Sentiment": "label"}), "columns are"),
])
def test_a_wrong_submission_is_refused_and_not_written(sample, tmp_path, damage, message):
    submission = damage(labels_submission(sample, 2))
    assert any(message in p for p in submission_problems(submission, sample, COMPETITION, TASK))
    with pytest.raises(SubmissionError, match=message):
        write_submission(tmp_path / "submission.csv", submission, sample, COMPETITION, TASK)
    assert not (tmp_path / "submission.csv").exists()


def test_validate_submission_file_reports_problems(competition_files, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("PhraseId,Sentiment\n156061,2\nabc,1\n")
    problems = validate_submission_file(path, competition_files["sample_submission"], COMPETITION, TASK)
    assert "2 PhraseIds are not in the sample submission, e.g. ['156061', 'abc']" in problems


def run_cli(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "fasthf", *args], capture_output=True, text=True)


def test_validate_submission_command(competition_files, sample, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    labels_submission(sample, 2).to_csv(good, index=False)
    labels_submission(sample, 2).iloc[::-1].to_csv(bad, index=False)
    ok = run_cli("validate-submission", str(good), "--sample", str(competition_files["sample_submission"]))
    assert ok.returncode == 0 and "valid against" in ok.stdout
    wrong = run_cli("validate-submission", str(bad), "--sample", str(competition_files["sample_submission"]))
    assert wrong.returncode == 1
    assert "INVALID" in wrong.stdout and "different order than the sample submission from row 2" in wrong.stdout


def test_a_hidden_test_gets_every_id_in_its_own_order_and_the_public_one_the_samples():
    from fasthf.inputs.competition import Competition
    from fasthf.outputs.submission import form_problems, submission_for_test
    from fasthf.tasks import Regression

    competition, task = Competition.from_config({"slug": "x", "target": "target", "metric": "rmse"}), Regression(["target"])
    sample = pd.DataFrame({"id": ["b", "a"], "target": [0.0, 0.0]})
    public = submission_for_test(["a", "b"], np.array([[1.0], [2.0]]), sample, competition, task)
    assert public.values.tolist() == [["b", 2.0], ["a", 1.0]]  # the sample's order, as the pipeline writes it
    hidden = submission_for_test(["c", "a", "d", "b"], np.array([[3.0], [1.0], [4.0], [2.0]]), sample, competition, task)
    assert hidden.values.tolist() == [["c", 3.0], ["a", 1.0], ["d", 4.0], ["b", 2.0]]
    assert not form_problems(hidden, ["id", "target"], competition, task)
    assert form_problems(hidden.assign(target=[1.0, None, 2.0, 3.0]), ["id", "target"], competition, task)
