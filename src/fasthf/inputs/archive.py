"""A competition's archive unpacked and checked: the zip (and the zips inside it) opened safely, the
files found by the names the description gives, each read once against the description, and the
description with its task written to competition.json."""
from __future__ import annotations

import logging
import os
import shutil
import zipfile
from pathlib import Path

from fasthf.inputs.competition import Competition
from fasthf.inputs.data import DataError

log = logging.getLogger(__name__)

COMPETITION_JSON = "competition.json"


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
    and sample submission files, of the other files competition.files names (those of competition.joins,
    read with train and test from wherever the archive holds them) and of competition.json.
    """
    dest_dir = Path(dest_dir)
    staging = dest_dir / ".extracting"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        found = _unpack(archive, staging, competition)
        # Read each file once so a wrong column or bad row stops the run here, not hours later.
        names = competition.files
        beside = {key: found[name] for key, name in names.items()}  # joined files, wherever the archive holds them
        train = _naming_member(lambda path: competition.read_train(path, beside), staging, archive,
                               beside.values())(found[names["train"]])
        test = _naming_member(lambda path: competition.read_test(path, beside), staging, archive,
                              beside.values())(found[names["test"]])
        sample = _naming_member(competition.read_sample, staging, archive)(found[names["sample_submission"]])
        task, why = _naming_member(lambda path: competition.fit(train, sample, str(path)), staging,
                                   archive)(found[names["train"]])
        _check_agreement(competition, train, test, sample, archive)
        paths = {}
        for key, name in names.items():
            paths[key] = dest_dir / name
            if paths[key].is_dir():  # a folder of texts from an earlier download: os.replace cannot replace it
                shutil.rmtree(paths[key])
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
    if competition.id is None and len(test) != len(sample):  # rows are matched by position
        raise DataError(f"{archive}: {names['test']} has {len(test)} rows and {names['sample_submission']} "
                        f"{len(sample)}; with competition.id null, test row i is answered in sample row i")
    test_ids, sample_ids = set(competition.ids(test)), set(competition.sample_ids(sample))
    if competition.answers_in_rows:  # the sample's rows are examples for some of the test's ids
        extra = sorted(map(str, sample_ids - test_ids))
        if extra:
            raise DataError(f"{archive}: {names['sample_submission']} names {len(extra)} {competition.id}(s) that "
                            f"{names['test']} lacks (e.g. {extra[0]!r}); they must come from the same download")
    elif test_ids != sample_ids:
        raise DataError(f"{archive}: {names['test']} and {names['sample_submission']} list different "
                        f"{competition.id}s ({len(test_ids ^ sample_ids)} differ); they must come from the same "
                        f"download")


def _naming_member(reader, staging: Path, archive, others=()):
    """`reader` whose errors name the archive's member (`train.csv (in archive.zip)`), not the staging
    folder the file was unpacked into and that is gone by the time anyone reads the message; `others`:
    more unpacked files the reader may name (a joined file)."""
    def read(path: Path):
        try:
            return reader(path)
        except DataError as error:
            message = str(error)
            for named in sorted({Path(path), *map(Path, others)}, key=lambda p: -len(str(p))):
                message = message.replace(str(named), f"{named.relative_to(staging).as_posix()} (in {archive})")
            raise DataError(message) from None
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
    folders = {p.parent for p in pending if p.suffix == ".txt" and f"{p.parent.name}/" in wanted}
    for path in [*pending, *sorted(folders)]:  # a name ending in / is a folder of texts (Feedback Prize's train/)
        name = f"{path.name}/" if path in folders else path.name
        if name in wanted:
            if name in found:
                raise DataError(f"{archive}: holds two copies of {name} ({found[name].relative_to(staging)} "
                                f"and {path.relative_to(staging)}); keep one")
            found[name] = path
    missing = [name for name in competition.files.values() if name not in found]
    if missing:
        raise DataError(f"{archive}: does not contain {missing}; found {sorted(p.name for p in pending)}: is it "
                        f"the archive of {competition.slug}? Otherwise set competition.files")
    return found
