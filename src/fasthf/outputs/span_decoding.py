"""Spans decoded from the outputs of a text's units: each unit's tag probabilities (`fasthf.encoding.span_tokens`:
`O`, then `B-`/`I-` per type) over the competition's unit (characters, words, its own tokens).

A unit is inside a span when its probability of not being `O` reaches the threshold (0.5 unless fitted out
of fold). Units without outputs (whitespace characters no token covered) neither end nor start a span: a
span runs from its first unit's first character to its last unit's last, across them. Consecutive inside
units form one span, typed by the type whose `B-` and `I-` probabilities sum highest; a new span starts
where that type changes, and, with `split_at_b` (typed spans over words or tokens), where a unit is more
likely a `B-` than an `I-` (two names side by side). Over characters a token's `B-` is on each of its
characters, so there runs are not split at `B-`.

Exactly one span per text (`one=True`, extractive answers): the run of consecutive units whose summed
margin (probability inside less the threshold) is largest, never empty: where no unit reaches the
threshold, the single most likely unit.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np


class DecodedSpan(NamedTuple):
    start: int
    end: int
    type: str


def _types_of(probs: np.ndarray, n_types: int) -> np.ndarray:
    """Per unit, the index of the type whose B- and I- probabilities sum highest."""
    return probs[:, 1:1 + 2 * n_types].reshape(len(probs), n_types, 2).sum(axis=2).argmax(axis=1)


def decode_spans(probs: np.ndarray, units: np.ndarray, types: Sequence[str], threshold: float = 0.5,
                 split_at_b: bool = False, one: bool = False) -> list[DecodedSpan]:
    """The spans of one text: `probs` (units, 1 + 2 * len(types)) tag probabilities, NaN rows for units without
    outputs; `units` (units, 2) their character ranges."""
    probs, units = np.asarray(probs, dtype=np.float64), np.asarray(units, dtype=np.int64)
    seen = np.flatnonzero(~np.isnan(probs).any(axis=1))
    if not len(seen):
        return []
    probs, units = probs[seen], units[seen]
    inside = 1.0 - probs[:, 0]
    kinds = _types_of(probs, len(types))
    if one:
        first, last = _best_run(inside - threshold)
        kind = _types_of(probs[first:last + 1].sum(axis=0, keepdims=True), len(types))[0]
        return [DecodedSpan(int(units[first, 0]), int(units[last, 1]), types[kind])]
    spans, first = [], None
    for k in range(len(probs) + 1):
        starts_new = k < len(probs) and inside[k] >= threshold and (
            first is None or kinds[k] != kinds[first]
            or (split_at_b and probs[k, 1 + 2 * kinds[k]] > probs[k, 2 + 2 * kinds[k]]))
        ends = first is not None and (k == len(probs) or inside[k] < threshold or starts_new)
        if ends:
            spans.append(DecodedSpan(int(units[first, 0]), int(units[k - 1, 1]), types[kinds[first]]))
            first = None
        if starts_new or (k < len(probs) and first is None and inside[k] >= threshold):
            first = k
    return spans


def _best_run(margins: np.ndarray) -> tuple[int, int]:
    """(first, last) of the consecutive units with the largest summed margin (Kadane's); one unit at least."""
    best, best_run = -np.inf, (0, 0)
    total, start = 0.0, 0
    for k, margin in enumerate(margins):
        if total <= 0:
            total, start = 0.0, k
        total += margin
        if total > best:
            best, best_run = total, (start, k)
    return best_run
