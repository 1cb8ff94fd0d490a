"""A code competition end to end: the preset's run ends with the inference package and the kernel folder;
the kernel's script, run as Kaggle runs it (a fresh process, the internet unreachable, a hidden test file of
another size and order), answers every id and agrees with the pipeline on the public rows; with `submit`, the
route goes through the stand-in kaggle CLI once, and a crash between push and submit repeats nothing."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import NO_NETWORK, fake_kaggle_env
from presets import preset_command

SLUG = "commonlitreadabilityprize"


@pytest.fixture(scope="module")
def run(preset_runs, tiny_model_folder):
    """The preset's command on its fixture (a tiny BERT as `model`), submit off, killed once and resumed
    (tests/workflow/conftest.py): it ended with the package and the kernel folder."""
    return preset_runs[SLUG][0], preset_command(SLUG, tiny_model_folder("bert"))


def copy_run(workdir, dest):
    shutil.copytree(workdir, dest, symlinks=True)
    return dest


def kaggle_input(root, workdir, layout, test: pd.DataFrame):
    """An input tree as Kaggle mounts it: the competition (its test file replaced), the package as a dataset."""
    competition = root.joinpath(*layout)
    competition.mkdir(parents=True)
    test.to_csv(competition / "test.csv", index=False)
    shutil.copy(workdir / "data" / SLUG / "sample_submission.csv", competition)
    shutil.copytree(workdir / "results" / SLUG / "package", root / "datasets" / "someone" / f"fasthf-{SLUG}-package")
    return root


def as_kaggle_runs_it(workdir, root, working, tmp_path):
    offline = tmp_path / "offline"
    offline.mkdir(exist_ok=True)
    (offline / "sitecustomize.py").write_text(NO_NETWORK)
    env = {**os.environ, "FASTHF_KAGGLE_INPUT": str(root), "FASTHF_KAGGLE_WORKING": str(working),
           "PYTHONPATH": str(offline), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(workdir / "results" / SLUG / "kernel" / "fasthf-submission.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def test_the_run_ends_with_the_package_and_a_kernel_folder_that_runs_offline(run):
    workdir, _ = run
    results = workdir / "results" / SLUG
    meta = yaml.safe_load((results / "kernel" / "kernel-metadata.json").read_text())
    assert meta["enable_internet"] is False and meta["competition_sources"] == [SLUG]
    assert (results / "package" / "fasthf-package.json").is_file() and list((results / "package").glob("*.whl"))
    prediction = json.loads((results / "package" / "fasthf-package.json").read_text())["prediction"]
    assert prediction["rows_per_s"] > 0 and prediction["fits_runtime_limit"] is None  # the preset gives no hidden size
    assert prediction["hidden_test"].startswith("the hidden test's size is not given")
    assert not (results / "submission_receipt.json").exists()  # submit: false stops before any upload


@pytest.mark.parametrize("layout", [("competitions", SLUG), (SLUG,)], ids=["competitions-slug", "slug"])
def test_the_kernel_answers_a_hidden_test_offline_and_agrees_on_the_public_rows(run, tmp_path, layout):
    workdir, _ = run
    public = pd.read_csv(workdir / "data" / SLUG / "test.csv", dtype=str, keep_default_na=False)
    train = pd.read_csv(workdir / "data" / SLUG / "train.csv", dtype=str, keep_default_na=False)
    hidden = pd.concat([public, train[public.columns].head(90).assign(id=lambda f: "hidden" + f.id)])
    hidden = hidden.sample(frac=1, random_state=1)  # more rows than the public test, in another order
    root = kaggle_input(tmp_path / "input", workdir, layout, hidden)
    log = as_kaggle_runs_it(workdir, root, tmp_path / "working", tmp_path)
    assert "chain 1 of 1" in log and "wrote" in log
    assert "test rows a second measured where the package was built: about" in log and "expected end" in log
    submission = pd.read_csv(tmp_path / "working" / "submission.csv")
    assert submission.id.tolist() == hidden.id.tolist() and submission.target.notna().all()
    ours = pd.read_csv(workdir / "results" / SLUG / "submission.csv")
    both = ours.merge(submission, on="id", suffixes=("", "_kernel"))
    assert len(both) == len(public)
    # other batches (more rows, longest first) than the pipeline's: equal within bf16's batch-to-batch noise
    assert np.allclose(both.target, both.target_kernel, atol=1e-2)


def test_on_the_public_test_the_kernel_writes_the_pipelines_own_submission(run, tmp_path):
    workdir, _ = run
    public = pd.read_csv(workdir / "data" / SLUG / "test.csv", dtype=str, keep_default_na=False)
    root = kaggle_input(tmp_path / "input", workdir, ("competitions", SLUG), public)
    as_kaggle_runs_it(workdir, root, tmp_path / "working", tmp_path)
    assert (tmp_path / "working" / "submission.csv").read_text() == \
        (workdir / "results" / SLUG / "submission.csv").read_text()


def test_the_readmes_apply_package_writes_the_pipelines_submission(run):
    import shlex

    from helpers import readme_commands

    workdir, _ = run
    command = shlex.split(next(c for c in readme_commands() if c.startswith("fasthf apply-package")))
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (workdir / command[-1]).read_text() == (workdir / "results" / SLUG / "submission.csv").read_text()


def test_the_route_uploads_pushes_waits_and_submits_once_and_resumes_after_a_crash(run, tmp_path):
    workdir, command = copy_run(run[0], tmp_path / "submitting"), run[1]  # the other tests' run stays as it was
    (workdir / "notebook.yaml").write_text(yaml.safe_dump({"notebook": {"username": "someone", "poll_s": 0.01},
                                                           "score_poll_s": 0.01}))
    env = {**os.environ, **fake_kaggle_env(tmp_path, "secret-token-654"), "FAKE_KAGGLE_CRASH_ON": "competitions submit"}
    submit_on = [*command[:6], "notebook.yaml", *command[6:], "submit=True"]
    crashed = subprocess.run(submit_on, cwd=workdir, env=env, capture_output=True, text=True)
    assert crashed.returncode != 0 and "403 Client Error" in crashed.stdout + crashed.stderr
    done = subprocess.run([*submit_on, "--forcerun", "upload_package", "push_kernel", "run_kernel"], cwd=workdir,
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    calls = [line.split(" ") for line in (tmp_path / "calls.txt").read_text().splitlines()]
    verbs = [" ".join(call[:2]) for call in calls]
    assert verbs.count("datasets create") == 1 and verbs.count("datasets version") == 0
    assert verbs.count("kernels push") == 1  # forced to run again, the rules found it all in the ledger
    assert verbs.count("competitions submit") == 2  # the one that crashed, and the one that went through
    assert calls[verbs.index("kernels push")][3].endswith(f"results/{SLUG}/kernel")
    receipt = yaml.safe_load((workdir / "results" / SLUG / "submission_receipt.json").read_text())
    assert receipt["kernel"] == f"someone/fasthf-{SLUG}-submission" and receipt["version"] == 1
    assert receipt["public_score"] == 0.61234
    summary = pd.read_csv(workdir / "results" / SLUG / "summary.csv").set_index("what").value
    assert summary["public score"] == "0.61234"
