"""The whole Snakemake chain once per architecture, each a tiny random model loaded from a folder."""
import json
import subprocess

import pandas as pd
import pytest

from conftest import copy_workflow
from tiny_models import ARCHITECTURES

TWO_STAGES = """\
stages:
  - {freeze_to: -1, epochs: 1, lr_max: 1.0e-3}
  - {freeze_to: 0, epochs: 1, lr_max: 1.0e-3, lr_decay: 0.9}
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("chains"))
    (workdir / "config" / "two-stages.yaml").write_text(TWO_STAGES)
    return workdir


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_chain_runs_end_to_end(arch, workdir, tiny_model_folder):
    folder = tiny_model_folder(arch)
    done = subprocess.run(
        ["snakemake", "--cores", "1", "--configfile", "config/demo.yaml", "config/two-stages.yaml",
         "--config", f"model={folder}", f"results_dir=results/{arch}"],
        cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-5000:]
    results = workdir / "results" / arch
    pretrained = json.loads((results / "pretrained" / "config.json").read_text())
    assert pretrained["model_type"] == arch
    sample = pd.read_csv(workdir / "data" / "demo" / "sampleSubmission.csv")
    submission = pd.read_csv(results / "submission.csv")
    assert submission.PhraseId.tolist() == sample.PhraseId.tolist()
    assert pd.read_csv(results / "stages.csv").freeze_to.tolist() == [-1, 0]
    summary = json.loads((results / "tensors" / "summary.json").read_text())
    assert summary["padding_side"] == ("left" if arch == "xlnet" else "right")
