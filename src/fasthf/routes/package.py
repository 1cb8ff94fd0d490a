"""The inference package: the inference half of the pipeline in one folder, applied to any test file.

    package/
      fasthf-package.json   fasthf's version, the competition's description, the task, the chains, the
                            blend's weights, the decision rule, prediction settings
      models/<chain>/       each chain's last checkpoint whose test outputs the submission uses
      tokenizers/<member>/  each member's tokenizer, and its max_length in fasthf-package.json
      memory.csv            the training file's texts and their mean targets as outputs (memory on)
      fasthf-*.whl          fasthf itself, installed in the notebook with --no-deps --no-index

Safetensors, JSON and CSV only: nothing is unpickled. `apply_package` runs tokenize → each chain's
outputs → folds and seeds averaged → blend → decision rule → memory → submission, the same arithmetic as
the pipeline's `predict`, `ensemble`, `memory` and `submission` jobs, so on the public test file it
writes the pipeline's own submission.csv.
"""
from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import sys
import time
from pathlib import Path

import pandas as pd

from fasthf import __version__
from fasthf.inputs.competition import Competition
from fasthf.io import atomic_dir, read_json, write_json
from fasthf.outputs.output_forms import outputs_form
from fasthf.routes.bundle import is_model_file
from fasthf.training.time_plan import format_duration

log = logging.getLogger(__name__)

PACKAGE_JSON = "fasthf-package.json"
MEMORY_CSV = "memory.csv"


class PackageError(ValueError):
    """A package that cannot be built or applied as it is; the message says what to do."""


def chain_name(chain: dict) -> str:
    return f"{chain['member']}-seed{chain['seed']}-{chain['split']}"


def project_root() -> Path:
    """The source folder fasthf was installed from (pip install -e .), where its wheel is built."""
    root = Path(__file__).resolve().parents[3]  # src/fasthf/routes/package.py
    if not (root / "pyproject.toml").is_file():
        raise PackageError(f"fasthf at {Path(__file__).parent} is not installed from its source folder, so its wheel "
                           f"cannot be built for the package: install it with pip install -e <the repository>")
    return root


# What setuptools needs to build the wheel: the project file, the readme it names, the sources.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "src")
SKIPPED = ("__pycache__", "*.egg-info", "*.pyc")
KEPT_WHEELS = 10  # the newest states of the sources whose wheels the cache keeps


def wheel_cache() -> Path:
    """Where built wheels are kept, a folder per state of the sources: $FASTHF_WHEEL_CACHE, else fasthf/wheels in
    the user's cache folder ($XDG_CACHE_HOME or ~/.cache)."""
    if os.environ.get("FASTHF_WHEEL_CACHE"):
        return Path(os.environ["FASTHF_WHEEL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fasthf" / "wheels"


def source_digest(root: Path) -> str:
    """What the wheel is built from, as one hash: every file of `WHEEL_SOURCES` (its path and bytes)."""
    digest = hashlib.sha256()
    for name in WHEEL_SOURCES:
        path = root / name
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.is_file() and not any(fnmatch.fnmatch(part, pattern)
                                                                   for part in p.relative_to(root).parts
                                                                   for pattern in SKIPPED))
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def build_wheel(dest: Path) -> Path:
    """fasthf as a wheel in `dest`: built once per state of its sources (`wheel_cache`, so a run's package jobs
    and the next run's share it), offline, from a private copy of its source folder (setuptools writes `build/`
    inside the folder it builds, and two package jobs at once in one folder break each other)."""
    dest.mkdir(parents=True, exist_ok=True)
    root = project_root()
    cached = wheel_cache() / source_digest(root)
    if not sorted(cached.glob(f"fasthf-{__version__}-*.whl")):
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="fasthf-wheel-") as scratch, \
                tempfile.TemporaryDirectory(prefix=f".{cached.name}.", dir=cached.parent) as built:
            source = Path(scratch) / "fasthf"
            source.mkdir()
            for name in WHEEL_SOURCES:
                if (root / name).is_dir():
                    shutil.copytree(root / name, source / name, ignore=shutil.ignore_patterns(*SKIPPED))
                else:
                    shutil.copy2(root / name, source / name)
            done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                                   "--no-index", "-q", "-w", built, str(source)], capture_output=True, text=True)
            if done.returncode != 0 or not list(Path(built).glob(f"fasthf-{__version__}-*.whl")):
                raise PackageError(f"pip could not build fasthf's wheel (exit {done.returncode}): "
                                   f"{done.stderr.strip()[-500:]}")
            try:  # whole or not at all; a job beside this one may have put the same wheel there first
                os.rename(built, cached)
                Path(built).mkdir()  # for the context manager's clean-up
            except OSError:
                pass
    others = sorted((p for p in cached.parent.iterdir() if p != cached and not p.name.startswith(".")),
                    key=lambda p: p.stat().st_mtime)
    for old in others[:max(len(others) - KEPT_WHEELS + 1, 0)]:  # the least recently used states of the sources
        shutil.rmtree(old, ignore_errors=True)
    os.utime(cached)  # used now
    wheel = sorted(cached.glob(f"fasthf-{__version__}-*.whl"))[-1]
    shutil.copy2(wheel, dest / wheel.name)
    return dest / wheel.name


def build_package(out_dir: str | Path, competition: Competition, task, chains: list[dict], members: dict[str, dict],
                  weights: dict[str, float], decision: dict | None, memory: pd.DataFrame | None,
                  prediction: dict, extra_json: dict[str, dict] | None = None) -> dict:
    """Write the package folder. `chains`: member, seed, split and `model` (the last stage's checkpoint);
    `members`: per member its `tokenizer` folder and `max_length`; `memory`: the remembered table (the outputs
    form's `remembered`: index `key`, the text and pair; fasthf.outputs.output_forms) or None; `prediction`:
    batch_size and mixed_precision; `extra_json`: files written beside (dataset-metadata.json for the upload)."""
    with atomic_dir(out_dir) as tmp:
        for chain in chains:
            folder = tmp / "models" / chain_name(chain)
            folder.mkdir(parents=True)
            for path in sorted(Path(chain["model"]).iterdir()):
                if path.is_file() and is_model_file(path.name):
                    shutil.copy2(path, folder / path.name)
        for name, member in members.items():
            folder = tmp / "tokenizers" / name
            folder.mkdir(parents=True)
            for path in sorted(Path(member["tokenizer"]).iterdir()):
                if path.is_file() and not is_model_file(path.name):
                    shutil.copy2(path, folder / path.name)
        if memory is not None:
            memory.reset_index().to_csv(tmp / MEMORY_CSV, index=False)
        wheel = build_wheel(tmp)
        info = {"fasthf": __version__, "wheel": wheel.name, "competition": competition.describe(),
                "task": task.describe(), "prediction": prediction,
                "members": {name: {"max_length": int(m["max_length"]), "weight": float(weights[name]),
                                   "encode": m.get("encode", "row"), "window_stride": m.get("window_stride"),
                                   "duel_swap": m.get("duel_swap", False), "read_alone": m.get("read_alone", False)}
                            for name, m in members.items()},
                "chains": [{key: chain[key] for key in ("member", "seed", "split")} for chain in chains],
                # a decision the ensemble used: class offsets or a threshold, or a span task's minimum lengths
                "decision": decision if decision and (decision.get("used") or (decision.get("lengths") or {}).get("used"))
                else None,
                "memory": memory is not None}
        write_json(tmp / PACKAGE_JSON, info)
        for name, data in (extra_json or {}).items():
            write_json(tmp / name, data)
    return info


def measured_rate(timings: list[dict]) -> dict:
    """The package's prediction rate where it was built: test rows a second through every chain it runs (each
    chain reads every row), from the predict jobs' timings (`predict.json`)."""
    rows, seconds = timings[0]["test"]["rows"], sum(timing["test"]["seconds"] for timing in timings)
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / max(seconds, 1e-9), 2)}


def runtime_verdict(rate: dict, hidden_rows: int | None, limit_s: float) -> tuple[bool | None, str]:
    """(whether the hidden test fits the competition's runtime limit at `rate`, or None where its size is not
    given; what to tell the user). Kaggle's machine is not this one: the figure is a guide, not a promise."""
    speed = f"{rate['rows_per_s']:.1f} test rows a second measured where the package was built"
    if not hidden_rows:
        return None, (f"the hidden test's size is not given (notebook.hidden_test_rows), so whether it fits the "
                      f"runtime limit of {format_duration(limit_s)} is not known; the package predicts {speed}")
    expected = hidden_rows / rate["rows_per_s"]
    fits = expected <= limit_s
    return fits, (f"the hidden test's {hidden_rows} rows would take about {format_duration(expected)} at the {speed}: "
                  f"{'within' if fits else 'PAST'} the runtime limit of {format_duration(limit_s)}")


def clock_in(seconds: float) -> str:
    """The time of day `seconds` from now, as a kernel's log says when it expects to end."""
    return time.strftime("%H:%M:%S", time.localtime(time.time() + seconds))


# -- applying it -----------------------------------------------------------------------------------------

def read_package(folder: str | Path) -> tuple[dict, Competition, object]:
    from fasthf.tasks import task_from

    folder = Path(folder)
    if not (folder / PACKAGE_JSON).is_file():
        raise PackageError(f"{folder}: no {PACKAGE_JSON}; this is not an inference package (the package rule writes one)")
    info = read_json(folder / PACKAGE_JSON)
    return info, Competition.from_description(info["competition"]), task_from(info["task"])


def chain_outputs(folder: Path, info: dict, competition: Competition, task, test: pd.DataFrame, device=None,
                  precision: str | None = None) -> dict[tuple[str, int], list]:
    """Each chain's outputs for the test rows, by (member, seed)."""
    from transformers import AutoTokenizer

    from fasthf.encoding.duels import swap_permutation
    from fasthf.encoding.shared import alone_readings, tokenize_groups
    from fasthf.encoding.tensor_cache import encode_rows, group_column
    from fasthf.models.architectures import load_checkpoint
    from fasthf.outputs.prediction import outputs_table, predict_probs, with_lone_reading

    texts = competition.joined_texts(test)
    splits, alone = {}, {}
    for name, member in info["members"].items():
        tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizers" / name))
        if member.get("encode") == "group":  # each group's text encoded once, as in training (fasthf.encoding.shared)
            groups = group_column(test, competition, "test")
            splits[name] = tokenize_groups(texts, groups, tokenizer, member["max_length"])[0]
            if member.get("read_alone"):  # and the rows read inside it, alone too: the two readings averaged
                alone[name] = alone_readings(texts, groups, tokenizer, member["max_length"])[0]
        else:  # as preprocess read the rows: long texts in windows, a duel's rows both ways (fasthf.encoding.tensor_cache)
            swap = swap_permutation(competition, task) if member.get("duel_swap") else None
            splits[name] = encode_rows(test, competition, tokenizer, member["max_length"],
                                       window_stride=member.get("window_stride"), swap=swap)[0]
    outputs: dict[tuple[str, int], list] = {}
    for i, chain in enumerate(info["chains"], 1):
        started = time.time()
        split = splits[chain["member"]]
        model = load_checkpoint(folder / "models" / chain_name(chain), n_labels=task.n_outputs,
                                max_token_id=split.max_token_id, head=competition.head)
        probs = predict_probs(model, split, info["prediction"]["batch_size"], device,
                              precision or info["prediction"]["mixed_precision"], task.activation)
        # a row of outputs per test row (a long text's windows pooled), or a span task's per token
        predicted = outputs_table(split, probs)
        if chain["member"] in alone:
            predicted = with_lone_reading(model, predicted, alone[chain["member"]], info["prediction"]["batch_size"],
                                          device, precision or info["prediction"]["mixed_precision"], task.activation)
        outputs.setdefault((chain["member"], chain["seed"]), []).append(predicted)
        seconds = time.time() - started
        log.info("chain %d of %d (%s): %d texts in %.1f s; expected end %s", i, len(info["chains"]), chain_name(chain),
                 len(test), seconds, clock_in(seconds * (len(info["chains"]) - i)))
    return outputs


def with_memory(folder: Path, info: dict, competition: Competition, task, test: pd.DataFrame, outputs):
    """The blend's outputs with the remembered test texts taking what the training file says (memory.csv)."""
    if not info["memory"]:
        return outputs
    table = pd.read_csv(folder / MEMORY_CSV, dtype={"key": str}, keep_default_na=False).set_index("key")
    return outputs_form(task).with_memory(competition, task, test, outputs, table)[0]


def apply_package(folder: str | Path, test_path: str | Path, sample_path: str | Path, out_path: str | Path,
                  device=None, precision: str | None = None) -> pd.DataFrame:
    """The submission for the texts of `test_path`: an answer for each of its ids, in the sample's columns.

    Rows follow the sample where it lists exactly the test file's ids (the public test), else the test
    file's order (a hidden test swapped in while the sample stayed the public one)."""
    from fasthf.outputs.submission import submission_for_test, write_checked

    folder = Path(folder)
    info, competition, task = read_package(folder)
    test = competition.read_test(test_path)
    sample = competition.read_sample(sample_path)
    log.info("%s: %d test texts, %d chains", competition.slug, len(test), len(info["chains"]))
    measured = info["prediction"].get("rows_per_s")
    if measured:  # what the kernel's log promises, from the rate the package measured where it was built
        seconds = len(test) / measured
        log.info("at the %.1f test rows a second measured where the package was built: about %s, expected end %s",
                 measured, format_duration(seconds), clock_in(seconds))
    predicted = chain_outputs(folder, info, competition, task, test, device, precision)
    form = outputs_form(task)  # the pipeline's arithmetic: blend, decision rule, memory, then the answers
    outputs = with_memory(folder, info, competition, task, test, form.blended(info, task, test, predicted))
    submission = submission_for_test(competition.ids(test), form.answers(task, test, outputs), sample, competition, task)
    write_checked(out_path, submission, competition, task)
    return submission
