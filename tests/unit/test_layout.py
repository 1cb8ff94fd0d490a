"""The code's shape, checked: modules a newcomer can read, in folders by layer, importing one way; one owner
for each shared thing, no competition's words in the generic code, and an architecture page that names every
module."""
import ast
import re
from pathlib import Path

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
    assert places == ["src/fasthf/training/evaluation.py"]
    assert (SRC / "training" / "evaluation.py").read_text().count("matplotlib.use(") == 1


def test_the_outputs_table_has_one_owner():
    """Only fasthf.outputs.table spells the outputs table's columns; everything else asks it."""
    spelled = [p.relative_to(REPO).as_posix() for p in [*MODULES, *(REPO / "workflow" / "scripts").glob("*.py")]
               if re.search(r"""["']out_(\{|\d)""", p.read_text()) and p.name != "table.py"]
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
        if path.name in ("__init__.py", "__main__.py") or path.parent.name == "tasks":
            continue
        assert f"`{name}`" in page, name
    assert "`tasks/`" in page



def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def fasthf_imports(path: Path, modules: set[str]) -> set[str]:
    """The fasthf modules `path` imports, at its top or inside a function (`from fasthf.x import y` counts
    fasthf.x.y where that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fasthf"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fasthf")}
    return found & modules


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts}
    modules = set(paths)
    # a package's __init__ is what `import fasthf.x` runs; importing from it is no edge to its modules
    return {name: fasthf_imports(path, modules) - {name} for name, path in paths.items()}


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_two_modules_import_each_other_directly_or_in_a_loop():
    assert cycle_in(import_graph()) is None, " -> ".join(cycle_in(import_graph()))


def test_the_loop_finder_finds_a_loop_made_inside_a_function():
    graph = import_graph()
    graph["fasthf.io"] = graph["fasthf.io"] | {"fasthf.outputs.submission"}  # submission imports io
    assert cycle_in(graph) is not None


def test_each_layer_is_a_folder_with_a_docstring_and_the_top_stays_small():
    folders = sorted(p.parent.name for p in SRC.glob("*/__init__.py"))
    assert folders == ["encoding", "inputs", "models", "outputs", "routes", "tasks", "training"]
    for folder in folders:
        assert ast.get_docstring(ast.parse((SRC / folder / "__init__.py").read_text())), folder
    top = sorted(p.stem for p in SRC.glob("*.py"))
    assert len(top) <= 8, top  # the entry points and the helpers every layer uses


def test_reading_the_workflow_imports_no_torch():
    """Snakemake reads the Snakefile at every call (a dry run, each SLURM job): what it imports stays light."""
    import subprocess
    import sys

    sources = [REPO / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]
    imports = sorted({line.strip() for path in sources for line in path.read_text().splitlines()
                      if re.match(r"\s*(from fasthf\S* import|import fasthf)", line)})
    assert imports, "no fasthf import found in the workflow's files"
    done = subprocess.run([sys.executable, "-c", "\n".join([*imports, "import sys",
                           "print(sorted(m for m in ('torch', 'transformers', 'fastai', 'sklearn') if m in sys.modules))"])],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"reading the workflow imports {done.stdout.strip()}"
