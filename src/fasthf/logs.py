"""Logging for pipeline jobs: everything a job prints goes to its terminal and to its log file."""
from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()

    def isatty(self):
        return False


def quiet_progress_bars() -> None:
    """Hugging Face's per-file and per-shard progress bars are noise in a log file.

    Through the environment, read when the libraries are imported, so that a job that never loads a
    model does not import transformers for this (a second of every job); libraries already imported
    are told directly."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "transformers.utils.logging" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@contextmanager
def job_log(path: str | Path | None, network: bool = False):
    """Copy stdout, stderr and `logging` records into `path` while the block runs; a traceback too.

    Without `network`, the Hugging Face libraries are told to stay offline: only the steps that must
    reach the internet (download, pretrained, submit: Snakemake's localrules) may, so a cluster's
    compute nodes never need it and a job never waits on the hub.
    """
    with _offline(not network):
        with _tee_to(path):
            yield


@contextmanager
def _offline(offline: bool):
    if not offline:
        yield
        return
    saved = {key: os.environ.get(key) for key in OFFLINE}
    os.environ.update(OFFLINE)
    # huggingface_hub reads HF_HUB_OFFLINE once, when imported; a script may have imported it already.
    constants = sys.modules.get("huggingface_hub.constants")
    was_offline = getattr(constants, "HF_HUB_OFFLINE", None)
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if constants is not None:
            constants.HF_HUB_OFFLINE = was_offline


@contextmanager
def _tee_to(path: str | Path | None):
    if path is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        yield
        return
    quiet_progress_bars()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1) as log_file:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(old_out, log_file), _Tee(old_err, log_file)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield
        except BaseException as error:
            logging.getLogger("fasthf").exception("job failed")
            if isinstance(error, Exception):  # the one-line message last, where Snakemake's failed-log display ends
                print(f"\nfasthf: {type(error).__name__}: {error}", file=sys.stderr)
            raise
        finally:
            root.removeHandler(handler)
            sys.stdout, sys.stderr = old_out, old_err
