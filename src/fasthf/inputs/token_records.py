"""Texts given as tokens (PII Data Detection's records): `tokens` + `trailing_whitespace` spell the text, BIO
`labels` tag each token.

    text_of_tokens         the text the tokens spell and each token's characters, checked against `full_text`
    spans_of_bio           BIO labels over tokens -> typed `Span`s of the text (an I- after O starts a span)
    bio_of_spans           the way back: each token's BIO tag from spans
    spans_of_bio_records   a frame of records -> each record's spans
    TokenizedText          a text that carries its tokens' characters: the units its spans are decoded over
                           and its answers name (token indices)

Bad input is refused with a one-line `DataError` naming the file, the record and the column.
"""
from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fasthf.inputs.data import DataError
from fasthf.inputs.span_labels import Span, cell_text, rows_of, shortened, where_in

log = logging.getLogger(__name__)

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
        raise DataError(f"{where}: column '{named['tokens']}': token {bad} is {shortened(tokens[bad])}, not text; "
                        f"fix it")
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
            raise DataError(f"{where}: column '{column}': token {index}'s label {shortened(label)} is not O, B-<type> "
                            f"or I-<type>; fix that record's labels")
    if stray:
        log.info("%s: %d span(s) begin with an I- tag (after O or another type), read as their start", where, stray)
    return sorted(Span(start, end, kind) for kind, start, end in spans)


def bio_of_spans(spans: Sequence[Span], token_offsets: Sequence[tuple[int, int]]) -> list[str]:
    """Each token's BIO tag: a token sharing a character with a span takes its type, `B-` on the span's first such
    token, `I-` on the rest, else `O` (a token in several spans takes the first; one without characters is O).
    The inverse of `spans_of_bio` on valid sequences. Tokens follow one another in the text (their offsets
    ascending), so a span's tokens are found by bisection: the metric decodes thousands of span sets."""
    tags = ["O"] * len(token_offsets)
    offsets = np.asarray(token_offsets, dtype=np.int64).reshape(-1, 2)
    starts, ends = offsets[:, 0], offsets[:, 1]
    for span in sorted(spans):
        candidates = range(np.searchsorted(ends, span.start, side="right"), np.searchsorted(starts, span.end))
        inside = [i for i in candidates if tags[i] == "O" and starts[i] < ends[i]]
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
        raise DataError(f"{where}: column '{column}' holds {shortened(value)}, not a list; give each record a list "
                        f"there, one value per token")
    return value


def spans_of_bio_records(frame: pd.DataFrame, tokens: str = "tokens",
                         trailing_whitespace: str = "trailing_whitespace", labels: str = "labels",
                         full_text: str | None = "full_text", source: str | None = None) -> list[list[Span]]:
    """The spans of each record's BIO `labels` over its `tokens`, in its text (the tokens joined with their trailing
    whitespace, checked against `full_text` where given); cells hold lists or their JSON text (`spans_of_bio`)."""
    columns, spans = (tokens, trailing_whitespace, labels, full_text), []
    for row, (*cells, text) in rows_of(frame, columns, source):
        where = where_in(frame, row, source)
        words, spaces, tags = (_listed(value, where, column) for value, column in zip(cells, columns))
        _, offsets = text_of_tokens(words, spaces, None if text is None else cell_text(text), tags, where, columns)
        spans.append(spans_of_bio(tags, offsets, where, labels))
    return spans


class TokenizedText(str):
    """A text that carries the character ranges of its given tokens (`units`, (tokens, 2)): a str everywhere a
    text goes (slicing gives plain text), and for a span task over given tokens the units its spans are decoded
    over and the token indices its answers name."""
    units: np.ndarray

    def __new__(cls, text: str, units) -> "TokenizedText":
        made = super().__new__(cls, text)
        made.units = np.asarray(units, dtype=np.int64).reshape(-1, 2)
        return made

    def __reduce__(self):
        return TokenizedText, (str(self), self.units)


def tokenized_texts(frame: pd.DataFrame, tokens: str = "tokens", trailing_whitespace: str = "trailing_whitespace",
                    full_text: str | None = "full_text", source: str | None = None) -> list[TokenizedText]:
    """Each record's text with its tokens' characters (`text_of_tokens`: the tokens must spell `full_text`)."""
    columns, texts = (tokens, trailing_whitespace, "labels", full_text), []
    for row, (words, spaces, text) in rows_of(frame, [tokens, trailing_whitespace, full_text], source):
        where = where_in(frame, row, source)
        words, spaces = _listed(words, where, tokens), _listed(spaces, where, trailing_whitespace)
        built, offsets = text_of_tokens(words, spaces, None if text is None else cell_text(text), None, where, columns)
        texts.append(TokenizedText(built, offsets))
    return texts
