"""The whole Snakemake chain for each way of tokenizing: one run whose members are tiny random models of
four architectures (WordPiece; byte-level BPE with a prefix space; SentencePiece padded on the left;
SentencePiece with relative positions), each loaded from a folder (their chains run side by side and
blend, as an ensemble of several architectures does); then a run of one of them killed with SIGKILL
mid-training, which must resume to the very same predictions as that architecture's chain. Every
architecture of the suite trains, saves, loads and predicts a chain in the unit tests
(tests/unit/test_shared_every_architecture.py, test_architectures*.py); here the rules are under test."""
import json
import os
import signal
import subprocess
import time

import pandas as pd
import pytest
import yaml

from helpers import ONE_CORE_JOBS, PATIENCE_S, TWO_STAGES, chain_paths, copy_workflow

EVERY_ARCHITECTURE = "results/architectures"
ARCHITECTURES = ["bert", "roberta", "xlnet", "deberta-v2"]  # one of each tokenizing and padding


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("chains"),
                         {"two-stages.yaml": TWO_STAGES, "one-core-jobs.yaml": ONE_CORE_JOBS})


def run_snakemake(workdir, *config):
    done = subprocess.run(["snakemake", "--cores", "2", "--configfile", "config/demo.yaml", "config/one-core-jobs.yaml", *config],
                          cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-5000:]
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def every_architecture(workdir, tiny_model_folder):
    """One member per architecture, each the two stages of config/two-stages.yaml (stage 1 at lr_find's
    suggestion); the results folder."""
    stages = yaml.safe_load(TWO_STAGES)["stages"]
    members = [{"name": arch, "model": str(tiny_model_folder(arch)), "stages": stages} for arch in ARCHITECTURES]
    (workdir / "config" / "architectures.yaml").write_text(yaml.safe_dump({"members": members}))
    run_snakemake(workdir, "config/two-stages.yaml", "config/architectures.yaml", "--config",
                  f"results_dir={EVERY_ARCHITECTURE}")  # two-stages.yaml's lr_find, as the killed run below has it
    return workdir / EVERY_ARCHITECTURE


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_chain_runs_end_to_end(arch, every_architecture):
    member = every_architecture / arch
    chain = member / "seed42" / "fold0"
    pretrained = json.loads((member / "pretrained" / "config.json").read_text())
    assert pretrained["model_type"] == arch
    assert pd.read_csv(chain / "stages.csv").freeze_to.tolist() == [-1, 0]
    summary = json.loads((member / "tensors" / "summary.json").read_text())
    assert summary["padding_side"] == ("left" if arch == "xlnet" else "right")
    # Stage 1 asked for `lr_max: auto`: it trained at lr_find's suggestion.
    suggested = json.loads((member / "lr_find" / "lr_find.json").read_text())["suggested_lr"]
    assert json.loads((chain / "stages" / "1" / "metrics.json").read_text())["lr"] == suggested
    test_outputs = pd.read_csv(chain / "test_outputs.csv")
    assert len(test_outputs) == test_outputs.row.nunique() and test_outputs.notna().all().all()


def test_every_architecture_blends_into_one_submission(workdir, every_architecture):
    sample = pd.read_csv(workdir / "data" / "demo" / "sampleSubmission.csv")
    submission = pd.read_csv(every_architecture / "submission.csv")
    assert submission.PhraseId.tolist() == sample.PhraseId.tolist()
    members = pd.read_csv(every_architecture / "ensemble" / "members.csv")
    assert sorted(members.member[members.kind == "member"]) == sorted(ARCHITECTURES)
    assert not (every_architecture / "bundle").exists()  # a bundle holds one model


def single_chain_command(folder, results_dir):
    return ["snakemake", "--cores", "2", "--configfile", "config/demo.yaml", "config/one-core-jobs.yaml", "config/two-stages.yaml",
            "--config", f"model={folder}", f"results_dir={results_dir}"]


def test_sigkill_mid_stage_then_rerun_gives_the_same_predictions(workdir, every_architecture, tiny_model_folder):
    """BERT alone (`model=`, an ensemble of one), killed in its second stage: the rerun trains stage 2
    only and predicts exactly what BERT's uninterrupted chain in the run of every architecture did (the
    same stages and seeds; the member's name does not enter the computation)."""
    folder = tiny_model_folder("bert")
    killed = workdir / "results" / "bert-killed"
    _, killed_chain, killed_logs = chain_paths(killed, str(folder))
    run = subprocess.Popen(single_chain_command(folder, "results/bert-killed"), cwd=workdir, start_new_session=True,
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

    output = run_snakemake(workdir, "config/two-stages.yaml", "--config", f"model={folder}",
                           "results_dir=results/bert-killed")  # no extra flags

    assert "stage=2" in output and "stage=1" not in output
    assert (killed_chain / "stages" / "1" / "metrics.json").stat().st_mtime_ns == stage_1
    # Seeded per stage on CPU: the resumed run predicts exactly what the uninterrupted one did.
    reference_chain = every_architecture / "bert" / "seed42" / "fold0"
    assert (killed_chain / "test_outputs.csv").read_bytes() == (reference_chain / "test_outputs.csv").read_bytes()
    assert (killed / "submission.csv").exists() and (killed / "bundle" / "model.safetensors").exists()
