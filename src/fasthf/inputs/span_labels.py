"""Span labels in each form a span competition's training file gives them, read into one representation:
a `Span`, characters `[start, end)` of the row's text as it is, with a type ("" where there are none).
One sorted list of spans per row (a row may have none); per document for Feedback:

    spans_of_substrings      one span per short post      selected_text, a substring of text
    spans_of_answer_starts   chaii                        answer_start + answer_text
    spans_of_locations       NBME                         location "['70 91', '482 488;522 530']"
    spans_by_document        Feedback Prize 2021          discourse_start/end (floats) + type, per essay id
    (PII Data Detection's BIO tags over given tokens: fasthf.inputs.token_records)

Bad input is refused with a one-line `DataError` naming the file (`frame.attrs["path"]`, else `source`), the
place (`place_of`; `row N` from 1 without `attrs["line_numbers"]`), the column, and what to do. An empty range
(start == end) covers no character and gives no span.
"""
from __future__ import annotations

import ast
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import pandas as pd

from fasthf.inputs.data import DataError, place_of

log = logging.getLogger(__name__)


class Span(NamedTuple):
    """Characters `[start, end)` of the original text, of type `type` ("" where spans have no type); a tuple, so
    the metrics (fasthf.outputs.span_metrics) read it as they read `(start, end[, type])`."""
    start: int
    end: int
    type: str = ""


def where_in(frame: pd.DataFrame, row: int | None, source: str | None) -> str:
    """The file's name (`row` None) or its name and the row's place, as errors begin."""
    name = str(frame.attrs.get("path") or source or "the training file")
    place = None if row is None else place_of(frame, row) if "line_numbers" in frame.attrs else f"row {row + 1}"
    return name if place is None else f"{name}: {place}"


def rows_of(frame: pd.DataFrame, columns, source: str | None):
    """(row, values of `columns`) for each row, once the frame is found to hold them (a None column: None)."""
    missing = [c for c in columns if c and c not in frame.columns]
    if missing:
        raise DataError(f"{where_in(frame, None, source)}: has no column(s) {missing} (found {list(frame.columns)}); "
                        f"name the columns that hold the texts and spans in the competition's description")
    return enumerate(zip(*(frame[c].tolist() if c else [None] * len(frame) for c in columns)))


def is_missing(cell) -> bool:
    return cell is None or (isinstance(cell, float) and math.isnan(cell))  # a blank CSV cell reads as NaN


def cell_text(value) -> str:  # a cell as text, "" where missing (None, NaN; fasthf's readers give "" already)
    return "" if is_missing(value) else str(value)


def shortened(value, limit: int = 60) -> str:
    return shown if len(shown := repr(value)) <= limit else shown[:limit - 3] + "..."


def _whole(value) -> int | None:
    """A whole number from an int, an integral float or its text ("8", "8.0"); None for anything else."""
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


# -- 1. One span per short post: the selected text is a substring of the text -------------------------

def spans_of_substrings(frame: pd.DataFrame, text: str, selected: str,
                        type: str = "", source: str | None = None) -> list[list[Span]]:
    """The span where each row's `selected` text occurs in its `text`, found in the text as it is.

    Which occurrence: the first. That competition documents none; chaii, with the same Jaccard metric,
    documents this rule (answer_start is "the first substring occurrence of the answer"), its 1st-place code
    takes the first match too, and the metric scores only the words, which every occurrence has. An empty or
    missing selected text (train.csv has one row with NaN text and selected_text) gives no span, counted in
    the log: there is nothing to locate. A selected text that is not in its text is refused."""
    spans, empty = [], 0
    for row, (whole, part) in rows_of(frame, [text, selected], source):
        whole, part = cell_text(whole), cell_text(part)
        start, empty = whole.find(part), empty + (not part)
        if part and start < 0:
            raise DataError(f"{where_in(frame, row, source)}: column '{selected}': {shortened(part)} is not in column "
                            f"'{text}' ({shortened(whole)}); copy it from its text verbatim, spaces included, or remove "
                            f"that row")
        spans.append([Span(start, start + len(part), type)] if part else [])
    if empty:
        log.info("%s: %d row(s) with an empty '%s' have no span", where_in(frame, None, source), empty, selected)
    return spans


# -- 2. chaii: answer_start and answer_text ---------------------------------------------------------

def spans_of_answer_starts(frame: pd.DataFrame, text: str, start: str, answer: str, type: str = "",
                           source: str | None = None
                           ) -> list[list[Span]]:
    """`[answer_start, answer_start + len(answer_text))` of each row's `text`.

    Where the text there is not the answer, the span moves to the answer's occurrence nearest to answer_start
    (the earlier on a tie), and moved rows are counted in one warning. Why accept: chaii's page says answer_start
    was computed automatically, "some amount of inaccuracy is possible ... participants may consider ignoring
    this offset"; the answer text is the label (the metric scores only it), the offset a hint. Why the nearest:
    an offset off by a few characters still points beside the intended occurrence. Refused: an answer nowhere
    in its text, an answer_start that is not a whole number from 0. An empty answer gives no span."""
    spans, moved, first_moved = [], 0, None
    for row, (whole, begin, part) in rows_of(frame, [text, start, answer], source):
        whole, part = cell_text(whole), cell_text(part)
        if not part:
            spans.append([])
            continue
        at = _whole(begin)
        if at is None or at < 0:
            raise DataError(f"{where_in(frame, row, source)}: column '{start}': {shortened(begin)} is not a whole "
                            f"number from 0; give the position of the answer's first character in '{text}', or remove "
                            f"that row")
        if whole[at:at + len(part)] != part:
            found = [i for i in range(len(whole) - len(part) + 1) if whole.startswith(part, i)]
            if not found:
                raise DataError(f"{where_in(frame, row, source)}: column '{answer}': {shortened(part)} is not in "
                                f"column '{text}', neither at {start} {at} nor elsewhere; fix or remove that row")
            at = min(found, key=lambda s: (abs(s - at), s))
            moved, first_moved = moved + 1, first_moved or where_in(frame, row, source)
        spans.append([Span(at, at + len(part), type)])
    if moved:
        log.warning("%d answer(s) not at their '%s' moved to the nearest occurrence of their '%s' (the first at %s)",
                    moved, start, answer, first_moved)
    return spans


# -- 3. NBME: character offsets as list literals ----------------------------------------------------

_PIECE = re.compile(r"\s*(-?\d+)\s+(-?\d+)\s*")


def checked_range(start: int, end: int) -> tuple[int, int]:
    if start < 0 or end < 0:
        raise ValueError(f"span ({start}, {end}) has a negative index.")
    if start > end:
        raise ValueError(f"span ({start}, {end}) is reversed: its start lies after its end.")
    return start, end


def parse_locations(cell: Any) -> list[tuple[int, int]]:
    """The spans of an NBME location cell, in their written order: train.csv's list literal or the
    submission's "s e;s e" (blank or NaN: none)."""
    if is_missing(cell):
        return []
    if isinstance(cell, str) and cell.strip().startswith("["):
        try:
            cell = ast.literal_eval(cell.strip())
        except (ValueError, SyntaxError):
            raise ValueError(f"location cell {cell!r} is not a Python list literal.") from None
    if isinstance(cell, str):
        elements = [cell]
    elif isinstance(cell, (list, tuple)) and all(isinstance(e, str) for e in cell):
        elements = list(cell)
    else:
        raise ValueError(f"location cell {cell!r} holds something other than 'start end' strings.")
    spans = []
    for piece in (p for element in elements for p in element.split(";")):
        if not piece.strip():  # "0 3;" or an empty element: nothing to read, as MLE-Dojo
            continue
        match = _PIECE.fullmatch(piece)
        if match is None:
            raise ValueError(f"location piece {piece!r} is not two whole numbers 'start end'.")
        spans.append(checked_range(int(match[1]), int(match[2])))
    return spans


def spans_of_locations(frame: pd.DataFrame, text: str, location: str, type: str = "",
                       source: str | None = None) -> list[list[Span]]:
    """The spans of each row's `location` (`parse_locations`; `"[]"`: none); a discontiguous annotation's
    pieces are a span each. Refused: a location that does not parse (an empty cell too: the training file
    writes none as `[]`), a reversed range, a range ending past the end of the text."""
    spans = []
    for row, (note, cell) in rows_of(frame, [text, location], source):
        note, where = cell_text(note), f"{where_in(frame, row, source)}: column '{location}': {shortened(cell)}"
        if is_missing(cell) or (isinstance(cell, str) and not cell.strip()):
            raise DataError(f"{where} is not a list of \"start end\" character offsets: it is empty; write a row "
                            f"without spans as []")
        try:
            ranges = parse_locations(cell)
        except ValueError as error:
            raise DataError(f"{where} is not a list of \"start end\" character offsets like ['696 724'], "
                            f"['482 488;522 530'] or [] ({error}); fix that cell") from None
        for first, last in ranges:
            if last > len(note):
                raise DataError(f"{where}: the range '{first} {last}' ends past the end of column '{text}' "
                                f"({len(note)} characters); give offsets into this row's own text (check the join)")
        spans.append(sorted(Span(first, last, type) for first, last in ranges if first < last))
    return spans


# -- 4. Feedback Prize 2021: one row per typed segment, texts per document id ------------------------

def spans_by_document(frame: pd.DataFrame, texts: Mapping[str, str], id: str, start: str, end: str,
                      type: str | None, source: str | None = None) -> dict[str, list[Span]]:
    """The segment rows grouped into spans per document, `{id: sorted spans}` for the ids the rows name, in order;
    text no segment covers (a title) is unlabelled. Offsets may be floats or their text (`8.0`). Refused: an
    offset not a whole number from 0, an id without text, a reversed range or one past its text, an empty type."""
    spans: dict[str, list[Span]] = {}
    for row, (doc, first, last, kind) in rows_of(frame, [id, start, end, type], source):
        at, doc, bounds = where_in(frame, row, source), str(doc), [_whole(first), _whole(last)]
        if doc not in texts:
            raise DataError(f"{at}: column '{id}': {doc!r} has no text ({len(texts)} texts read); put its text "
                            f"(e.g. train/{doc}.txt) with the others, or remove its rows")
        for column, value, number in ((start, first, bounds[0]), (end, last, bounds[1])):
            if number is None or number < 0:
                raise DataError(f"{at}: column '{column}': {shortened(value)} is not a whole number of characters from "
                                f"0 (8 and 8.0 are); fix or remove that row")
        if bounds[0] > bounds[1]:
            raise DataError(f"{at}: columns '{start}' and '{end}': {bounds[0]} > {bounds[1]}, a reversed range; the "
                            f"segment must start before it ends: fix or remove that row")
        if bounds[1] > len(texts[doc]):
            raise DataError(f"{at}: column '{end}': {bounds[1]} is past the end of the text of {doc!r} "
                            f"({len(texts[doc])} characters); check that the right text was read for that id")
        if type and not cell_text(kind).strip():
            raise DataError(f"{at}: column '{type}' is empty; every segment needs its type: fix or remove that row")
        spans.setdefault(doc, []).extend([Span(*bounds, cell_text(kind).strip())] if bounds[0] < bounds[1] else [])
    return {doc: sorted(found) for doc, found in spans.items()}


def spans_of_segment_lists(frame: pd.DataFrame, text: str, start: str, end: str, type: str,
                           source: str | None = None) -> list[list[Span]]:
    """Each row's typed segments from cells holding lists (a join with `many: true` brings an essay's segment rows
    as the JSON lists of their starts, ends and types), checked as `spans_by_document` checks segment rows; an
    error names the segment and the row (`segment 2 of file 423A1CA112E2.txt`)."""
    texts, segments, places = {}, [], []
    for row, (whole, *cells) in rows_of(frame, [text, start, end, type], source):
        texts[str(row)] = cell_text(whole)
        lists = [json.loads(cell) if isinstance(cell, str) else list(cell) for cell in cells]
        if len({len(values) for values in lists}) != 1:
            raise DataError(f"{where_in(frame, row, source)}: columns {[start, end, type]} hold lists of different "
                            f"lengths {[len(v) for v in lists]}; each segment needs a start, an end and a type")
        for k, values in enumerate(zip(*lists)):
            segments.append({"row": str(row), start: values[0], end: values[1], type: values[2]})
            places.append(f"{k + 1} of {place_of(frame, row) if 'line_numbers' in frame.attrs else f'row {row + 1}'}")
    table = pd.DataFrame(segments, columns=["row", start, end, type])
    table.attrs.update(path=frame.attrs.get("path") or source or "the training file", line_numbers=places,
                       unit="segment")
    found = spans_by_document(table, texts, "row", start, end, type, source)
    return [found.get(str(row), []) for row in range(len(frame))]
