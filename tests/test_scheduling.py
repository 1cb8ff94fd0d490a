"""What the rules declare to a scheduler: resources of the heavy jobs, local rules for the internet
steps, every other job offline, no secret in params."""
import re
import subprocess

import pytest

from conftest import REPO, copy_workflow

NETWORK_RULES = {"download", "pretrained", "submit"}
HEAVY = {"train_stage": "train", "lr_find": "train", "predict": "infer"}


def dry_run(workdir, *extra):
    done = subprocess.run(["snakemake", "-n", "--forceall", "--configfile", "config/demo.yaml", *extra],
                          cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def job_blocks(output: str) -> dict[str, str]:
    """{rule name: its first job's block} from a dry run's listing ('rule X:' / 'localrule X:')."""
    blocks = {}
    for match in re.finditer(r"^rule (\w+):\n(.*?)(?=^\[|\n\n|\Z)", output, re.M | re.S):
        blocks.setdefault(match.group(1), match.group(2))
    return blocks


def test_heavy_jobs_declare_threads_memory_runtime_and_gpu_from_config(tmp_path):
    blocks = job_blocks(dry_run(copy_workflow(tmp_path), "--cores", "4"))
    for rule, kind in HEAVY.items():
        block = blocks[rule]
        assert "threads: 2" in block, block
        for key in ("mem_mb=", "runtime=", "gpu=0"):
            assert key in block, (rule, block)
    assert "mem_mb=8000" in blocks["train_stage"] and "mem_mb=4000" in blocks["predict"]


def test_a_profile_or_the_command_line_overrides_them(tmp_path):
    blocks = job_blocks(dry_run(copy_workflow(tmp_path), "--cores", "4", "--set-resources", "train_stage:gpu=1",
                                "train_stage:mem_mb=32000", "--set-threads", "train_stage=4"))
    assert "gpu=1" in blocks["train_stage"] and "mem_mb=32000" in blocks["train_stage"]
    assert "threads: 4" in blocks["train_stage"]


def test_only_the_internet_steps_are_local_rules():
    # A dry run does not mark local rules; tests/test_slurm.py shows they never become SLURM jobs.
    declared = re.search(r"^localrules:\n((?:    \w+,?\n)+)", (REPO / "Snakefile").read_text(), re.M)
    assert set(re.findall(r"\w+", declared.group(1))) == NETWORK_RULES
    scripts = {path.stem: path.read_text() for path in (REPO / "workflow" / "scripts").glob("*.py")}
    online = {name for name, text in scripts.items() if "network=True" in text}
    assert online == NETWORK_RULES  # every other job runs with the hub switched off


def test_no_secret_travels_in_params():
    rules = "\n".join(path.read_text() for path in (REPO / "workflow" / "rules").glob("*.smk"))
    assert not re.search(r"KAGGLE|TOKEN|getenv|environ", rules)


def test_jobs_without_network_switch_the_hub_off():
    import huggingface_hub.constants as hub

    from fasthf.logs import job_log

    before = hub.HF_HUB_OFFLINE
    with job_log(None):
        assert hub.is_offline_mode() and __import__("os").environ["HF_HUB_OFFLINE"] == "1"
    assert hub.HF_HUB_OFFLINE == before
    with job_log(None, network=True):
        assert hub.HF_HUB_OFFLINE == before


# Each job is a fresh Python process, and torch, transformers and fastai cost seconds of CPU to import,
# paid again by every job of every run: a job imports only what it uses. Prediction needs no fastai.
HEAVY_LIBRARIES = {"torch", "transformers", "fastai"}
NOT_IMPORTED = {**{job: HEAVY_LIBRARIES for job in ("download", "folds", "stages_table", "ensemble",
                                                    "phrase_memory", "submission", "summary")},
                "predict": {"fastai"}}


@pytest.mark.parametrize("job", NOT_IMPORTED)
def test_jobs_import_no_library_they_do_not_use(job):
    imports_of_script = """
import ast, sys
for node in ast.walk(ast.parse(open(sys.argv[1]).read())):
    if isinstance(node, ast.ImportFrom) and node.module:
        __import__(node.module)
    elif isinstance(node, ast.Import):
        for alias in node.names:
            __import__(alias.name)
print(" ".join(sorted(module.split(".")[0] for module in sys.modules)))
"""
    done = subprocess.run(["python", "-c", imports_of_script, f"workflow/scripts/{job}.py"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = set(done.stdout.split()) & NOT_IMPORTED[job]
    assert not imported, f"{job} imports {sorted(imported)}"
