"""What the rules declare to a scheduler: resources of the heavy jobs, local rules for the internet
steps, every other job offline, no secret in params."""
import re
import subprocess
import sys

import pytest
import yaml

from helpers import LIGHT_RULES, NETWORK_RULES, REPO, copy_workflow
HEAVY = {"train_stage": "train", "lr_find": "train", "predict": "infer"}


def dry_run(workdir, *extra, configfile="config/demo.yaml"):
    done = subprocess.run(["snakemake", "-n", "--forceall", "--configfile", configfile, *extra],
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
    workdir = copy_workflow(tmp_path)
    config = yaml.safe_load((workdir / "config.yaml").read_text())["resources"]
    config["train"] = {"threads": 2, "mem_mb": 7001, "runtime": 401, "gpu": 0}  # told apart from infer's
    demo = yaml.safe_load((workdir / "config" / "demo.yaml").read_text())
    (workdir / "resources.yaml").write_text(yaml.safe_dump({**demo, "resources": config}))
    blocks = job_blocks(dry_run(workdir, "--cores", "4", configfile="resources.yaml"))
    # with a time limit, the rates are measured as the stages train (the jobs after the plan wait for it)
    blocks["rates"] = job_blocks(dry_run(workdir, "--cores", "4", "--config", "time_limit=1h",
                                         configfile="resources.yaml"))["rates"]
    for rule, kind in {**HEAVY, "rates": "train"}.items():
        declared = config[kind]
        block = blocks[rule]
        assert f"threads: {declared['threads']}" in block, (rule, block)
        for key in ("mem_mb", "runtime", "gpu"):
            assert f"{key}={declared[key]}" in block, (rule, key, block)


def test_a_profile_or_the_command_line_overrides_them(tmp_path):
    blocks = job_blocks(dry_run(copy_workflow(tmp_path), "--cores", "4", "--set-resources", "train_stage:gpu=1",
                                "train_stage:mem_mb=32000", "--set-threads", "train_stage=4"))
    assert "gpu=1" in blocks["train_stage"] and "mem_mb=32000" in blocks["train_stage"]
    assert "threads: 4" in blocks["train_stage"]


def test_members_of_one_model_share_its_pretrained_copy_and_tensors(tmp_path):
    workdir = copy_workflow(tmp_path)
    config = yaml.safe_load((workdir / "config" / "demo-ensemble.yaml").read_text())  # two members, one model
    config["members"].append({"name": "other", "model": "other-org/other-model", "stages": config["members"][1]["stages"]})
    (workdir / "three-members.yaml").write_text(yaml.safe_dump(config))
    listing = dry_run(workdir, "--cores", "2", configfile="three-members.yaml")
    jobs = re.findall(r"^rule (\w+):\n    input: (.*)\n    output: (.*)\n", listing, re.M)
    built = sorted(output.split("/")[2] for rule, _, output in jobs if rule in ("pretrained", "preprocess"))
    assert built == ["minilm-gradual", "minilm-gradual", "other", "other"]  # not minilm-top's own copy
    first_stages = {output.split("/")[2]: inputs for rule, inputs, output in jobs
                    if rule == "train_stage" and "/fold0/stages/1/" in output}
    assert "minilm-gradual/pretrained" in first_stages["minilm-top"]
    assert "minilm-gradual/tensors/train.safetensors" in first_stages["minilm-top"]
    assert "other/pretrained" in first_stages["other"] and "minilm-gradual" not in first_stages["other"]


def test_local_rules_are_the_internet_steps_and_the_light_ones():
    # A dry run does not mark local rules; tests/workflow/test_slurm.py shows they never become SLURM jobs.
    declared = re.search(r"^localrules:\n((?:    \w+,?\n)+)", (REPO / "Snakefile").read_text(), re.M)
    assert set(re.findall(r"\w+", declared.group(1))) == NETWORK_RULES | LIGHT_RULES
    assert all(NOT_IMPORTED.get(rule) == HEAVY_LIBRARIES for rule in LIGHT_RULES)  # held below
    assert not LIGHT_RULES & set(HEAVY)
    scripts = {path.stem: path.read_text() for path in (REPO / "workflow" / "scripts").glob("*.py")}
    online = {name for name, text in scripts.items() if "network=True" in text}
    assert online == NETWORK_RULES | {"submit_notebook"}  # the notebook route's submit; every other job offline


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
                                                    "memory", "submission", "summary", "export", "package", "kernel",
                                                    "upload_package", "push_kernel", "run_kernel", "submit_notebook",
                                                    "plan")},
                "predict": {"fastai"}}


def imported_by(code: str, *args: str, cwd=None) -> set[str]:
    """The top-level packages a fresh Python process has imported once `code` (run with `args`) is done."""
    report = "\nimport sys\nprint(' '.join({module.split('.')[0] for module in sys.modules}))\n"
    done = subprocess.run([sys.executable, "-c", code + report, *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return set(done.stdout.splitlines()[-1].split())


@pytest.mark.parametrize("job", NOT_IMPORTED)
def test_jobs_import_no_library_they_do_not_use(job, tmp_path):
    imports_of_script = """
import ast, sys
for node in ast.walk(ast.parse(open(sys.argv[1]).read())):
    if isinstance(node, ast.ImportFrom) and node.module:
        __import__(node.module)
    elif isinstance(node, ast.Import):
        for alias in node.names:
            __import__(alias.name)
from fasthf.logs import job_log
with job_log(sys.argv[2]):  # what every job runs in
    pass
"""
    imported = imported_by(imports_of_script, f"workflow/scripts/{job}.py", str(tmp_path / "job.log"), cwd=REPO)
    imported &= NOT_IMPORTED[job]
    assert not imported, f"{job} imports {sorted(imported)}"


def test_the_pretrained_job_needs_no_fastai_and_the_bundle_is_copied_without_model_code(tiny_model_folder, tmp_path):
    """What the two jobs call, each in a fresh process as Snakemake runs it: the pretrained model is saved
    without importing fastai, the bundle is the checkpoint's files copied, importing neither torch nor
    transformers."""
    fetch = (f"import sys; from fasthf.models.architectures import fetch_pretrained; from fasthf.logs import job_log\n"
             f"with job_log({str(tmp_path / 'pretrained.log')!r}, network=True):\n"
             f"    fetch_pretrained({str(tiny_model_folder('bert'))!r}, ['no', 'yes'], {str(tmp_path / 'pretrained')!r}, 0)")
    export = (f"import sys; from fasthf.routes.bundle import export_bundle; "
              f"export_bundle({str(tmp_path / 'pretrained')!r}, {str(tmp_path / 'pretrained')!r}, {str(tmp_path / 'bundle')!r}, {{'max_length': 64}})")
    imported = {job: imported_by(code, cwd=tmp_path) for job, code in (("pretrained", fetch), ("export", export))}
    assert "fastai" not in imported["pretrained"] and "transformers" in imported["pretrained"]
    assert "it/s]" not in (tmp_path / "pretrained.log").read_text()  # no progress bars in a job's log
    assert not imported["export"] & HEAVY_LIBRARIES, imported["export"] & HEAVY_LIBRARIES
    pretrained = {p.name: p.read_bytes() for p in (tmp_path / "pretrained").iterdir()}
    bundle = {p.name: p.read_bytes() for p in (tmp_path / "bundle").iterdir()}
    assert bundle.pop("fasthf.json") and bundle == pretrained  # weights, config and tokenizer byte for byte


# The ensemble job's work for every kind of task (blend, decision rule, diagnostics, plots), in a fresh
# process: the functions it calls import only what tables need, however deep the call.
ENSEMBLE_OF_EACH_TASK = """
import sys
import numpy as np, pandas as pd
from fasthf.outputs.ensemble import Member, evaluate_ensemble
from fasthf.outputs.table import Predictions
from fasthf.tasks import Binary, Classification, MultiLabel, Regression
from fasthf.training.evaluation import plot_scores
rng = np.random.default_rng(0)
n, rows = 160, np.arange(160)
folds = pd.DataFrame({"fold": rows % 2, "group": rows // 4})
def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
for task, y, outputs in [
        (Classification(["y"], [0, 1, 2]), rng.integers(0, 3, n), lambda y: softmax(np.eye(3)[y] + rng.normal(0, 1, (n, 3)))),
        (Binary(["y"], [0, 1]), rng.integers(0, 2, n), lambda y: softmax(np.eye(2)[y] + rng.normal(0, 1, (n, 2)))),
        (MultiLabel(["a", "b"]), rng.integers(0, 2, (n, 2)).astype(float), lambda y: np.clip(y * 0.5 + rng.random((n, 2)) * 0.5, 0, 1)),
        (Regression(["v"]), rng.normal(size=(n, 1)), lambda y: y + rng.normal(0, 0.5, y.shape))]:
    members = [Member(name, "pkg:x", {1: Predictions(rows, outputs(y))}, {1: Predictions(rows, outputs(y))}, {1: 1.0})
               for name in ("a", "b")]
    result = evaluate_ensemble(members, y, folds, task, task.metric(None))
    task.plot_diagnostics(y, outputs(y), task.kind)
    plot_scores(result["table"], task.metric(None))
"""


def test_the_ensemble_job_imports_no_model_library_for_any_task():
    imported = imported_by(ENSEMBLE_OF_EACH_TASK)
    assert "matplotlib" in imported and not imported & HEAVY_LIBRARIES, imported & HEAVY_LIBRARIES
