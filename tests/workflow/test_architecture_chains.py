"""The whole Snakemake chain for each way of tokenizing: one run whose members are tiny random models of
four architectures (WordPiece; byte-level BPE with a prefix space; SentencePiece padded on the left;
SentencePiece with relative positions), each loaded from a folder (their chains run side by side and
blend, as an ensemble of several architectures does). Every architecture of the suite trains, saves, loads
and predicts a chain in the unit tests (tests/unit/test_shared_every_architecture.py, test_architectures*.py);
here the rules are under test. A run killed with SIGKILL mid-stage resumes to what an uninterrupted run gives in
tests/workflow/test_shared_encoding.py; killed runs resume in test_time_limit.py and test_presets.py too."""
import json
import subprocess

import pandas as pd
import pytest
import yaml

from helpers import ONE_CORE_JOBS, TWO_STAGES, copy_workflow

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
                  f"results_dir={EVERY_ARCHITECTURE}")  # lr_find for stage 1, in two-stages.yaml's iterations
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
