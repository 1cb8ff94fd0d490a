"""Reading a competition's files: every text verbatim, every line checked, errors naming file and line.

Which columns a file must hold comes from the competition's description (fasthf.inputs.competition).
Kaggle's `.tsv` files never quote (`read_table`); `.csv` files are RFC 4180 CSV, with quoted fields
that may hold commas and line breaks (`read_csv_table`, also for a quoted TSV with sep="\t"). JSON, JSON
Lines and Parquet files are read by fasthf.inputs.readers, which picks the reader by the file's suffix.
Every frame read carries `attrs`: `header` (the file's columns), `line_numbers` (where each row is) and
`unit` ("line", "record" or "row": what those numbers count); `place_of` names a row's place.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd


class DataError(ValueError):
    """A competition file that does not hold what the pipeline needs; the message names file, row, column."""


def read_table(path: str | Path, columns: list[str], sep: str = "\t", optional=(), roles=None,
               keep_all: bool = False) -> pd.DataFrame:
    """Read a competition file as text, keeping every text verbatim, refusing what would be misread.

    `None`, `NA`, `null` and `nan` are real texts, and the files never quote (a stray `"` must
    not swallow the following rows), so lines are split on `sep` as they are. Accepted and normalised:
    a UTF-8 byte-order mark, Windows line endings, blank lines, columns in any order or with spaces
    around their names, extra columns (dropped; `optional` ones are kept where present). Refused, naming
    the line and what to do: text that is not UTF-8, NUL bytes, an empty file or one without rows, a line
    with more or fewer fields than the header, the header repeated inside the file, a missing column.
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
        raise DataError(f"{path}: line 1: missing column(s) {missing}{_roles(missing, roles)}; found {header}, "
                        f"expected {columns}{hint}")
    rows, line_numbers = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip(" "):
            continue  # a blank line, e.g. at the end of the file
        fields = line.split(sep)
        if len(fields) != len(header):
            bad = sum(1 for other in lines[1:] if other.strip(" ") and len(other.split(sep)) != len(header))
            raise DataError(f"{path}: line {number}: {len(fields)} field(s) where the header has {len(header)} "
                            f"({bad} such line(s)); a {separator} inside a text or a cut line? Fix or remove "
                            f"that line, or download the file again")
        if fields[0].strip() == header[0] and [f.strip() for f in fields] == header:
            raise DataError(f"{path}: line {number} repeats the header line (two files joined into one?); "
                            f"remove it")
        rows.append(fields)
        line_numbers.append(number)
    if not rows:
        raise DataError(f"{path}: has a header but no rows; download the competition files again")
    keep = header if keep_all else [*columns, *(c for c in optional if c in header and c not in columns)]
    frame = pd.DataFrame(rows, columns=header, dtype=str)[keep].copy()
    frame.attrs.update(line_numbers=line_numbers, header=header, unit="line")
    return frame


def read_csv_table(path: str | Path, columns: list[str], optional=(), keep_all: bool = False,
                   roles=None, sep: str = ",") -> pd.DataFrame:
    """Read a CSV file (quoted fields may hold commas and line breaks) as text, every value verbatim.

    The same checks as `read_table` where CSV allows them: UTF-8, no NUL, a header with the columns,
    at least one row, no repeated header; a malformed quote is refused naming pandas' reason.
    `keep_all` keeps every column in the file's order (a sample submission), else `columns` and the
    `optional` ones present. `sep="\t"`: a quoted TSV, as pandas' `to_csv(sep="\t")` writes one.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    text = _decode(path)
    if not text.strip():
        raise DataError(f"{path}: the file is empty; expected the header {sep.join(columns)!r} and rows: "
                        f"download the competition files again")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=True)
    except (pd.errors.ParserError, ValueError) as error:
        form, reason = "CSV" if sep == "," else "quoted TSV", str(error).strip().splitlines()[-1]
        raise DataError(f"{path}: cannot be read as {form} ({reason}); a quote left open or a cut line? Download "
                        f"the file again") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        name, other = ("comma", "\t") if sep == "," else ("tab", ",")
        hint = (f"; the header holds no {name} but {other!r}: the file must be {name}-separated"
                if len(frame.columns) == 1 and other in frame.columns[0] else "; the first line must be the header")
        raise DataError(f"{path}: line 1: missing column(s) {missing}{_roles(missing, roles)}; found "
                        f"{list(frame.columns)}, expected {columns}{hint}")
    if frame.empty:
        raise DataError(f"{path}: has a header but no rows; download the competition files again")
    line_numbers = _record_lines(text, sep)[1:]
    if len(line_numbers) != len(frame):  # should not happen; then rows are named by their place instead
        line_numbers = range(2, len(frame) + 2)
    named = columns or list(frame.columns)  # a sample matched by position may require no column by name
    repeated = (frame[named[0]] == named[0]) & (frame[named].eq(named).all(axis=1))
    if repeated.any():
        raise DataError(f"{path}: line {line_numbers[int(np.flatnonzero(repeated.to_numpy())[0])]} repeats the "
                        f"header line (two files joined into one?); remove it")
    header = list(frame.columns)
    if not keep_all:
        frame = frame[[*columns, *(c for c in optional if c in frame.columns and c not in columns)]]
    frame = frame.reset_index(drop=True).copy()
    frame.attrs.update(line_numbers=list(line_numbers), header=header, unit="line")
    return frame


def _record_lines(text: str, sep: str = ",") -> list[int]:
    """The line each CSV record starts on (the header's is 1): a quoted field may span lines. Blank and
    whitespace-only lines are skipped, as pandas skips them."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    starts, lines_read = [], 0
    for record in reader:
        if record and not (len(record) == 1 and not record[0].strip()):
            starts.append(lines_read + 1)
        lines_read = reader.line_num
    return starts


def _roles(missing: list[str], roles: dict | None) -> str:
    """Which config keys name the missing columns: ` (competition.text: 'body')`."""
    named = [f"competition.{roles[c]}: {c!r}" for c in missing if roles and c in roles]
    return f" ({', '.join(named)})" if named else ""


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


def line_of(frame: pd.DataFrame, row: int) -> int:
    """The file's line number of the frame's row `row` (blank lines are skipped, the header is line 1); for
    a JSON file its record number, for a Parquet file its row number, both from 1 (see `place_of`)."""
    return frame.attrs.get("line_numbers", range(2, len(frame) + 2))[row]


def place_of(frame: pd.DataFrame, row: int) -> str:
    """Where the frame's row `row` is in its file, as an error names it: `line 7`, `record 12`, `row 5`."""
    return f"{frame.attrs.get('unit', 'line')} {line_of(frame, row)}"


# -- checks of a file's columns, once read (fasthf.inputs.competition) -----------------------------------------

def integer_column(frame: pd.DataFrame, path: Path, column: str) -> pd.Series:
    """The column as whole numbers from 0 to 2^63; a cell holding anything else is refused, naming its place."""
    values = frame[column]
    numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    bad = numbers.isna() | (numbers != numbers.round()) | (numbers < 0) | (numbers >= 2**63)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: {place_of(frame, row)}: column '{column}': {values.iloc[row]!r} is not a "
                        f"whole number from 0 to 2^63 ({int(bad.sum())} such rows); fix or remove that line")
    return numbers.astype("int64")


def check_unique(frame: pd.DataFrame, path: Path, column: str) -> None:
    duplicated = frame[column].duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise DataError(f"{path}: {place_of(frame, row)}: column '{column}': {frame[column].iloc[row]} appears "
                        f"twice ({int(duplicated.sum())} duplicates); each row needs its own {column}")


def check_options(frame: pd.DataFrame, path: Path, columns) -> None:
    """Each option column of a multiple-choice row (competition.choices) holds a text: an empty cell is refused."""
    for column in columns:
        empty = frame[column].astype(str).str.strip() == ""
        if empty.any():
            row = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataError(f"{path}: {place_of(frame, row)}: column '{column}' is empty: a multiple-choice row "
                            f"missing an option ({int(empty.sum())} such rows in '{column}'); every row needs a text "
                            f"in each of the columns {list(columns)} (competition.choices)")
