"""The kaggle CLI wrapper: download, retries, credentials, one upload per file, the public score polled."""
import json
import time

import pytest

from helpers import fake_kaggle_env, sentiment
from fasthf.inputs.archive import extract_competition
from fasthf.routes import kaggle

SENTIMENT = sentiment()[0]


@pytest.fixture
def fake_cli(tmp_path, monkeypatch):
    """A `kaggle` executable on PATH that records its calls; credentials set to a known secret."""
    for name, value in fake_kaggle_env(tmp_path, "secret-token-123").items():
        monkeypatch.setenv(name, value)
    return tmp_path / "calls.txt"


def test_download_uses_the_kaggle_cli_then_unpacks(fake_cli, tmp_path):
    archive = kaggle.download_competition("sentiment-analysis-on-movie-reviews", tmp_path)
    assert fake_cli.read_text() == f"competitions download -c sentiment-analysis-on-movie-reviews -p {tmp_path}\n"
    assert extract_competition(archive, tmp_path, SENTIMENT)["test"].is_file()


def test_transient_failures_are_retried_then_succeed(fake_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_KAGGLE_FAILS", "2")
    kaggle.download_competition("c", tmp_path, retries=3, backoff_s=0.01)
    assert len(fake_cli.read_text().splitlines()) == 3


def test_persistent_failures_end_in_a_clear_error(fake_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_KAGGLE_FAILS", "9")
    with pytest.raises(kaggle.KaggleError, match=r"(?s)failed \(exit 1, attempt 3 of 3\).*Connection reset"):
        kaggle.download_competition("c", tmp_path, retries=3, backoff_s=0.01)


def test_no_credentials_stops_before_calling_kaggle(fake_cli, monkeypatch, tmp_path):
    for name in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "empty"))
    assert not kaggle.credentials_available()
    with pytest.raises(kaggle.KaggleError, match="KAGGLE_API_TOKEN"):
        kaggle.download_competition("c", tmp_path)
    assert not fake_cli.exists()


def test_credentials_are_found_where_the_cli_looks(tmp_path):
    assert kaggle.credentials_available({"KAGGLE_API_TOKEN": "x"}, home=tmp_path)
    assert kaggle.credentials_available({"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k"}, home=tmp_path)
    assert not kaggle.credentials_available({}, home=tmp_path)
    (tmp_path / ".kaggle").mkdir()
    (tmp_path / ".kaggle" / "access_token").write_text("x")
    assert kaggle.credentials_available({}, home=tmp_path)


def test_submit_uploads_once_and_keeps_the_token_out_of_every_file(fake_cli, tmp_path):
    submission = tmp_path / "submission.csv"
    submission.write_text("PhraseId,Sentiment\n156061,2\n")
    receipt, ledger = tmp_path / "receipt.json", tmp_path / "ledger.jsonl"
    kaggle.submit("c", submission, "fasthf test", receipt, ledger, score_timeout_s=0)
    assert fake_cli.read_text() == f"competitions submit -c c -f {submission} -m fasthf test\n"
    first = json.loads(receipt.read_text())
    assert first["uploaded_now"] and first["sha256"] == kaggle.sha256(submission)

    receipt.unlink()  # a rerun, as after Snakemake deleted the receipt
    kaggle.submit("c", submission, "fasthf test", receipt, ledger, score_timeout_s=0)
    assert len(fake_cli.read_text().splitlines()) == 1  # not uploaded again
    assert json.loads(receipt.read_text())["uploaded_now"] is False

    submission.write_text("PhraseId,Sentiment\n156061,3\n")  # new predictions are a new submission
    kaggle.submit("c", submission, "fasthf test", receipt, ledger, score_timeout_s=0)
    assert len(fake_cli.read_text().splitlines()) == 2
    for path in (receipt, ledger, fake_cli):
        assert "secret-token-123" not in path.read_text()


def submitted(tmp_path, **kwargs):
    submission = tmp_path / "submission.csv"
    submission.write_text("PhraseId,Sentiment\n156061,2\n")
    receipt, ledger = tmp_path / "receipt.json", tmp_path / "ledger.jsonl"
    kaggle.submit("c", submission, "fasthf ensemble: out-of-fold accuracy 0.6500", receipt, ledger,
                  oof_score=0.65, poll_s=0.01, **kwargs)
    return json.loads(receipt.read_text()), ledger


def test_the_public_score_is_polled_until_scored_and_recorded(fake_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_KAGGLE_PENDING", "2")  # listed twice as pending, then scored
    monkeypatch.setenv("FAKE_KAGGLE_SCORE", "0.64321")
    receipt, ledger = submitted(tmp_path)
    assert receipt["public_score"] == 0.64321 and receipt["score_status"] == "complete"
    calls = fake_cli.read_text().splitlines()
    assert calls[0].startswith("competitions submit") and calls[1:] == ["competitions submissions -v c"] * 3
    table = kaggle.submissions_table(ledger)
    assert table[["message", "metric", "oof_score", "public_score"]].values.tolist() == [
        ["fasthf ensemble: out-of-fold accuracy 0.6500", "accuracy", 0.65, 0.64321]]


def test_listing_errors_are_retried_and_a_score_that_never_comes_does_not_block(fake_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_KAGGLE_SCORE", "never")
    started = time.monotonic()
    receipt, ledger = submitted(tmp_path, score_timeout_s=1.0)
    assert time.monotonic() - started < 30
    assert receipt["public_score"] is None and receipt["score_status"].startswith("no score after 1 s")
    assert receipt["uploaded_now"] is True  # the upload happened and is in the ledger, score or not
    # a rerun uploads nothing and asks again; now Kaggle has scored it
    monkeypatch.setenv("FAKE_KAGGLE_SCORE", "0.6")
    monkeypatch.setenv("FAKE_KAGGLE_FAILS", str(len(fake_cli.read_text().splitlines()) + 1))  # next call fails once
    receipt, ledger = submitted(tmp_path, backoff_s=0.01)
    assert receipt["uploaded_now"] is False and receipt["public_score"] == 0.6
    assert sum(line.startswith("competitions submit ") for line in fake_cli.read_text().splitlines()) == 1
    assert kaggle.submissions_table(ledger).public_score.tolist() == [0.6]


class FakeApi:
    """What the kaggle package's Python API answers about a competition (the CLI does not print the field)."""

    def __init__(self, kernels_only):
        from types import SimpleNamespace

        self.response = SimpleNamespace(competitions=[
            SimpleNamespace(ref="https://www.kaggle.com/competitions/other-one", is_kernels_submissions_only=False),
            SimpleNamespace(ref="https://www.kaggle.com/competitions/some-code-competition",
                            is_kernels_submissions_only=kernels_only)])

    def competitions_list(self, search=None):
        return self.response


def test_a_file_route_for_a_competition_kaggle_runs_as_notebooks_is_refused():
    with pytest.raises(kaggle.KaggleError, match="Kaggle takes only notebook submissions for some-code-competition, but "
                                                 "its description says route: file; set competition.route: notebook"):
        kaggle.check_route("some-code-competition", "file", api=FakeApi(kernels_only=True))
    kaggle.check_route("some-code-competition", "notebook", api=FakeApi(kernels_only=True))
    kaggle.check_route("some-code-competition", "file", api=FakeApi(kernels_only=False))
    assert kaggle.takes_notebooks_only("not-listed", api=FakeApi(True)) is None  # unknown: the description stands


def test_without_a_token_kaggle_is_not_asked(monkeypatch, tmp_path):
    for name in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path))
    assert kaggle.takes_notebooks_only("some-code-competition") is None
