"""A competition file in any of its forms, read by its suffix into the frame `fasthf.inputs.data` reads CSV into.

    .csv (and any other suffix)   RFC 4180 CSV                                      errors name a line
    .tsv                          unquoted, split on tabs (Kaggle's never quote);   errors name a line
                                  competition.tsv_quoted: true reads it as CSV with tabs (pandas' to_csv(sep="\\t"))
    .json                         one JSON array of records (objects)              errors name a record, from 1
    .jsonl, .ndjson               JSON Lines: one record (object) per line           errors name a line
    .parquet, .pq                 Parquet, through pandas and pyarrow                errors name a row, from 1
    <name>/ (a folder)            one text per `<id>.txt` file (Feedback Prize's     errors name a file
                                  train/): two columns, the id (the file's stem) and the text, by file name

Every value becomes text (`text_of`): a string as it is; `true`/`false` as `1`/`0` (a JSON bool target,
such as random-acts-of-pizza's `requester_received_pizza`, is then a binary target of classes 0 and 1,
which a submission can answer with probabilities); a number as its JSON text (`1.50` stays `1.50`;
Parquet's numbers as Python writes them); null (and a field a record lacks, in an optional column) as
""; a list or object as its JSON text, so that `json_cells` can read it again. The frame holds str
values and `attrs` header, line_numbers and unit ("line", "record" or "row"): `fasthf.inputs.data.place_of`.

`apply_json_cells` turns cells that hold JSON (competition.json_cells) into plain text when a file is
read, so everything downstream (joined_texts, memory keys) sees text.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from fasthf.inputs.data import DataError, _decode, _roles, place_of, read_csv_table, read_table

JSON_SUFFIXES, JSON_LINES_SUFFIXES, PARQUET_SUFFIXES = (".json",), (".jsonl", ".ndjson"), (".parquet", ".pq")


def read_file(path: str | Path, columns: list[str], optional=(), keep_all: bool = False, roles=None,
              tsv_quoted: bool = False) -> pd.DataFrame:
    """The competition file at `path`, read by its suffix: `columns` required, `optional` kept where present,
    `keep_all`: every column in the file's order. `roles` names the config key of a column in errors."""
    if str(path).endswith(("/", "\\")) or Path(path).is_dir():
        return read_text_folder(Path(path), columns, roles)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".tsv" and not tsv_quoted:  # Kaggle's .tsv files never quote: split on tabs as they are
        return read_table(path, columns, optional=optional, roles=roles, keep_all=keep_all)
    if suffix in JSON_SUFFIXES + JSON_LINES_SUFFIXES + PARQUET_SUFFIXES:
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        if suffix in PARQUET_SUFFIXES:
            return read_parquet(path, columns, optional, keep_all, roles)
        reader = read_json_records if suffix in JSON_SUFFIXES else read_json_lines
        return reader(path, columns, optional, keep_all, roles)
    return read_csv_table(path, columns, optional=optional, keep_all=keep_all, roles=roles,
                          sep="\t" if suffix == ".tsv" else ",")


# -- JSON -------------------------------------------------------------------------------------------

class _Int(int):
    text: str


class _Float(float):
    text: str


def _number(kind):
    def parse(text: str):
        value = kind(text)
        value.text = text  # the number as the file writes it
        return value
    return parse


def loads(text: str):
    """JSON, its numbers keeping their own text (`text_of(1.50)` is `1.50`, not `1.5`)."""
    return json.loads(text, parse_int=_number(_Int), parse_float=_number(_Float), parse_constant=_number(_Float))


def _kind(value) -> str:
    """The JSON name of a value's type: object, array, string, number, boolean or null."""
    if value is None:
        return "null"
    for kind, name in ((dict, "object"), (list, "array"), (str, "string"), (bool, "boolean")):
        if isinstance(value, kind):
            return name
    return "number"


def read_json_records(path: Path, columns, optional=(), keep_all=False, roles=None) -> pd.DataFrame:
    """A JSON array of records; a file of one record per line (JSON Lines named .json) is read as such."""
    text = _text_of_file(path, columns)
    try:
        data = loads(text)
    except json.JSONDecodeError as error:
        first = next((line for line in text.split("\n") if line.strip()), "")
        if error.msg == "Extra data" and first.strip().startswith("{"):
            return read_json_lines(path, columns, optional, keep_all, roles, text=text)
        raise DataError(f"{path}: line {error.lineno}, column {error.colno}: not JSON ({error.msg}); the file is cut "
                        f"or is not a JSON file: download it again") from None
    if not isinstance(data, list):
        raise DataError(f"{path}: holds a JSON {_kind(data)}, not a list of records; a .json competition file must "
                        f"be an array of objects, one per row ([{{\"id\": ..., \"text\": ...}}, ...]): convert it, "
                        f"e.g. with pandas' to_json(orient='records')")
    for number, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            raise DataError(f"{path}: record {number} is a JSON {_kind(record)}, not an object of fields; a .json "
                            f"competition file must be an array of objects, one per row: fix or remove that record")
    return _frame(path, data, list(range(1, len(data) + 1)), "record", columns, optional, keep_all, roles)


def read_json_lines(path: Path, columns, optional=(), keep_all=False, roles=None, text=None) -> pd.DataFrame:
    """JSON Lines: one record per line, blank lines skipped."""
    text = _text_of_file(path, columns) if text is None else text
    records, numbers = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}: line {number}: not JSON ({error.msg}, column {error.colno}); each line of a "
                            f"JSON Lines file holds one record: fix or remove that line") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {number} holds a JSON {_kind(record)}, not an object of fields; each "
                            f"line of a JSON Lines file holds one record: fix or remove that line")
        records.append(record)
        numbers.append(number)
    return _frame(path, records, numbers, "line", columns, optional, keep_all, roles)


def _text_of_file(path: Path, columns) -> str:
    text = _decode(path)
    if not text.strip():
        raise DataError(f"{path}: the file is empty; expected records with the fields {list(columns)}: download the "
                        f"competition files again")
    return text


_ABSENT = object()


def _frame(path: Path, records: list[dict], numbers: list[int], unit: str, columns, optional, keep_all,
           roles) -> pd.DataFrame:
    """The records as a frame of text; a required field a record lacks is refused, naming the record."""
    if not records:
        raise DataError(f"{path}: holds no records; download the competition files again")
    records = [{str(k).strip(): v for k, v in r.items()} for r in records]
    header = list(dict.fromkeys(k for record in records for k in record))
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{path}: missing field(s) {missing}{_roles(missing, roles)}; its records hold {header}, "
                        f"expected {list(columns)}")
    keep = header if keep_all else [*columns, *(c for c in optional if c in header and c not in columns)]
    data = {}
    for column in keep:
        values = [record.get(column, _ABSENT) for record in records]
        if column in columns and any(v is _ABSENT for v in values):
            row = next(i for i, v in enumerate(values) if v is _ABSENT)
            raise DataError(f"{path}: {unit} {numbers[row]}: no field '{column}'{_roles([column], roles)}; every "
                            f"record needs it: fix or remove that record")
        data[column] = [text_of(None if v is _ABSENT else v) for v in values]
    frame = pd.DataFrame(data, columns=keep, index=range(len(records)), dtype=str)
    frame.attrs.update(line_numbers=numbers, header=header, unit=unit)
    return frame


# -- a folder of texts -------------------------------------------------------------------------------

def read_text_folder(path: Path, columns, roles=None) -> pd.DataFrame:
    """Each `<id>.txt` of the folder a row, in file-name order: `columns[0]` the id (the file's stem),
    `columns[1]` its text exactly as the file holds it (UTF-8; line breaks kept as they are, since span offsets
    count them). Other files are ignored; a folder without .txt files, or a third column asked of it, is refused."""
    if not path.is_dir():
        raise DataError(f"{path}: folder not found")
    if len(columns) != 2:
        raise DataError(f"{path}: a folder of texts gives two columns, the id (each file's name) and the text, not "
                        f"{list(columns)}{_roles(list(columns), roles)}; bring the others from a file by "
                        f"competition.joins")
    files = sorted(path.glob("*.txt"))
    if not files:
        raise DataError(f"{path}: holds no .txt files; a folder of texts holds one <id>.txt per text")
    frame = pd.DataFrame({columns[0]: [f.stem for f in files], columns[1]: [_decode(f) for f in files]}, dtype=str)
    frame.attrs.update(line_numbers=[f.name for f in files], header=list(columns), unit="file")
    return frame


# -- Parquet ----------------------------------------------------------------------------------------

def read_parquet(path: Path, columns, optional=(), keep_all=False, roles=None) -> pd.DataFrame:
    """A Parquet file through pandas (pyarrow), every value as text; rows are named by number from 1."""
    import pyarrow.parquet as pq

    try:
        names = [n for n in pq.read_schema(path).names if not n.startswith("__index_level_")]
        header = [n.strip() for n in names]
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing}{_roles(missing, roles)}; found {header}, "
                            f"expected {list(columns)}")
        keep = header if keep_all else [*columns, *(c for c in optional if c in header and c not in columns)]
        stored = [names[header.index(c)] for c in keep]
        table = pd.read_parquet(path, columns=stored, dtype_backend="pyarrow")
    except DataError:
        raise
    except Exception as error:  # pyarrow's ArrowInvalid, OSError: not Parquet, or cut
        raise DataError(f"{path}: cannot be read as Parquet ({str(error).strip().splitlines()[0]}); the file is cut "
                        f"or is not a Parquet file: download it again") from None
    if len(table) == 0:
        raise DataError(f"{path}: has no rows; download the competition files again")
    data = {c: [text_of(v) for v in table[s].tolist()] for c, s in zip(keep, stored)}
    frame = pd.DataFrame(data, columns=keep, index=range(len(table)), dtype=str)
    frame.attrs.update(line_numbers=list(range(1, len(table) + 1)), header=header, unit="row")
    return frame


# -- values as text ---------------------------------------------------------------------------------

def text_of(value) -> str:
    """A value of a JSON or Parquet file as the text a CSV file would hold (see the module's doc)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (_Int, _Float)):
        return value.text
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (list, tuple, dict, np.ndarray)):
        return json.dumps(_plain(value), ensure_ascii=False, default=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _plain(value):
    """Lists, objects and numpy values as json.dumps takes them."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return None if value is pd.NA or value is pd.NaT else value


# -- JSON cells -------------------------------------------------------------------------------------

def json_cell_text(value, fields=None) -> str:
    """A parsed JSON cell as text: a list as its items joined by a blank line (null items as ""), an object
    as `field: value` lines of `fields` (all its fields if None; absent, null and "" ones left out), a
    string as it is, null as "", a number or bool as its JSON text."""
    if isinstance(value, list):
        return "\n\n".join(_item_text(item) for item in value)
    if isinstance(value, dict):
        names = list(value) if fields is None else fields
        return "\n".join(f"{name}: {_item_text(value[name])}" for name in names
                         if value.get(name) is not None and value.get(name) != "")
    return _item_text(value)


def _item_text(value) -> str:
    """Inside a text a bool reads as JSON writes it; a nested list or object stays its JSON text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return text_of(value)


def json_cells_of(value) -> dict:
    """competition.json_cells as the description keeps it: column -> None (every field) or [field, ...]."""
    if not isinstance(value, dict):
        raise ValueError(f"competition.json_cells: {value!r}; give {{column: null or [field, ...]}}")
    return {str(column): None if fields is None else [fields] if isinstance(fields, str) else list(fields)
            for column, fields in value.items()}


def apply_json_cells(frame: pd.DataFrame, path, json_cells: dict | None) -> pd.DataFrame:
    """Each column of `json_cells` that the frame holds, its JSON cells made text (`json_cell_text`); an
    empty cell stays empty; a cell that is not JSON is refused naming file, line (or record) and column."""
    for column, fields in (json_cells or {}).items():
        if column not in frame.columns:
            continue
        texts = []
        for row, cell in enumerate(frame[column].tolist()):
            if not cell.strip():
                texts.append("")
                continue
            try:
                texts.append(json_cell_text(loads(cell), fields))
            except json.JSONDecodeError as error:
                shown = cell if len(cell) <= 60 else cell[:57] + "..."
                raise DataError(f"{path}: {place_of(frame, row)}: column '{column}': {shown!r} is not JSON "
                                f"({error.msg}); competition.json_cells says its cells hold JSON: fix that cell, "
                                f"or take '{column}' out of json_cells") from None
        frame[column] = pd.Series(texts, index=frame.index, dtype=str)
    return frame
