"""Span labels in each form a span competition's training file gives them, read into one representation:
a `Span`, characters `[start, end)` of the row's text as it is, with a type ("" where there are none).
One sorted list of spans per row (a row may have none); per document for Feedback:

    spans_of_substrings      one span per short post      selected_text, a substring of text
    spans_of_answer_starts   chaii                        answer_start + answer_text
    spans_of_locations       NBME                         location "['70 91', '482 488;522 530']"
    spans_by_document        Feedback Prize 2021          discourse_start/end (floats) + type, per essay id
    spans_of_bio_records     PII Data Detection           tokens + trailing_whitespace + BIO labels
      text_of_tokens, spans_of_bio, bio_of_spans          its steps, and the way back to BIO tags

Bad input is refused with a one-line `DataError` naming the file (`frame.attrs["path"]`, else `source`), the
place (`place_of`; `row N` from 1 without `attrs["line_numbers"]`), the column, and what to do. An empty range
(start == end) covers no character and gives no span.
"""
from __future__ import annotations

import ast
import itertools
import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from fasthf.inputs.data import DataError, place_of

log = logging.getLogger(__name__)


class Span(NamedTuple):
    """Characters `[start, end)` of the original text, of type `type` ("" where spans have no type); a tuple, so
    the metrics (fasthf.outputs.span_metrics) read it as they read `(start, end[, type])`."""
    start: int
    end: int
    type: str = ""


def _at(frame: pd.DataFrame, row: int | None, source: str | None) -> str:
    """The file's name (`row` None) or its name and the row's place, as errors begin."""
    name = str(frame.attrs.get("path") or source or "the training file")
    place = None if row is None else place_of(frame, row) if "line_numbers" in frame.attrs else f"row {row + 1}"
    return name if place is None else f"{name}: {place}"


def _rows(frame: pd.DataFrame, columns, source: str | None):
    """(row, values of `columns`) for each row, once the frame is found to hold them (a None column: None)."""
    missing = [c for c in columns if c and c not in frame.columns]
    if missing:
        raise DataError(f"{_at(frame, None, source)}: has no column(s) {missing} (found {list(frame.columns)}); name "
                        f"the columns that hold the texts and spans in the competition's description")
    return enumerate(zip(*(frame[c].tolist() if c else [None] * len(frame) for c in columns)))


def is_missing(cell) -> bool:
    return cell is None or (isinstance(cell, float) and math.isnan(cell))  # a blank CSV cell reads as NaN


def _text(value) -> str:  # a cell as text, "" where missing (None, NaN; fasthf's readers give "" already)
    return "" if is_missing(value) else str(value)


def _short(value, limit: int = 60) -> str:
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
    for row, (whole, part) in _rows(frame, [text, selected], source):
        whole, part = _text(whole), _text(part)
        start, empty = whole.find(part), empty + (not part)
        if part and start < 0:
            raise DataError(f"{_at(frame, row, source)}: column '{selected}': {_short(part)} is not in column '{text}' "
                            f"({_short(whole)}); copy it from its text verbatim, spaces included, or remove that row")
        spans.append([Span(start, start + len(part), type)] if part else [])
    if empty:
        log.info("%s: %d row(s) with an empty '%s' have no span", _at(frame, None, source), empty, selected)
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
    for row, (whole, begin, part) in _rows(frame, [text, start, answer], source):
        whole, part = _text(whole), _text(part)
        if not part:
            spans.append([])
            continue
        at = _whole(begin)
        if at is None or at < 0:
            raise DataError(f"{_at(frame, row, source)}: column '{start}': {_short(begin)} is not a whole number from "
                            f"0; give the position of the answer's first character in '{text}', or remove that row")
        if whole[at:at + len(part)] != part:
            found = [i for i in range(len(whole) - len(part) + 1) if whole.startswith(part, i)]
            if not found:
                raise DataError(f"{_at(frame, row, source)}: column '{answer}': {_short(part)} is not in column "
                                f"'{text}', neither at {start} {at} nor elsewhere; fix or remove that row")
            at = min(found, key=lambda s: (abs(s - at), s))
            moved, first_moved = moved + 1, first_moved or _at(frame, row, source)
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
    for row, (note, cell) in _rows(frame, [text, location], source):
        note, where = _text(note), f"{_at(frame, row, source)}: column '{location}': {_short(cell)}"
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
    for row, (doc, first, last, kind) in _rows(frame, [id, start, end, type], source):
        at, doc, bounds = _at(frame, row, source), str(doc), [_whole(first), _whole(last)]
        if doc not in texts:
            raise DataError(f"{at}: column '{id}': {doc!r} has no text ({len(texts)} texts read); put its text "
                            f"(e.g. train/{doc}.txt) with the others, or remove its rows")
        for column, value, number in ((start, first, bounds[0]), (end, last, bounds[1])):
            if number is None or number < 0:
                raise DataError(f"{at}: column '{column}': {_short(value)} is not a whole number of characters from "
                                f"0 (8 and 8.0 are); fix or remove that row")
        if bounds[0] > bounds[1]:
            raise DataError(f"{at}: columns '{start}' and '{end}': {bounds[0]} > {bounds[1]}, a reversed range; the "
                            f"segment must start before it ends: fix or remove that row")
        if bounds[1] > len(texts[doc]):
            raise DataError(f"{at}: column '{end}': {bounds[1]} is past the end of the text of {doc!r} "
                            f"({len(texts[doc])} characters); check that the right text was read for that id")
        if type and not _text(kind).strip():
            raise DataError(f"{at}: column '{type}' is empty; every segment needs its type: fix or remove that row")
        spans.setdefault(doc, []).extend([Span(*bounds, _text(kind).strip())] if bounds[0] < bounds[1] else [])
    return {doc: sorted(found) for doc, found in spans.items()}


# -- 5. PII Data Detection: BIO tags over given tokens ----------------------------------------------

PII_COLUMNS = ("tokens", "trailing_whitespace", "labels", "full_text")


def text_of_tokens(tokens: Sequence[str], trailing_whitespace: Sequence[bool], full_text: str | None = None,
                   labels: Sequence[str] | None = None, where: str = "the record",
                   columns: Sequence[str] = PII_COLUMNS) -> tuple[str, list[tuple[int, int]]]:
    """The text the tokens spell, `''.join(t + (' ' if ws else ''))`, and each token's `(start, end)` in it.
    Refused: `trailing_whitespace` (or `labels`) of another length than `tokens`, a token that is not text,
    a `full_text` other than the rebuilt text. `where` names the record, `columns` the columns, in errors."""
    named = dict(zip(PII_COLUMNS, columns))
    for column, values in ((named["trailing_whitespace"], trailing_whitespace), (named["labels"], labels)):
        if values is not None and len(values) != len(tokens):
            raise DataError(f"{where}: column '{column}' holds {len(values)} values for {len(tokens)} tokens in column "
                            f"'{named['tokens']}'; each token needs one: fix or remove that record")
    bad = next((i for i, token in enumerate(tokens) if not isinstance(token, str)), None)
    if bad is not None:
        raise DataError(f"{where}: column '{named['tokens']}': token {bad} is {_short(tokens[bad])}, not text; fix it")
    pieces = [token + (" " if space else "") for token, space in zip(tokens, trailing_whitespace)]
    starts = [0, *itertools.accumulate(map(len, pieces))]
    offsets, text = [(at, at + len(token)) for at, token in zip(starts, tokens)], "".join(pieces)
    if full_text is not None and text != full_text:
        n = next((i for i, (a, b) in enumerate(zip(text, full_text)) if a != b), min(len(text), len(full_text)))
        raise DataError(f"{where}: column '{named['full_text']}' differs at character {n} from its tokens joined with "
                        f"their trailing whitespace ({full_text[n:n + 20]!r} where the tokens give "
                        f"{text[n:n + 20]!r}); the tokens must spell the text exactly: fix or remove that record")
    return text, offsets


def spans_of_bio(labels: Sequence[str], token_offsets: Sequence[tuple[int, int]], where: str = "the record",
                 column: str = "labels") -> list[Span]:
    """The typed spans of BIO `labels` over tokens at `token_offsets`: a `B-X` and the `I-X` after it form
    one span of type X, from the first token's start to the last token's end.

    An `I-X` after `O` or another type is accepted as the start of a new span and counted in a log line naming
    `where`. Why not refuse: PII's train.json has a few, and its metric scores each token's type with B-/I-
    stripped, so such a token is a gold X token that refusing or dropping would lose; conlleval and seqeval's
    default mode also start a span there. It comes back as `B-X` from `bio_of_spans`: the round trip is the
    identity on sequences without them. Refused: a label not O, B-X or I-X; labels not one per token."""
    if len(labels) != len(token_offsets):
        raise DataError(f"{where}: column '{column}' holds {len(labels)} labels for {len(token_offsets)} tokens; "
                        f"each token needs one: fix or remove that record")
    spans, stray, current = [], 0, None  # current: [type, start, end] of the span being read
    for index, (label, (start, end)) in enumerate(zip(labels, token_offsets)):
        tag, _, kind = str(label).partition("-")
        if label == "O":
            current = None
        elif tag in ("B", "I") and kind:
            if tag == "I" and current is not None and current[0] == kind:
                current[2] = end
            else:
                stray, current = stray + (tag == "I"), [kind, start, end]
                spans.append(current)
        else:
            raise DataError(f"{where}: column '{column}': token {index}'s label {_short(label)} is not O, B-<type> "
                            f"or I-<type>; fix that record's labels")
    if stray:
        log.info("%s: %d span(s) begin with an I- tag (after O or another type), read as their start", where, stray)
    return sorted(Span(start, end, kind) for kind, start, end in spans)


def bio_of_spans(spans: Sequence[Span], token_offsets: Sequence[tuple[int, int]]) -> list[str]:
    """Each token's BIO tag: a token sharing a character with a span takes its type, `B-` on the span's first such
    token, `I-` on the rest, else `O` (a token in several spans takes the first; one without characters is O).
    The inverse of `spans_of_bio` on valid sequences."""
    tags = ["O"] * len(token_offsets)
    for span in sorted(spans):
        inside = [i for i, (start, end) in enumerate(token_offsets)
                  if tags[i] == "O" and start < span.end and end > span.start and start < end]
        for n, i in enumerate(inside):
            tags[i] = f"{'I' if n else 'B'}-{span.type}"
    return tags


def _listed(value, where: str, column: str) -> list:
    try:  # a list, a Parquet array, or the JSON text fasthf's readers keep lists as
        value = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        value = None
    value = list(value) if isinstance(value, (np.ndarray, tuple)) else value
    if not isinstance(value, list):
        raise DataError(f"{where}: column '{column}' holds {_short(value)}, not a list; give each record a list "
                        f"there, one value per token")
    return value


def spans_of_bio_records(frame: pd.DataFrame, tokens: str = "tokens",
                         trailing_whitespace: str = "trailing_whitespace", labels: str = "labels",
                         full_text: str | None = "full_text", source: str | None = None) -> list[list[Span]]:
    """The spans of each record's BIO `labels` over its `tokens`, in its text (the tokens joined with their trailing
    whitespace, checked against `full_text` where given); cells hold lists or their JSON text (`spans_of_bio`)."""
    columns, spans = (tokens, trailing_whitespace, labels, full_text), []
    for row, (*cells, text) in _rows(frame, columns, source):
        where = _at(frame, row, source)
        words, spaces, tags = (_listed(value, where, column) for value, column in zip(cells, columns))
        _, offsets = text_of_tokens(words, spaces, None if text is None else _text(text), tags, where, columns)
        spans.append(spans_of_bio(tags, offsets, where, labels))
    return spans
