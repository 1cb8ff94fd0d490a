"""Joins across a competition's files: columns of another file brought into train and test rows.

    competition:
      files: {train: train.csv, test: test.csv, sample_submission: sample_submission.csv,
              notes: patient_notes.csv}
      joins: [{file: notes, on: pn_num, columns: [pn_history]}]
      text: [feature_text]
      text_pair: pn_history          # a joined column, named like any other

A left join, made when a train or test file is read (`Competition.read_train`, `read_test`): rows keep
their file's order, and each must find exactly one row of the other file with the same value(s) of
`on` (compared as text, verbatim; as numbers where competition.integer_columns names the column). A
key the other file lacks, or holds twice, is refused. The other file is read from the folder of the
file being read (Kaggle's folder, data/<slug>/, the code competition's input), unless the reader is
told where it lies (the archive's staging folder: `beside`).

With `many: true` a row takes every row of the other file with its key (none, one or several; Feedback
Prize's essays, a row per essay, and train.csv, a row per segment of an essay): each brought column holds
the JSON list of their values, in the other file's order (`[]` where the key has none, counted in the log).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from fasthf.inputs.data import DataError, place_of

log = logging.getLogger(__name__)


def joins_of(value) -> tuple[dict, ...]:
    """competition.joins as the description keeps it: each `{file, on: [...], columns: [...]}`."""
    joins = []
    for index, spec in enumerate(value or ()):
        if isinstance(spec, dict):  # YAML 1.1 (PyYAML, Snakemake's config) reads a bare `on:` as the key True
            spec = {("on" if key is True else key): v for key, v in spec.items()}
        if not isinstance(spec, dict) or not {"file", "on", "columns"} <= set(spec) or set(spec) - {"file", "on",
                                                                                                     "columns", "many"}:
            raise ValueError(f"competition.joins[{index}]: {spec!r}; give {{file: <key of competition.files>, "
                             f"on: <column or [columns]>, columns: [<columns to bring>], many: <true: every row>}}")
        on, columns = ([v] if isinstance(v, str) else list(v or ()) for v in (spec["on"], spec["columns"]))
        many = {"many": True} if spec.get("many") else {}
        joins.append({"file": spec["file"], "on": on, "columns": columns, **many})
    return tuple(joins)


def check_joins(joins, files: dict) -> None:
    """Each join names an extra file of competition.files, at least one key and one column, and no column
    is brought twice or is its own key."""
    brought: dict[str, int] = {}
    for index, spec in enumerate(joins):
        where = f"competition.joins[{index}]"
        if spec["file"] in ("train", "test", "sample_submission") or spec["file"] not in files:
            extra = sorted(set(files) - {"train", "test", "sample_submission"})
            raise ValueError(f"{where}.file: {spec['file']!r}; name a key of competition.files other than train, test "
                             f"and sample_submission (the file to join: {extra or 'add one, e.g. notes: notes.csv'})")
        if not spec["on"] or not spec["columns"]:
            raise ValueError(f"{where}: give the key column(s) `on` and the `columns` to bring, at least one of each")
        both = [c for c in spec["columns"] if c in spec["on"]]
        if both:
            raise ValueError(f"{where}: {both} are the key the rows are joined on; the train and test files hold "
                             f"them already, take them out of `columns`")
        for column in spec["columns"]:
            if column in brought:
                raise ValueError(f"{where}: brings '{column}', which competition.joins[{brought[column]}] brings "
                                 f"too; bring it from one file")
            brought[column] = index
    for index, spec in enumerate(joins):
        chained = [c for c in spec["on"] if c in brought]
        if chained:
            raise ValueError(f"competition.joins[{index}].on: {chained} are brought by "
                             f"competition.joins[{brought[chained[0]]}]; a join's key must be a column of the train "
                             f"and test files")


def roles_of(index: int, spec: dict) -> dict[str, str]:
    """The config key naming each column of the joined file, for its errors."""
    return {**{c: f"joins[{index}].columns" for c in spec["columns"]}, **{c: f"joins[{index}].on" for c in spec["on"]}}


def locate(path: Path, key: str, name: str, beside: dict | None) -> Path:
    """Where the file `key` (competition.files[key] == name) lies for a reading of `path`: beside it."""
    return Path(beside[key]) if beside and key in beside else path.parent / name


def join(frame: pd.DataFrame, path: Path, index: int, spec: dict, other: pd.DataFrame, other_path: Path) -> None:
    """Add `spec["columns"]` of `other` to `frame` (in place), each row taking the one row of `other` whose
    `spec["on"]` values equal its own."""
    on, where = spec["on"], f"competition.joins[{index}]"
    clash = [c for c in spec["columns"] if c in frame.attrs.get("header", frame.columns)]
    if clash:
        raise DataError(f"{path}: has the column(s) {clash} that {where} also brings from {other_path.name}; take "
                        f"them out of the join's columns, or out of one of the files")
    rows: dict[tuple, list[int]] = {}
    for position, key in enumerate(zip(*(other[c].tolist() for c in on))):
        rows.setdefault(key, []).append(position)
    if spec.get("many"):
        found = [rows.get(key, []) for key in zip(*(frame[c].tolist() for c in on))]
        for column in spec["columns"]:
            values = other[column].tolist()
            frame[column] = [json.dumps([values[k] for k in positions]) for positions in found]
        if not all(found):
            log.info("%s: %d of %d rows have no row in %s (%s): their columns %s are []", path,
                     sum(not f for f in found), len(found), other_path.name, where, spec["columns"])
        return
    take = []
    for row, key in enumerate(zip(*(frame[c].tolist() for c in on))):
        found = rows.get(key, [])
        if len(found) != 1:
            named = (f"column '{on[0]}': {key[0]!r}" if len(on) == 1 else f"columns {on}: {tuple(key)!r}")
            if not found:
                raise DataError(f"{path}: {place_of(frame, row)}: {named} is not in {other_path} ({where} joins "
                                f"{other_path.name} on {on}); each row needs one row there with its key: fix the "
                                f"row, or put the files of one download together")
            raise DataError(f"{path}: {place_of(frame, row)}: {named} is found {len(found)} times in {other_path} "
                            f"({place_of(other, found[0])} and {place_of(other, found[1])}); {where} needs each "
                            f"key once there: remove the repeated rows, or join on more columns")
        take.append(found[0])
    for column in spec["columns"]:
        frame[column] = pd.Series(other[column].to_numpy()[take], index=frame.index, dtype=other[column].dtype)
