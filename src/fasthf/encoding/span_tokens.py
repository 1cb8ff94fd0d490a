"""Spans and tokens: a text's character spans made into one tag per token for training, and the tokens'
outputs made back into outputs per character and per unit (word, given token) for decoding.

Tags. A span task of types T1..Tn tags each token `O`, `B-Ti` (the first token of a span) or `I-Ti` (the
others); without types the tags are `O`, `B`, `I`. Tag ids are their places in `tag_names(types)`; tokens
of no text (special tokens, the conditioning text of a pair, padding) get `IGNORE` (-100), which PyTorch's
cross entropy skips, as Hugging Face's token-classification examples do.

Offsets. A fast tokenizer's offsets say which characters each token read. SentencePiece (DeBERTa-v2, XLNet,
ALBERT) and byte-level BPE (RoBERTa, GPT-2) offsets may include the space before a word (`"▁f"` at `(3, 5)`
over `" f"`), and a lone `"▁"` may cover only whitespace: `token_ranges` drops leading whitespace, so a
token covers the characters of its word only, and a whitespace-only token covers none. A token is inside a
span when any character it covers is; a span's first such token is its `B-`.

Back to characters. A character's outputs are the mean over the tokens that cover it, over every window
that read it (a long text is read in overlapping windows: `fasthf.encoding.windows`); characters no token
covers (whitespace) have none (NaN). A unit's outputs (a word, or a competition's own token) are the mean
over its covered characters: the metric's unit is what a span is decoded over (`fasthf.outputs.span_decoding`).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

IGNORE = -100  # the label PyTorch's cross entropy ignores


def tag_names(types: Sequence[str]) -> list[str]:
    """`O`, then `B-T` and `I-T` per type in order (`B` and `I` for the single untyped span kind `""`)."""
    names = ["O"]
    for kind in types:
        names += [f"B-{kind}", f"I-{kind}"] if kind else ["B", "I"]
    return names


def token_ranges(text: str, offsets: Iterable[Sequence[int]], in_text: Sequence[bool] | None = None) -> np.ndarray:
    """(tokens, 2) character ranges of `text` each token covers, leading whitespace dropped; (-1, -1) for a
    token that covers none: a special token, one outside the text (`in_text` False, e.g. the pair's), one of
    whitespace only."""
    ranges = np.full((len(offsets := list(offsets)), 2), -1, dtype=np.int64)
    for k, (start, end) in enumerate(offsets):
        if (in_text is not None and not in_text[k]) or end <= start:
            continue
        while start < end and text[start].isspace():
            start += 1
        if start < end:
            ranges[k] = start, end
    return ranges


def trimmed(text: str, spans) -> list:
    """The spans with the whitespace at their ends left out (a label " Sooo SAD" is the words "Sooo SAD"), those
    of nothing but whitespace dropped: a span starts and ends on a character some token covers."""
    out = []
    for span in spans:
        start, end = span.start, span.end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            out.append(span if (start, end) == (span.start, span.end) else type(span)(start, end, span.type))
    return out


def token_tags(spans, ranges: np.ndarray, types: Sequence[str]) -> np.ndarray:
    """One tag id per token (`tag_names(types)`): `B-` for the token holding a span's first character, `I-` for
    the span's other tokens, `O` for a token of the text in no span, `IGNORE` for a token that covers no
    character. A window that starts inside a span reads it as `I-` only: its `B-` is in an earlier window.
    `spans` (`trimmed`): objects with `start`, `end`, `type` (`""` without types), not overlapping."""
    tags = np.where(ranges[:, 0] >= 0, 0, IGNORE).astype(np.int64)
    index = {kind: 1 + 2 * k for k, kind in enumerate(types)}
    for span in spans:
        inside = (ranges[:, 0] >= 0) & (ranges[:, 0] < span.end) & (ranges[:, 1] > span.start)
        tags[inside] = index[span.type] + 1
        tags[inside & (ranges[:, 0] <= span.start)] = index[span.type]
    return tags


def character_outputs(n_chars: int, windows: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """(n_chars, outputs): each character's outputs, the mean over every token of every window that covers it
    (NaN where none does). `windows`: (token ranges from `token_ranges`, their outputs (tokens, outputs))."""
    sums = counts = None
    for ranges, outputs in windows:
        outputs = np.asarray(outputs, dtype=np.float64)
        if sums is None:
            sums, counts = np.zeros((n_chars, outputs.shape[1])), np.zeros(n_chars)
        # +1 at each token's start and -1 past its end, summed along the text: the tokens covering each character
        delta, hits = np.zeros((n_chars + 1, outputs.shape[1])), np.zeros(n_chars + 1)
        covered = ranges[:, 0] >= 0
        np.add.at(delta, ranges[covered, 0], outputs[covered])
        np.add.at(delta, ranges[covered, 1], -outputs[covered])
        np.add.at(hits, ranges[covered, 0], 1)
        np.add.at(hits, ranges[covered, 1], -1)
        sums += np.cumsum(delta, axis=0)[:n_chars]
        counts += np.cumsum(hits)[:n_chars]
    if sums is None:
        raise ValueError("character_outputs needs at least one window")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], np.nan)


def word_ranges(text: str) -> np.ndarray:
    """(words, 2) character ranges of `text.split()`'s words: the unit of the word-level metrics."""
    ranges, start = [], None
    for k, char in enumerate(text):
        if char.isspace():
            if start is not None:
                ranges.append((start, k))
                start = None
        elif start is None:
            start = k
    if start is not None:
        ranges.append((start, len(text)))
    return np.asarray(ranges, dtype=np.int64).reshape(-1, 2)


def unit_outputs(chars: np.ndarray, units: np.ndarray) -> np.ndarray:
    """(units, outputs): each unit's outputs, the mean over its characters that have outputs (NaN where none)."""
    out = np.full((len(units), chars.shape[1]), np.nan)
    for k, (start, end) in enumerate(units):
        piece = chars[start:end]
        piece = piece[~np.isnan(piece).any(axis=1)]
        if len(piece):
            out[k] = piece.mean(axis=0)
    return out
