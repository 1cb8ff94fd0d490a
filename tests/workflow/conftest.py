"""Whole runs of the pipeline (Snakemake in a copy of the workflow): every test here is marked `workflow`,
so `pytest -m "not workflow"` is the quick loop of unit tests."""
import os
import signal
from pathlib import Path

import pytest

from helpers import CHAIN, CHAIN_LOGS, DEMO, PATIENCE_S, copy_workflow, interruptible, snakemake, wait_for

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.workflow)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """Run the demo, interrupt it while stage 3 trains, run it again; return (workdir, rerun output, mtimes)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("demo"))
    run = interruptible(DEMO, workdir)
    wait_for(workdir / CHAIN_LOGS / "stage_3.log", run, text="fit_one_cycle(")  # model loaded, training
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C sends to the whole job
    first_output = run.communicate(timeout=PATIENCE_S)[0]
    assert run.returncode != 0, first_output[-2000:]
    assert not (workdir / CHAIN / "stages" / "3" / "metrics.json").exists()
    done_before = {i: (workdir / CHAIN / "stages" / str(i) / "metrics.json").stat().st_mtime_ns for i in (1, 2)}
    rerun = snakemake(workdir)
    return workdir, rerun, done_before


@pytest.fixture(scope="session")
def preset_runs(tmp_path_factory, tiny_model_folder):
    """Each preset on its fixture (one of them killed once and resumed: presets.KILLED); two presets at a time, a
    core each.

    The model is a tiny random BERT (`--config model=`, as a user picks another model): the chain, its
    files and forms are under test here (tests/workflow/test_presets.py; the code competitions' package and kernel
    in tests/workflow/test_code_competition.py), and MiniLM would take CI about two minutes a preset (the README
    gives each preset's time with its own model)."""
    from concurrent.futures import ThreadPoolExecutor

    from presets import SLUGS, run_preset

    model = tiny_model_folder("bert")
    workdirs = {slug: copy_workflow(tmp_path_factory.mktemp(slug)) for slug in SLUGS}
    with ThreadPoolExecutor(2) as pool:
        runs = pool.map(lambda slug: run_preset(workdirs[slug], slug, model), SLUGS)
        return dict(zip(SLUGS, runs))
