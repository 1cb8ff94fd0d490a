"""The competition files: read verbatim, checked row by row, split by sentence.

The competition ships tab-separated phrases (`PhraseId`, `SentenceId`, `Phrase`, `Sentiment`).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

LABEL_NAMES = ["negative", "somewhat negative", "neutral", "somewhat positive", "positive"]
N_LABELS = len(LABEL_NAMES)

TRAIN_COLUMNS = ["PhraseId", "SentenceId", "Phrase", "Sentiment"]
TEST_COLUMNS = ["PhraseId", "SentenceId", "Phrase"]
SUBMISSION_COLUMNS = ["PhraseId", "Sentiment"]


class DataError(ValueError):
    """A competition file that does not hold what the pipeline needs; the message names file, row, column."""


def read_table(path: str | Path, columns: list[str], sep: str = "\t") -> pd.DataFrame:
    """Read a competition file as text, keeping every phrase verbatim.

    `None`, `NA`, `null` and `nan` are real phrases here: pandas' NA parsing is turned off, and
    quoting too (the files never quote, and a stray `"` must not swallow the following rows).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                        quoting=csv.QUOTE_NONE)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}, "
                        f"expected {columns}")
    frame = frame[columns].copy()
    for column in columns:
        if column != "Phrase":
            frame[column] = _integer_column(frame[column], path, column)
    _check_unique(frame, path)
    return frame


def _integer_column(values: pd.Series, path: Path, column: str) -> pd.Series:
    numbers = pd.to_numeric(values.str.strip(), errors="coerce")
    bad = numbers.isna() | (numbers != numbers.round())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: row {row + 2}: column '{column}': {values.iloc[row]!r} is not an integer "
                        f"({int(bad.sum())} such rows)")
    return numbers.astype("int64")


def _check_unique(frame: pd.DataFrame, path: Path) -> None:
    duplicated = frame.PhraseId.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise DataError(f"{path}: row {row + 2}: column 'PhraseId': {frame.PhraseId.iloc[row]} appears twice "
                        f"({int(duplicated.sum())} duplicates)")


def read_train(path: str | Path) -> pd.DataFrame:
    frame = read_table(path, TRAIN_COLUMNS)
    out_of_range = ~frame.Sentiment.between(0, N_LABELS - 1)
    if out_of_range.any():
        row = int(np.flatnonzero(out_of_range.to_numpy())[0])
        raise DataError(f"{path}: row {row + 2}: column 'Sentiment': {frame.Sentiment.iloc[row]} is outside "
                        f"0-{N_LABELS - 1} ({int(out_of_range.sum())} such rows)")
    return frame


def read_test(path: str | Path) -> pd.DataFrame:
    return read_table(path, TEST_COLUMNS)


def read_sample_submission(path: str | Path) -> pd.DataFrame:
    return read_table(path, SUBMISSION_COLUMNS, sep=",")


def split_by_sentence(frame: pd.DataFrame, valid_fraction: float, seed: int):
    """Hold out a seeded random fraction of *sentences*, so no sentence has phrases on both sides."""
    sentences = np.sort(frame.SentenceId.unique())
    n_valid = max(1, round(len(sentences) * valid_fraction))
    valid_sentences = np.random.default_rng(seed).choice(sentences, size=n_valid, replace=False)
    is_valid = frame.SentenceId.isin(valid_sentences)
    return frame[~is_valid].reset_index(drop=True), frame[is_valid].reset_index(drop=True)
