"""The code-competition route against the stand-in kaggle CLI (tests/fake_kaggle.py, which checks each call
and metadata file as the CLI 2.2.5 does): upload, push, run, submit, each once; a crash resumed; each bad case
one sentence with nothing uploaded."""
import json

import pytest

from fasthf.io import folder_digest, write_json
from fasthf.routes import kernels
from fasthf.routes.kaggle import KaggleError
from helpers import fake_kaggle_env

SLUG = "commonlitreadabilityprize"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """The stand-in CLI on PATH; returns the calls made so far, one list of arguments each."""
    for name, value in fake_kaggle_env(tmp_path, "secret-token-321").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FAKE_KAGGLE_SCORE", "0.4711")

    def calls():
        path = tmp_path / "calls.txt"
        return [line.split(" ") for line in path.read_text().splitlines()] if path.exists() else []
    return calls


def package_and_kernel(tmp_path, owner="someone", payload=b"weights"):
    package = tmp_path / "package"
    (package / "models" / "m").mkdir(parents=True, exist_ok=True)
    (package / "models" / "m" / "model.safetensors").write_bytes(payload)
    write_json(package / kernels.DATASET_METADATA, kernels.dataset_metadata(SLUG, owner))
    kernel = kernels.write_kernel_folder(tmp_path / "kernel", SLUG, owner, gpu=False)
    return package, kernel


def whole_route(tmp_path, ledger, payload=b"weights"):
    package, kernel = package_and_kernel(tmp_path, payload=payload)
    digest = folder_digest(package)
    kernels.upload_package(package, digest, ledger, max_bytes=10**9)
    pushed = kernels.push_kernel(kernel, digest, ledger)
    kernels.wait_for_kernel(pushed["kernel"], pushed["version"], ledger, poll_s=0, sleep=lambda s: None)
    return kernels.submit_kernel(SLUG, pushed["kernel"], pushed["version"], "fasthf: rmse 0.69", tmp_path / "receipt.json",
                                 ledger, score_timeout_s=5, poll_s=0)


def test_the_names_keep_within_kaggles_limits_and_the_kernel_runs_offline():
    longest = kernels.names("jigsaw-toxic-comment-classification-challenge", "someone")
    for key in ("dataset", "kernel"):
        assert 6 <= len(longest[key].split("/")[1]) <= 50
    assert 6 <= len(longest["dataset_title"]) <= 50
    assert kernels.slugify(longest["kernel_title"]) == longest["kernel"].split("/")[1]  # title gives the slug
    meta = kernels.kernel_metadata(SLUG, "someone", gpu=True)
    assert meta["enable_internet"] is False and meta["enable_gpu"] is True  # the CLI's default would be internet on
    assert meta["competition_sources"] == [SLUG] and meta["dataset_sources"] == [f"someone/fasthf-{SLUG}-package"]


def test_the_whole_route_uploads_pushes_waits_and_submits_once_each(cli, tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    record = whole_route(tmp_path, ledger)
    verbs = [" ".join(call[:2]) for call in cli()]
    assert verbs == ["datasets create", "kernels push", "kernels status", "kernels status", "kernels status",
                     "competitions submit", "competitions submissions"]
    submit = cli()[5]
    assert submit[2:9] == [SLUG, "-k", f"someone/fasthf-{SLUG}-submission", "-v", "1", "-f", "submission.csv"]
    assert record["public_score"] == 0.4711
    assert json.loads((tmp_path / "receipt.json").read_text())["uploaded_now"] is True
    whole_route(tmp_path, ledger)  # everything again: Kaggle has it all, nothing is sent but nothing
    assert len(cli()) == 7
    whole_route(tmp_path, ledger, payload=b"new weights")  # a new package: a new version, a new push and submit
    assert [" ".join(call[:2]) for call in cli()[7:10]] == ["datasets version", "kernels push", "kernels status"]


def test_a_crash_between_push_and_submit_is_resumed_without_pushing_again(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KAGGLE_CRASH_ON", "competitions submit")
    ledger = tmp_path / "ledger.jsonl"
    with pytest.raises(KaggleError, match="403 Client Error"):
        whole_route(tmp_path, ledger)
    record = whole_route(tmp_path, ledger)
    verbs = [" ".join(call[:2]) for call in cli()]
    assert verbs.count("datasets create") == 1 and verbs.count("kernels push") == 1
    assert verbs.count("competitions submit") == 2  # the one that crashed, then the one that went through
    assert record["public_score"] == 0.4711


def test_a_kernel_that_ends_in_error_shows_kaggles_message(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KAGGLE_STATUSES", "RUNNING,ERROR")
    monkeypatch.setenv("FAKE_KAGGLE_FAILURE", "FileNotFoundError: /kaggle/input/x")
    with pytest.raises(KaggleError, match=r"ended in ERROR: FileNotFoundError: /kaggle/input/x"):
        whole_route(tmp_path, tmp_path / "ledger.jsonl")
    assert not any(call[:2] == ["competitions", "submit"] for call in cli())


def test_a_kernel_still_running_at_the_timeout_says_to_run_again(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KAGGLE_STATUSES", "RUNNING")
    package, kernel = package_and_kernel(tmp_path)
    ledger = tmp_path / "ledger.jsonl"
    kernels.upload_package(package, "d", ledger, max_bytes=10**9)
    pushed = kernels.push_kernel(kernel, "d", ledger)
    ticks = iter(range(100))
    with pytest.raises(KaggleError, match="still RUNNING after 3 s; run again later"):
        kernels.wait_for_kernel(pushed["kernel"], 1, ledger, timeout_s=3, poll_s=1, clock=lambda: next(ticks),
                                sleep=lambda s: None)


def test_a_refused_push_is_one_sentence_and_nothing_is_submitted(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KAGGLE_PUSH_ERROR", "Notebook title already in use")
    with pytest.raises(KaggleError, match="Kaggle refused the push of someone/fasthf-.*: Notebook title already in use"):
        whole_route(tmp_path, tmp_path / "ledger.jsonl")
    assert [" ".join(call[:2]) for call in cli()] == ["datasets create", "kernels push"]


def test_a_package_larger_than_the_route_takes_is_refused_before_anything_is_sent(cli, tmp_path):
    package, _ = package_and_kernel(tmp_path, payload=b"x" * 5000)
    with pytest.raises(KaggleError, match=r"the package is 0.00 GB, more than the 0.00 GB a dataset upload takes"):
        kernels.upload_package(package, "d", tmp_path / "ledger.jsonl", max_bytes=4000)
    assert cli() == []


def test_a_refused_dataset_is_raised_although_the_cli_exits_0(cli, tmp_path):
    package, _ = package_and_kernel(tmp_path)
    meta = json.loads((package / kernels.DATASET_METADATA).read_text())
    (package / kernels.DATASET_METADATA).write_text(json.dumps({**meta, "licenses": []}))
    with pytest.raises(KaggleError, match="Please specify exactly one license"):
        kernels.upload_package(package, "d", tmp_path / "ledger.jsonl", max_bytes=10**9)
