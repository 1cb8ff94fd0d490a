import pandas as pd
import pytest

from fasthf.data import read_sample_submission
from fasthf.submission import (SubmissionError, make_submission, submission_problems, validate_submission_file,
                               write_submission)


@pytest.fixture
def sample(competition_files):
    return read_sample_submission(competition_files["sample_submission"])


def test_a_matching_submission_is_written(sample, tmp_path):
    submission = make_submission(sample.PhraseId, [3] * len(sample))
    write_submission(tmp_path / "submission.csv", submission, sample)
    back = pd.read_csv(tmp_path / "submission.csv")
    assert list(back.columns) == ["PhraseId", "Sentiment"]
    assert back.PhraseId.tolist() == sample.PhraseId.tolist()


@pytest.mark.parametrize("damage, message", [
    (lambda s: s.iloc[:-1], "rows, sampleSubmission has"),
    (lambda s: s.iloc[::-1].reset_index(drop=True), "different order"),
    (lambda s: s.assign(Sentiment=s.Sentiment.where(s.index != 3, 5)), "not integers 0-4, first at row 5"),
    (lambda s: s.assign(PhraseId=s.PhraseId.where(s.index != 0, 1)), "not in sampleSubmission"),
    (lambda s: s.rename(columns={"Sentiment": "label"}), "columns are"),
])
def test_a_wrong_submission_is_refused_and_not_written(sample, tmp_path, damage, message):
    submission = damage(make_submission(sample.PhraseId, [2] * len(sample)))
    assert any(message in p for p in submission_problems(submission, sample))
    with pytest.raises(SubmissionError, match=message):
        write_submission(tmp_path / "submission.csv", submission, sample)
    assert not (tmp_path / "submission.csv").exists()


def test_validate_submission_file_reports_problems(competition_files, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("PhraseId,Sentiment\n156061,2\nabc,1\n")
    assert validate_submission_file(path, competition_files["sample_submission"]) == [
        "row 3: PhraseId 'abc' is not an integer"]


def run_cli(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "fasthf", *args], capture_output=True, text=True)


def test_validate_submission_command(competition_files, sample, tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    make_submission(sample.PhraseId, [2] * len(sample)).to_csv(good, index=False)
    make_submission(sample.PhraseId, [2] * len(sample)).iloc[::-1].to_csv(bad, index=False)
    ok = run_cli("validate-submission", str(good), "--sample", str(competition_files["sample_submission"]))
    assert ok.returncode == 0 and "valid against" in ok.stdout
    wrong = run_cli("validate-submission", str(bad), "--sample", str(competition_files["sample_submission"]))
    assert wrong.returncode == 1
    assert "INVALID" in wrong.stdout and "different order than sampleSubmission from row 2" in wrong.stdout
