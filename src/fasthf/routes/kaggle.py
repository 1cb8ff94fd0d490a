"""The Kaggle side, through the official `kaggle` CLI: download the competition archive, upload a
submission once and wait for its public score (the archive is unpacked by `fasthf.inputs.archive`).

Everything goes through the official `kaggle` CLI, which reads the credentials itself
(`KAGGLE_API_TOKEN`, `~/.kaggle/access_token`, or the legacy `kaggle.json`/`KAGGLE_USERNAME`+`KAGGLE_KEY`);
the token never passes through this code, its arguments or its logs.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import subprocess
import time
from pathlib import Path

from fasthf.io import atomic_path, write_json

log = logging.getLogger(__name__)

MISSING_CREDENTIALS = (
    "No Kaggle credentials found. Create a token at https://www.kaggle.com/settings/api and either\n"
    "  export KAGGLE_API_TOKEN=<your token>\n"
    "or save it to ~/.kaggle/access_token (chmod 600). To run without Kaggle, set `archive:` to a local\n"
    "competition zip and `submit: false` in the config.")

# Failures worth another try: network trouble and server-side errors, not bad credentials or arguments.
TRANSIENT = re.compile(r"time[d ]?out|connection|temporar|reset by peer|unreachable|resolve|"
                       r"\b(429|500|502|503|504)\b", re.IGNORECASE)


class KaggleError(RuntimeError):
    pass


def credentials_available(env=None, home: str | Path | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("KAGGLE_API_TOKEN") or (env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY")):
        return True
    config_dir = Path(env.get("KAGGLE_CONFIG_DIR") or Path(home or Path.home()) / ".kaggle")
    return (config_dir / "access_token").is_file() or (config_dir / "kaggle.json").is_file()


def require_credentials() -> None:
    if not credentials_available():
        raise KaggleError(MISSING_CREDENTIALS)


def run_kaggle(args: list[str], retries: int = 3, backoff_s: float = 5.0) -> str:
    """Run `kaggle ARGS`; retry transient failures with exponential backoff; return its stdout."""
    command = ["kaggle", *args]
    for attempt in range(1, retries + 1):
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        except FileNotFoundError:
            raise KaggleError("the `kaggle` command is not installed: pip install kaggle") from None
        output = (done.stdout + done.stderr).strip()
        if done.returncode == 0:
            return done.stdout
        if attempt == retries or not TRANSIENT.search(output):
            raise KaggleError(f"`{' '.join(command)}` failed (exit {done.returncode}, attempt {attempt} "
                              f"of {retries}):\n{output}")
        wait = backoff_s * 2 ** (attempt - 1)
        log.warning("`%s` failed (attempt %d of %d), retrying in %.0f s: %s",
                    " ".join(command), attempt, retries, wait, output.splitlines()[-1] if output else "")
        time.sleep(wait)
    raise AssertionError("unreachable")


def download_competition(competition: str, dest_dir: str | Path, **retry) -> Path:
    """`kaggle competitions download -c COMPETITION -p DEST_DIR`; returns the zip it wrote."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    require_credentials()
    run_kaggle(["competitions", "download", "-c", competition, "-p", str(dest_dir)], **retry)
    archive = dest_dir / f"{competition}.zip"
    if not archive.is_file():
        raise KaggleError(f"kaggle reported success but {archive} is not there")
    return archive


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_ledger(ledger: str | Path) -> list[dict]:
    ledger = Path(ledger)
    if not ledger.is_file():
        return []
    return [json.loads(line) for line in ledger.read_text().splitlines() if line.strip()]


def submit_message(template: str, model: str, metrics: dict) -> str:
    """The submission's description from the config's `submit_message` ({model}, {metric}, {score}, {<metric>})."""
    return template.format(model=model, metric=metrics["metric"], score=metrics["score"],
                           **{metrics["metric"]: metrics["score"]})


def scoring(metrics: dict, score_timeout_s: float, poll_s: float) -> dict:
    """What a submission records of the run (its out-of-fold score) and how long it waits for the public one."""
    return {"oof_score": metrics["score"], "metric": metrics["metric"], "score_timeout_s": score_timeout_s,
            "poll_s": poll_s}


def submit(competition: str, submission: str | Path, message: str, receipt: str | Path, ledger: str | Path,
           oof_score: float | None = None, metric: str = "accuracy", score_timeout_s: float = 600, poll_s: float = 30, **retry) -> dict:
    """Upload `submission` with `kaggle competitions submit`, once per file content, then wait for its
    public score (`score_timeout_s` at most; 0: do not wait)."""
    return submit_once(
        ledger, {"competition": competition, "sha256": sha256(submission)},
        {"file": str(submission), "metric": metric, "oof_score": oof_score},
        ["competitions", "submit", "-c", competition, "-f", str(submission), "-m", message],
        competition, Path(submission).name, message, receipt, score_timeout_s, poll_s, **retry)


def submit_once(ledger: str | Path, key: dict, details: dict, command: list[str], competition: str, file_name: str,
                message: str, receipt: str | Path, score_timeout_s: float, poll_s: float, **retry) -> dict:
    """`kaggle COMMAND` unless the ledger holds a submission with the fields of `key`; then its public score,
    asked again while it is missing. The receipt says whether this call uploaded.

    `ledger` (one JSON line per step done on Kaggle, kept outside Snakemake's outputs) remembers what was
    sent and what it scored: a rerun that finds the submission there sends nothing."""
    def same(record: dict) -> bool:
        return all(record.get(k) == v for k, v in key.items())

    earlier = next((r for r in read_ledger(ledger) if same(r)), None)
    if earlier is not None:
        log.info("%s was already submitted at %s; not submitting again", file_name, earlier["submitted_at"])
        record = earlier
    else:
        require_credentials()
        output = run_kaggle(command, **retry)
        record = {**key, **details, "competition": competition, "message": message,
                  "submitted_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  "kaggle_output": output.strip(), "public_score": None, "score_status": "not asked"}
        write_ledger(ledger, [*read_ledger(ledger), record])
    if record.get("public_score") is None and score_timeout_s > 0 and credentials_available():
        record = {**record, **wait_for_score(competition, file_name, message, score_timeout_s, poll_s, **retry)}
        write_ledger(ledger, [record if same(r) else r for r in read_ledger(ledger)])
    write_json(receipt, {**record, "uploaded_now": earlier is None})
    return record


def wait_for_score(competition: str, file_name: str, message: str, timeout_s: float = 600, poll_s: float = 30,
                   clock=time.monotonic, sleep=time.sleep, **retry) -> dict:
    """Poll `kaggle competitions submissions` until the submission (newest with this file name and
    message) is scored, fails, or `timeout_s` passes; transient errors are retried, never fatal here:
    the upload already happened, so a missing score is recorded, not raised."""
    deadline = clock() + timeout_s
    found, note = None, "not listed yet"
    while True:
        try:
            rows = list(csv.DictReader(io.StringIO(run_kaggle(["competitions", "submissions", "-v", competition],
                                                              **retry))))
            found = next((r for r in rows if r.get("fileName") == file_name and r.get("description") == message),
                         None)
            note = "not listed yet" if found is None else found.get("status", "")
        except KaggleError as error:
            note = f"could not list submissions: {str(error).splitlines()[-1]}"
        status = note.lower()
        if found is not None and "complete" in status and found.get("publicScore"):
            log.info("public score of %s: %s", file_name, found["publicScore"])
            return {"public_score": float(found["publicScore"]), "score_status": "complete"}
        if found is not None and "error" in status:
            log.warning("Kaggle could not score %s: %s", file_name, found)
            return {"public_score": None, "score_status": "error"}
        if clock() >= deadline:
            log.warning("no public score for %s after %.0f s (%s); rerun submit later to ask again",
                        file_name, timeout_s, note)
            return {"public_score": None, "score_status": f"no score after {timeout_s:.0f} s ({note})"}
        log.info("waiting for the public score of %s (%s)", file_name, note)
        sleep(min(poll_s, max(0.0, deadline - clock())))


def write_ledger(ledger: str | Path, records: list[dict]) -> None:
    ledger = Path(ledger)
    ledger.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(ledger) as tmp:
        Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in records))


def submissions_table(ledger: str | Path) -> "pd.DataFrame":
    """Every submission of the ledger: when, method (the message), out-of-fold score, public score."""
    import pandas as pd

    columns = ["submitted_at", "message", "metric", "oof_score", "public_score", "score_status", "file"]
    submitted = [r for r in read_ledger(ledger) if r.get("step", "submit") == "submit"]  # not the notebook route's other steps
    return pd.DataFrame([{key: r.get(key) for key in columns} for r in submitted], columns=columns)


def write_submissions_table(ledger: str | Path, path: str | Path) -> "pd.DataFrame":
    """submissions.csv: every submission of the ledger, for the report."""
    from fasthf.io import write_csv

    table = submissions_table(ledger)
    write_csv(path, table)
    return table


def takes_notebooks_only(competition: str, api=None) -> bool | None:
    """Whether the Kaggle API says `competition` takes kernel (notebook) submissions only; None where it
    cannot be asked (no token, no network): the description is then trusted. Through the kaggle package's
    Python API, since the CLI's competition listing does not print that field."""
    if api is None:
        if not credentials_available():
            return None
        try:
            from kaggle.api.kaggle_api_extended import KaggleApi

            api = KaggleApi()
            api.authenticate()
        except Exception as error:  # the library's errors vary: no network, a refused token
            log.info("could not ask Kaggle how %s takes submissions (%s); trusting the description", competition,
                     str(error).splitlines()[0][:200] if str(error) else type(error).__name__)
            return None
    try:
        response = api.competitions_list(search=competition)
        found = [c for c in (response.competitions if response else [])
                 if str(c.ref).rstrip("/").split("/")[-1] == competition]
    except Exception as error:
        log.info("could not list %s on Kaggle (%s); trusting the description", competition, type(error).__name__)
        return None
    return bool(found[0].is_kernels_submissions_only) if found else None


def check_route(competition: str, route: str, api=None) -> None:
    """A description that says `file` for a competition Kaggle runs as a code competition stops here."""
    if route == "file" and takes_notebooks_only(competition, api):
        raise KaggleError(f"Kaggle takes only notebook submissions for {competition}, but its description says "
                          f"route: file; set competition.route: notebook (README, Code competitions)")
