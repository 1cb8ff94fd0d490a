"""A run with a time limit (config time_limit), as a user runs it: too short a limit refused before any
training, naming the limit that fits; then a limit that fits, its plan a checkpoint the chains expand from,
killed with -9 mid-stage and resumed with the same plan and the time already spent counted. A run without a
limit has no rates, plan or clock at all. A tiny random BERT: the plan's mechanics are under test, not the model."""
import json
import os
import signal
import subprocess

import pandas as pd
import pytest

from fasthf.config import model_slug
from helpers import ONE_CORE_JOBS, copy_workflow, interruptible, wait_for

RESULTS = "results/timed"
TIMED = """\
lr_find: false
stages:
  - {name: all, freeze_to: 0, epochs: 1, lr_max: 1.0e-3}
time_plan:
  margin: 0.1
  allocations:
    - {folds: 1, seeds: 1, epochs: 1}
    - {folds: 2, seeds: 1, epochs: 1}
"""


def command(model, limit):
    return ["snakemake", "--cores", "1", "--configfile", "config/demo.yaml", "config/one-core-jobs.yaml",
            "config/timed.yaml", "--config", f"model={model}", f"results_dir={RESULTS}", f"time_limit={limit}"]


@pytest.fixture(scope="module")
def timed_runs(tmp_path_factory, tiny_model_folder):
    """(workdir, member, the refused run's output, plan.json's bytes and mtime before the kill, the resumed run's
    output)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("timed"), {"one-core-jobs.yaml": ONE_CORE_JOBS, "timed.yaml": TIMED})
    model = tiny_model_folder("bert")
    member = model_slug(str(model))
    refused = subprocess.run(command(model, "20s"), cwd=workdir, capture_output=True, text=True)
    assert refused.returncode != 0, refused.stdout[-3000:]
    run = interruptible(command(model, "2h"), workdir)
    wait_for(workdir / RESULTS / "logs" / member / "seed42" / "fold1" / "stage_1.log", run, text="fit_one_cycle(")
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    plan = workdir / RESULTS / "plan.json"
    before = plan.read_bytes(), plan.stat().st_mtime_ns
    resumed = subprocess.run(command(model, "2h"), cwd=workdir, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-5000:]
    return workdir, member, refused.stdout + refused.stderr, before, resumed.stdout + resumed.stderr


def test_a_limit_too_short_is_refused_before_training_naming_the_limit_that_fits(timed_runs):
    _, _, refused, _, _ = timed_runs
    assert "PlanError: time_limit 20s is too short: the smallest plan (one held-out split, 1 seed, last stage 1 epoch)" in refused
    assert "set time_limit to at least" in refused
    assert "rule train_stage" not in refused  # nothing trained


def test_the_plan_chose_the_largest_allocation_that_fits_and_the_chains_are_its(timed_runs):
    workdir, member, _, _, _ = timed_runs
    plan = json.loads((workdir / RESULTS / "plan.json").read_text())
    assert plan["chosen"] == {"folds": 2, "seeds": 1, "epochs": 1, "read_alone": False} and "the last of the allocations that fits" in plan["why"]
    assert plan["rates"][member]["train_per_s"] > 0 and plan["predicted_end_s"] < 2 * 3600 * 0.9
    folds = pd.read_csv(workdir / RESULTS / "folds.csv")
    assert sorted(folds.fold.unique()) == [0, 1]  # two folds, as planned (the config says one split)
    members = pd.read_csv(workdir / RESULTS / "ensemble" / "members.csv")
    assert len(members) >= 1 and (workdir / RESULTS / "submission.csv").is_file()
    for fold in (0, 1):
        metrics = json.loads((workdir / RESULTS / member / "seed42" / f"fold{fold}" / "stages" / "1" /
                              "metrics.json").read_text())
        assert metrics["stopped_early"] is None  # two hours are plenty
    summary = dict(pd.read_csv(workdir / RESULTS / "summary.csv").values)
    assert summary["time limit"].startswith("2h 00m: the last of the allocations that fits")
    assert summary["stages stopped early"] == "none"


def test_a_run_killed_and_resumed_keeps_its_plan_and_counts_the_time_it_spent(timed_runs):
    workdir, _, _, (plan_bytes, plan_mtime), resumed = timed_runs
    plan = workdir / RESULTS / "plan.json"
    assert plan.read_bytes() == plan_bytes and plan.stat().st_mtime_ns == plan_mtime
    assert "rule plan:" not in resumed and "rule rates:" not in resumed
    sessions = json.loads((workdir / RESULTS / "clock.json").read_text())
    assert len(sessions) == 3  # refused, killed, resumed
    assert all(s["end"] > s["start"] for s in sessions[:2])  # the killed one closed at its last sign of work


def test_without_a_limit_there_is_no_rates_plan_or_clock(tmp_path, tiny_model_folder):
    workdir = copy_workflow(tmp_path, {"one-core-jobs.yaml": ONE_CORE_JOBS, "timed.yaml": TIMED})
    done = subprocess.run(command(tiny_model_folder("bert"), "null")[:-1] + ["-n"], cwd=workdir,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = done.stdout + done.stderr
    assert "rule train_stage:" in jobs and "rule rates:" not in jobs and "checkpoint plan:" not in jobs
    assert not (workdir / RESULTS).exists()
