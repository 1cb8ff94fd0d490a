"""The Kaggle side: download and unpack the competition files, upload a submission once.

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
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

from .competition import Competition
from .data import DataError
from .io import atomic_path, write_json

log = logging.getLogger(__name__)

COMPETITION_JSON = "competition.json"

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


def safe_extract(archive: str | Path, dest_dir: str | Path) -> list[Path]:
    """Extract a zip after checking it: corrupt or truncated archives and members that would land
    outside `dest_dir` (`../x`, absolute paths) are refused before anything is written."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    if not archive.is_file():
        raise DataError(f"{archive}: archive not found; check the `archive` setting or download it with "
                        f"`kaggle competitions download`")
    root = dest_dir.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            broken = zf.testzip()
            if broken is not None:
                raise DataError(f"{archive}: member {broken!r} is corrupt (CRC mismatch)")
            for member in zf.infolist():
                target = (root / member.filename).resolve()
                if not target.is_relative_to(root) or target == root:
                    raise DataError(f"{archive}: member {member.filename!r} would be written outside the folder it "
                                    f"is unpacked into; this archive is not the competition's")
            dest_dir.mkdir(parents=True, exist_ok=True)
            zf.extractall(dest_dir)
            return [dest_dir / m.filename for m in zf.infolist() if not m.is_dir()]
    except zipfile.BadZipFile as error:
        raise DataError(f"{archive}: not a readable zip archive (truncated or corrupt?): {error}") from None


def extract_competition(archive: str | Path, dest_dir: str | Path, competition: Competition) -> dict[str, Path]:
    """Unpack the competition archive (and the zips inside it) into `dest_dir`, check the files against
    the competition's description, and write the description with its task to competition.json.

    The files may lie at the top of the archive or in one folder, other files beside them are
    ignored; two copies of one file are refused. Everything is unpacked and checked in a staging
    folder first: a refused archive leaves nothing in `dest_dir`. Returns the paths of the train, test
    and sample submission files and of competition.json.
    """
    dest_dir = Path(dest_dir)
    staging = dest_dir / ".extracting"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        found = _unpack(archive, staging, competition)
        # Read each file once so a wrong column or bad row stops the run here, not hours later.
        names = competition.files
        train = _naming_member(competition.read_train, staging, archive)(found[names["train"]])
        test = _naming_member(competition.read_test, staging, archive)(found[names["test"]])
        sample = _naming_member(competition.read_sample, staging, archive)(found[names["sample_submission"]])
        task, why = _naming_member(lambda path: competition.fit(train, sample, str(path)), staging,
                                   archive)(found[names["train"]])
        _check_agreement(competition, train, test, sample, archive)
        paths = {}
        for key, name in names.items():
            paths[key] = dest_dir / name
            os.replace(found[name], paths[key])
        paths["competition"] = dest_dir / COMPETITION_JSON
        competition.save(paths["competition"], task, why)
        log.info("%s: %s; metric %s; %s classes/targets: %s; submission: %s", competition.slug, why,
                 competition.metric_of(task).name, task.n_outputs, task.output_names[:10],
                 competition.submission_form(task))
        return paths
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_agreement(competition: Competition, train, test, sample, archive) -> None:
    """The three files must come from one download of one competition."""
    names = competition.files
    unknown = [c for c in test.attrs["header"] if c not in train.attrs["header"]]
    if unknown:
        raise DataError(f"{archive}: {names['test']} has column(s) {unknown} that {names['train']} lacks; the files "
                        f"come from different competitions, or the description names the wrong files")
    test_ids, sample_ids = set(test[competition.id]), set(sample[competition.id])
    if test_ids != sample_ids:
        raise DataError(f"{archive}: {names['test']} and {names['sample_submission']} list different "
                        f"{competition.id}s ({len(test_ids ^ sample_ids)} differ); they must come from the same "
                        f"download")


def _naming_member(reader, staging: Path, archive):
    """`reader` whose errors name the archive's member (`train.tsv (in archive.zip)`), not the staging
    folder the file was unpacked into and that is gone by the time anyone reads the message."""
    def read(path: Path):
        try:
            return reader(path)
        except DataError as error:
            member = f"{path.relative_to(staging).as_posix()} (in {archive})"
            raise DataError(str(error).replace(str(path), member)) from None
    return read


def _unpack(archive: str | Path, staging: Path, competition: Competition) -> dict[str, Path]:
    """The competition files by name, from `archive` and any zips inside it, unpacked into `staging`."""
    pending = safe_extract(archive, staging)
    while any(p.suffix == ".zip" for p in pending):
        inner = next(p for p in pending if p.suffix == ".zip")
        pending.remove(inner)
        pending += _naming_member(lambda path: safe_extract(path, path.parent), staging, archive)(inner)
        inner.unlink()
    wanted = set(competition.files.values())
    found: dict[str, Path] = {}
    for path in pending:
        if path.name in wanted:
            if path.name in found:
                raise DataError(f"{archive}: holds two copies of {path.name} ({found[path.name].relative_to(staging)} "
                                f"and {path.relative_to(staging)}); keep one")
            found[path.name] = path
    missing = [name for name in competition.files.values() if name not in found]
    if missing:
        raise DataError(f"{archive}: does not contain {missing}; found {sorted(p.name for p in pending)}: is it "
                        f"the archive of {competition.slug}? Otherwise set competition.files")
    return found


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_ledger(ledger: str | Path) -> list[dict]:
    ledger = Path(ledger)
    if not ledger.is_file():
        return []
    return [json.loads(line) for line in ledger.read_text().splitlines() if line.strip()]


def submit(competition: str, submission: str | Path, message: str, receipt: str | Path, ledger: str | Path,
           oof_score: float | None = None, metric: str = "accuracy", score_timeout_s: float = 600, poll_s: float = 30, **retry) -> dict:
    """Upload `submission` with `kaggle competitions submit`, once per file content, then wait for its
    public score (`score_timeout_s` at most; 0: do not wait).

    `ledger` (one JSON line per upload, kept outside Snakemake's outputs) remembers what was sent and
    what it scored: a rerun that finds the same file there uploads nothing, and asks for the score
    again only if it is still missing.
    """
    digest = sha256(submission)
    earlier = next((r for r in read_ledger(ledger)
                    if r["sha256"] == digest and r["competition"] == competition), None)
    if earlier is not None:
        log.info("%s (sha256 %s) was already submitted at %s; not submitting again",
                 submission, digest[:12], earlier["submitted_at"])
        record = earlier
    else:
        require_credentials()
        output = run_kaggle(["competitions", "submit", "-c", competition, "-f", str(submission), "-m", message],
                            **retry)
        record = {"competition": competition, "file": str(submission), "sha256": digest, "message": message,
                  "metric": metric, "oof_score": oof_score,
                  "submitted_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  "kaggle_output": output.strip(), "public_score": None, "score_status": "not asked"}
        write_ledger(ledger, [*read_ledger(ledger), record])
    if record.get("public_score") is None and score_timeout_s > 0 and credentials_available():
        record = {**record, **wait_for_score(competition, Path(record["file"]).name, record["message"],
                                             score_timeout_s, poll_s, **retry)}
        write_ledger(ledger, [record if r["sha256"] == digest and r["competition"] == competition else r
                              for r in read_ledger(ledger)])
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
    return pd.DataFrame([{key: r.get(key) for key in columns} for r in read_ledger(ledger)], columns=columns)
