"""refit: the folds validate the recipe and give the out-of-fold figure; a chain trained on every row gives the test outputs."""
import json
import subprocess

import pandas as pd
import pytest
import yaml

from helpers import copy_workflow

RESULTS = "results/refit"
MEMBER = "tiny-bert"


@pytest.fixture(scope="module")
def refit_run(tmp_path_factory, tiny_model_folder):
    """The demo with refit on, one stage, and a tiny random BERT: the chains' plumbing is under test, not
    what MiniLM learns (which would take CI minutes more)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("refit"))
    (workdir / "refit.yaml").write_text(yaml.safe_dump({
        "results_dir": RESULTS, "refit": True, "lr_find": False, "class_offsets": False,
        "members": [{"name": MEMBER, "model": str(tiny_model_folder("bert"))}],
        "max_length": 128,  # the tiny model has 128 positions
        "stages": [{"name": "head", "freeze_to": -1, "epochs": 1, "lr_max": 2.0e-3}]}))
    done = subprocess.run(["snakemake", "--cores", "2", "--configfile", "config/demo.yaml", "refit.yaml"],
                          cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return workdir / RESULTS


def stage_metrics(results, split):
    return json.loads((results / MEMBER / "seed42" / split / "stages" / "1" / "metrics.json").read_text())


def test_the_refit_trains_on_every_row_and_says_its_validation_is_not_held_out(refit_run):
    folds = pd.read_csv(refit_run / "folds.csv")
    refit, fold0 = stage_metrics(refit_run, "refit"), stage_metrics(refit_run, "fold0")
    assert refit["train_rows"] == len(folds) == fold0["train_rows"] + fold0["valid_rows"]
    assert refit["validation"].startswith("training rows") and fold0["validation"] == "held out"


def test_test_outputs_come_from_the_refit_and_the_figure_from_the_fold(refit_run):
    ensemble_test = pd.read_csv(refit_run / "ensemble" / "test_outputs.csv")
    refit_test = pd.read_csv(refit_run / MEMBER / "seed42" / "refit" / "test_outputs.csv")
    pd.testing.assert_frame_equal(ensemble_test, refit_test)
    # the fold predicts no test rows: its outputs would only be replaced by the refit's
    assert not (refit_run / MEMBER / "seed42" / "fold0" / "test_outputs.csv").exists()
    metrics = json.loads((refit_run / "ensemble" / "metrics.json").read_text())
    assert metrics["test_outputs"].startswith("each member's refit")
    fold0 = stage_metrics(refit_run, "fold0")  # its last stage's validation pass is the held-out prediction
    assert metrics["accuracy"] == pytest.approx(fold0["accuracy"]) and metrics["oof_rows"] == fold0["valid_rows"]


def test_the_bundle_holds_the_refit_model(refit_run):
    import torch
    from safetensors.torch import load_file

    bundle = load_file(refit_run / "bundle" / "model.safetensors")
    chains = {split: load_file(refit_run / MEMBER / "seed42" / split / "stages" / "1" / "model" / "model.safetensors")
              for split in ("refit", "fold0")}
    assert bundle.keys() == chains["refit"].keys()
    assert all(torch.equal(bundle[k], chains["refit"][k]) for k in bundle)
    assert not all(torch.equal(bundle[k], chains["fold0"][k]) for k in bundle)
