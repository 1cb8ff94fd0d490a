"""The code's shape, checked: modules a newcomer can read, one owner for each shared thing, no
competition's words in the generic code, and an architecture page that names every module."""
import re

from helpers import REPO

SRC = REPO / "src" / "fasthf"
MODULES = sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)
# Words of one competition or another (the presets'); generic code, messages, schema and captions say
# "text", "row", "group" and "label" instead.
COMPETITION_WORDS = re.compile(r"\b(phrases?|sentences?|movies?|sentiment|reviews?|tweets?|toxic|spooky|readability|"
                               r"excerpts?|PhraseId|SentenceId|sampleSubmission|train\.tsv)\b", re.IGNORECASE)
GENERIC = [*MODULES, REPO / "Snakefile", *(REPO / "workflow").rglob("*.smk"), *(REPO / "workflow" / "scripts").glob("*.py"),
           *(REPO / "workflow" / "schemas").glob("*.yaml"), *(REPO / "workflow" / "report").glob("*.rst")]


def test_no_module_is_over_350_lines():
    long = {p.relative_to(SRC).as_posix(): n for p in MODULES if (n := len(p.read_text().splitlines())) > 350}
    assert not long, long


def test_matplotlib_is_set_up_in_one_helper_only():
    places = [p.relative_to(REPO).as_posix() for p in [*MODULES, *(REPO / "workflow").rglob("*.py")]
              if "matplotlib.use(" in p.read_text()]
    assert places == ["src/fasthf/evaluation.py"]
    assert (SRC / "evaluation.py").read_text().count("matplotlib.use(") == 1


def test_the_outputs_table_has_one_owner():
    """Only fasthf.outputs spells the outputs table's columns; everything else asks it."""
    spelled = [p.relative_to(REPO).as_posix() for p in [*MODULES, *(REPO / "workflow" / "scripts").glob("*.py")]
               if re.search(r"""["']out_(\{|\d)""", p.read_text()) and p.name != "outputs.py"]
    assert not spelled, spelled


def test_no_competitions_words_in_generic_code_messages_schema_or_captions():
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in GENERIC
             for n, line in enumerate(p.read_text().splitlines(), 1) if COMPETITION_WORDS.search(line)]
    assert not found, "\n".join(found)


def test_the_word_check_would_catch_one():
    assert COMPETITION_WORDS.search("a tab inside a phrase or a cut line?")
    assert COMPETITION_WORDS.search("folds keep each SentenceId together")
    assert not COMPETITION_WORDS.search("not a readable zip archive; each text of a group")


def test_the_architecture_page_names_every_module():
    page = (REPO / "docs" / "architecture.md").read_text()
    for path in MODULES:
        name = path.relative_to(SRC).as_posix()
        if name in ("__init__.py", "__main__.py") or path.parent.name == "tasks":
            continue
        assert f"`{name}`" in page, name
    assert "`tasks/`" in page
