"""The code-competition route through the kaggle CLI: the inference package uploaded as a dataset
version, the kernel pushed, its run awaited, its output submitted, the public score fetched.

Each step that happens on Kaggle is written to a ledger (one JSON line per step, kept beside the results
and outside Snakemake's outputs) the moment the CLI confirms it; a rerun after a crash reads the ledger and
repeats nothing Kaggle already has: the same package content is not uploaded again, the same kernel with
the same package is not pushed again, and a kernel version is submitted once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
from pathlib import Path

from fasthf import __version__
from fasthf.io import atomic_dir, folder_digest, folder_size, write_json
from fasthf.routes.kaggle import KaggleError, read_ledger, require_credentials, run_kaggle, submit_once, write_ledger

log = logging.getLogger(__name__)

KERNEL_METADATA = "kernel-metadata.json"
DATASET_METADATA = "dataset-metadata.json"
SCRIPT = "fasthf-submission.py"
PLACEHOLDER_OWNER = "your-kaggle-username"
MISSING_OWNER = ("A code competition's package and kernel belong to a Kaggle user: set notebook.username in the "
                 "config (or KAGGLE_USERNAME), or submit: false to stop at the kernel folder.")


def slugify(text: str) -> str:
    """As Kaggle turns a title into the slug of its URL."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def owner(configured: str | None) -> str | None:
    """The Kaggle user who owns the dataset and the kernel: the config's `notebook.username`, else
    KAGGLE_USERNAME (set beside a legacy key)."""
    import os

    return configured or os.environ.get("KAGGLE_USERNAME") or None


def names(competition_slug: str, owner: str | None) -> dict[str, str]:
    """The dataset and kernel of a competition's package: ids (owner/slug) and titles within Kaggle's limits
    (a dataset's slug and title 6 to 50 characters; a kernel's title must give its slug)."""
    owner = owner or PLACEHOLDER_OWNER
    base = f"fasthf {competition_slug}"[:39].strip()  # "-submission" added, a slug stays within 50
    return {"dataset_title": f"{base} package", "dataset": f"{owner}/{slugify(base + ' package')}",
            "kernel_title": f"{base} submission", "kernel": f"{owner}/{slugify(base + ' submission')}"}


def kernel_metadata(competition_slug: str, owner: str | None, gpu: bool) -> dict:
    """kernel-metadata.json of a code-competition notebook: internet off (the CLI's default is on), the
    competition and the package's dataset as its inputs."""
    named = names(competition_slug, owner)
    return {"id": named["kernel"], "title": named["kernel_title"], "code_file": SCRIPT, "language": "python",
            "kernel_type": "script", "is_private": True, "enable_gpu": bool(gpu), "enable_tpu": False,
            "enable_internet": False, "dataset_sources": [named["dataset"]],
            "competition_sources": [competition_slug], "kernel_sources": [], "model_sources": []}


def write_kernel_folder(out_dir: str | Path, competition_slug: str, owner: str | None, gpu: bool) -> Path:
    """The folder `kaggle kernels push -p` takes: the metadata and the submission script."""
    template = (Path(__file__).parent / "kernel_script.py").read_text()
    script = template.replace("__SLUG__", competition_slug).replace("__FASTHF_VERSION__", __version__)
    with atomic_dir(out_dir) as tmp:
        (tmp / SCRIPT).write_text(script)
        write_json(tmp / KERNEL_METADATA, kernel_metadata(competition_slug, owner, gpu))
    return Path(out_dir)


def dataset_metadata(competition_slug: str, owner: str | None) -> dict:
    named = names(competition_slug, owner)
    return {"title": named["dataset_title"], "id": named["dataset"], "licenses": [{"name": "CC0-1.0"}]}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _done(ledger, step: str, **match) -> dict | None:
    return next((r for r in reversed(read_ledger(ledger))
                 if r["step"] == step and all(r.get(k) == v for k, v in match.items())), None)


def _record(ledger, record: dict) -> dict:
    record = {**record, "at": _now()}
    write_ledger(ledger, [*read_ledger(ledger), record])
    return record


def upload_package(package: str | Path, digest: str, ledger, max_bytes: int, **retry) -> dict:
    """The package as a new version of its dataset, once per content (`digest`); the dataset is created on
    its first upload. A package larger than the route takes is refused before anything is sent."""
    package = Path(package)
    size = folder_size(package)
    if size > max_bytes:
        raise KaggleError(f"{package}: the package is {size / 1e9:.2f} GB, more than the {max_bytes / 1e9:.2f} GB a "
                          f"dataset upload takes here (notebook.max_package_gb): use fewer or smaller chains")
    dataset = json.loads((package / DATASET_METADATA).read_text())["id"]
    earlier = _done(ledger, "package", dataset=dataset, digest=digest)
    if earlier:
        log.info("package %s already uploaded at %s as %s; not again", digest[:12], earlier["at"], dataset)
        return earlier
    require_credentials()
    created_before = _done(ledger, "package", dataset=dataset) is not None
    new_version = ["datasets", "version", "-p", str(package), "-m", f"fasthf package {digest[:12]}", "-r", "zip"]
    if created_before:
        output = _dataset_call(new_version, **retry)
    else:
        try:
            output = _dataset_call(["datasets", "create", "-p", str(package), "-r", "zip"], **retry)
        except KaggleError as error:  # made by an earlier clone, whose ledger this one lacks
            if "already" not in str(error).lower():
                raise
            output = _dataset_call(new_version, **retry)
    log.info("package %s uploaded to %s", digest[:12], dataset)
    return _record(ledger, {"step": "package", "dataset": dataset, "digest": digest, "bytes": size,
                            "kaggle_output": output.strip()})


def _dataset_call(args: list[str], **retry) -> str:
    """The CLI prints a refused dataset upload ("Dataset creation error: ...") and exits 0: raised here."""
    output = run_kaggle(args, **retry)
    refused = re.search(r"(?:Dataset|Dataset version) creation error: (.*)", output)
    if refused:
        raise KaggleError(f"Kaggle refused `kaggle {' '.join(args[:2])}`: {refused.group(1).strip()}")
    return output


def push_kernel(kernel_dir: str | Path, package_digest: str, ledger, **retry) -> dict:
    """`kaggle kernels push`, once per (kernel folder, package); the version from the CLI's answer."""
    kernel_dir = Path(kernel_dir)
    kernel = json.loads((kernel_dir / KERNEL_METADATA).read_text())["id"]
    key = hashlib.sha256((folder_digest(kernel_dir) + package_digest).encode()).hexdigest()
    earlier = _done(ledger, "push", kernel=kernel, key=key)
    if earlier:
        log.info("%s version %d was pushed at %s with this package; not again", kernel, earlier["version"], earlier["at"])
        return earlier
    require_credentials()
    output = run_kaggle(["kernels", "push", "-p", str(kernel_dir)], **retry)
    refused = re.search(r"Kernel push error: (.*)", output)
    if refused:
        raise KaggleError(f"Kaggle refused the push of {kernel}: {refused.group(1).strip()}")
    pushed = re.search(r"Kernel version (\d+) successfully pushed", output)
    if not pushed:
        raise KaggleError(f"`kaggle kernels push` gave no version for {kernel}: {output.strip()[-300:]}")
    log.info("pushed %s version %s", kernel, pushed.group(1))
    return _record(ledger, {"step": "push", "kernel": kernel, "key": key, "version": int(pushed.group(1)),
                            "kaggle_output": output.strip()})


def kernel_status(kernel: str, **retry) -> tuple[str, str]:
    """(status in capitals: QUEUED, RUNNING, COMPLETE, ERROR, ...; failure message or "")."""
    output = run_kaggle(["kernels", "status", kernel], **retry)
    status = re.search(r'has status "([^"]+)"', output)
    if not status:
        raise KaggleError(f"`kaggle kernels status {kernel}` said no status: {output.strip()[-300:]}")
    message = re.search(r'Failure message: "(.*)"', output)
    return status.group(1).rsplit(".", 1)[-1].upper(), message.group(1) if message else ""


def wait_for_kernel(kernel: str, version: int, ledger, timeout_s: float = 32400, poll_s: float = 60,
                    clock=time.monotonic, sleep=time.sleep, **retry) -> dict:
    """Poll the kernel's status until its run completes; its failure is raised with Kaggle's message."""
    earlier = _done(ledger, "run", kernel=kernel, version=version)
    if earlier:
        return earlier
    deadline = clock() + timeout_s
    while True:
        status, message = kernel_status(kernel, **retry)
        log.info("%s version %d: %s", kernel, version, status)
        if status == "COMPLETE":
            return _record(ledger, {"step": "run", "kernel": kernel, "version": version, "status": status})
        if status in ("ERROR", "CANCEL_REQUESTED", "CANCEL_ACKNOWLEDGED", "CANCELLED"):
            raise KaggleError(f"the kernel {kernel} version {version} ended in {status}"
                              f"{': ' + message if message else ''}; its log: kaggle kernels output {kernel}")
        if clock() >= deadline:
            raise KaggleError(f"the kernel {kernel} version {version} is still {status} after {timeout_s:.0f} s; run "
                              f"again later to go on waiting (nothing is pushed again)")
        sleep(min(poll_s, max(0.0, deadline - clock())))


def submit_kernel(competition: str, kernel: str, version: int, message: str, receipt, ledger,
                  oof_score: float | None = None, metric: str = "", score_timeout_s: float = 600,
                  poll_s: float = 30, **retry) -> dict:
    """`kaggle competitions submit -k -v -f submission.csv`, once per kernel version; then the public score."""
    return submit_once(
        ledger, {"step": "submit", "kernel": kernel, "version": version},
        {"file": "submission.csv", "metric": metric, "oof_score": oof_score},
        ["competitions", "submit", competition, "-k", kernel, "-v", str(version), "-f", "submission.csv",
         "-m", message],
        competition, "submission.csv", message, receipt, score_timeout_s, poll_s, **retry)
