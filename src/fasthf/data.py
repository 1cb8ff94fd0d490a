"""The competition files: read verbatim, checked row by row, split by sentence.

The competition ships tab-separated phrases (`PhraseId`, `SentenceId`, `Phrase`, `Sentiment`).
"""
from __future__ import annotations

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
    """Read a competition file as text, keeping every phrase verbatim, refusing what would be misread.

    `None`, `NA`, `null` and `nan` are real phrases here, and the files never quote (a stray `"` must
    not swallow the following rows), so lines are split on `sep` as they are. Accepted and normalised:
    a UTF-8 byte-order mark, Windows line endings, blank lines, columns in any order or with spaces
    around their names, extra columns, and integers written `2.0` or ` 3`. Refused, naming the line
    and what to do: text that is not UTF-8, NUL bytes, an empty file or one without rows, a line with
    more or fewer fields than the header, the header repeated inside the file, a missing column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    lines = _decode(path).split("\n")
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if not any(line.strip() for line in lines):
        raise DataError(f"{path}: the file is empty; expected the header {sep.join(columns)!r} and rows: "
                        f"download the competition files again")
    header = [name.strip() for name in lines[0].split(sep)]
    separator = "tab" if sep == "\t" else "comma"
    missing = [c for c in columns if c not in header]
    if missing:
        other = "," if sep == "\t" else "\t"
        hint = (f"; the header holds no {separator} but {other!r}: the file must be {separator}-separated"
                if len(header) == 1 and other in header[0] else "; the first line must be the header")
        raise DataError(f"{path}: line 1: missing column(s) {missing}; found {header}, expected {columns}{hint}")
    rows, line_numbers = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip(" "):
            continue  # a blank line, e.g. at the end of the file
        fields = line.split(sep)
        if len(fields) != len(header):
            bad = sum(1 for other in lines[1:] if other.strip(" ") and len(other.split(sep)) != len(header))
            raise DataError(f"{path}: line {number}: {len(fields)} field(s) where the header has {len(header)} "
                            f"({bad} such line(s)); a {separator} inside a phrase or a cut line? Fix or remove "
                            f"that line, or download the file again")
        if fields[0].strip() == header[0] and [f.strip() for f in fields] == header:
            raise DataError(f"{path}: line {number} repeats the header line (two files joined into one?); "
                            f"remove it")
        rows.append(fields)
        line_numbers.append(number)
    if not rows:
        raise DataError(f"{path}: has a header but no rows; download the competition files again")
    frame = pd.DataFrame(rows, columns=header, dtype=str)[columns].copy()
    frame.attrs["line_numbers"] = line_numbers
    for column in columns:
        if column != "Phrase":
            frame[column] = _integer_column(frame, path, column)
    _check_unique(frame, path)
    return frame


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path}: the file is UTF-16 text; save it as UTF-8")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark from a spreadsheet program is dropped
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: byte {raw[error.start]:#04x} is not UTF-8 text; save the file "
                        f"as UTF-8") from None
    if "\x00" in text:
        raise DataError(f"{path}: line {text[:text.index(chr(0))].count(chr(10)) + 1}: a NUL byte; the file "
                        f"is binary or corrupt: download it again")
    return text


def _line(frame: pd.DataFrame, row: int) -> int:
    """The file's line number of the frame's row `row` (blank lines are skipped, the header is line 1)."""
    return frame.attrs.get("line_numbers", range(2, len(frame) + 2))[row]


def _integer_column(frame: pd.DataFrame, path: Path, column: str) -> pd.Series:
    values = frame[column]
    numbers = pd.to_numeric(values.str.strip(), errors="coerce")
    bad = numbers.isna() | (numbers != numbers.round()) | (numbers < 0) | (numbers >= 2**63)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: line {_line(frame, row)}: column '{column}': {values.iloc[row]!r} is not a "
                        f"whole number from 0 to 2^63 ({int(bad.sum())} such rows); fix or remove that line")
    return numbers.astype("int64")


def _check_unique(frame: pd.DataFrame, path: Path) -> None:
    duplicated = frame.PhraseId.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise DataError(f"{path}: line {_line(frame, row)}: column 'PhraseId': {frame.PhraseId.iloc[row]} appears "
                        f"twice ({int(duplicated.sum())} duplicates); each phrase needs its own PhraseId")


def read_train(path: str | Path) -> pd.DataFrame:
    frame = read_table(path, TRAIN_COLUMNS)
    out_of_range = ~frame.Sentiment.between(0, N_LABELS - 1)
    if out_of_range.any():
        row = int(np.flatnonzero(out_of_range.to_numpy())[0])
        raise DataError(f"{path}: line {_line(frame, row)}: column 'Sentiment': {frame.Sentiment.iloc[row]} is "
                        f"outside 0-{N_LABELS - 1} ({int(out_of_range.sum())} such rows); labels are 0 (negative) "
                        f"to {N_LABELS - 1} (positive)")
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
