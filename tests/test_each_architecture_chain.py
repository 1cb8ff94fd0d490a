"""The whole Snakemake chain once per architecture, each a tiny random model loaded from a folder;
then a run killed with SIGKILL mid-training that must resume to the very same predictions."""
import json
import os
import signal
import subprocess
import time

import pandas as pd
import pytest

from conftest import PATIENCE_S, TWO_STAGES, chain_paths, copy_workflow
from tiny_models import ARCHITECTURES


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("chains"))
    (workdir / "config" / "two-stages.yaml").write_text(TWO_STAGES)
    return workdir


def chain_command(folder, results_dir):
    # Two cores: the independent jobs (download and pretrained; predict and export) overlap.
    return ["snakemake", "--cores", "2", "--configfile", "config/demo.yaml", "config/two-stages.yaml",
            "--config", f"model={folder}", f"results_dir={results_dir}"]


def run_chain(workdir, folder, results_dir):
    done = subprocess.run(chain_command(folder, results_dir), cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-5000:]
    return done.stdout + done.stderr


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_chain_runs_end_to_end(arch, workdir, tiny_model_folder):
    folder = tiny_model_folder(arch)
    run_chain(workdir, folder, f"results/{arch}")
    results = workdir / "results" / arch
    member, chain, _ = chain_paths(results, str(folder))
    pretrained = json.loads((member / "pretrained" / "config.json").read_text())
    assert pretrained["model_type"] == arch
    sample = pd.read_csv(workdir / "data" / "demo" / "sampleSubmission.csv")
    submission = pd.read_csv(results / "submission.csv")
    assert submission.PhraseId.tolist() == sample.PhraseId.tolist()
    assert pd.read_csv(chain / "stages.csv").freeze_to.tolist() == [-1, 0]
    summary = json.loads((member / "tensors" / "summary.json").read_text())
    assert summary["padding_side"] == ("left" if arch == "xlnet" else "right")
    # Stage 1 asked for `lr_max: auto`: it trained at lr_find's suggestion.
    suggested = json.loads((member / "lr_find" / "lr_find.json").read_text())["suggested_lr"]
    assert json.loads((chain / "stages" / "1" / "metrics.json").read_text())["lr"] == suggested


def test_sigkill_mid_stage_then_rerun_gives_the_same_predictions(workdir, tiny_model_folder):
    folder = tiny_model_folder("bert")
    reference = workdir / "results" / "bert"
    _, reference_chain, _ = chain_paths(reference, str(folder))
    if not (reference / "submission.csv").exists():
        run_chain(workdir, folder, "results/bert")
    killed = workdir / "results" / "bert-killed"
    _, killed_chain, killed_logs = chain_paths(killed, str(folder))
    run = subprocess.Popen(chain_command(folder, "results/bert-killed"), cwd=workdir, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = killed_logs / "stage_2.log"
    deadline = time.time() + PATIENCE_S
    while "epoch 1/2" not in (log.read_text() if log.exists() else ""):  # stage 2 is training
        assert run.poll() is None and time.time() < deadline, "did not reach stage 2"
        time.sleep(0.1)
    os.killpg(run.pid, signal.SIGKILL)  # no clean-up at all: a lost machine
    run.wait()
    assert not (killed_chain / "stages" / "2" / "metrics.json").exists()
    stage_1 = (killed_chain / "stages" / "1" / "metrics.json").stat().st_mtime_ns

    output = run_chain(workdir, folder, "results/bert-killed")  # no extra flags

    assert "stage=2" in output and "stage=1" not in output
    assert (killed_chain / "stages" / "1" / "metrics.json").stat().st_mtime_ns == stage_1
    # Seeded per stage on CPU: the resumed run predicts exactly what the uninterrupted one did.
    assert (killed / "submission.csv").read_bytes() == (reference / "submission.csv").read_bytes()
    assert (killed_chain / "test_outputs.csv").read_bytes() == (reference_chain / "test_outputs.csv").read_bytes()
