"""Minimum span lengths per type, fitted out of fold: a decoded span shorter than its type's minimum (counted in
the task's units: words, given tokens, characters) is dropped, as the winners of segment competitions dropped
short claims and leads.

Fitted on the blend's held-out spans (decoded once, at the threshold the ensemble uses) by one pass of
coordinate ascent: each type in turn takes the minimum of `LENGTHS` that scores best with the other types at
theirs (ties: the shortest). Scored cross-fitted over the folds (each fold's spans kept by the minimums fitted on
the others) and used on test only where the gain is clear over resamples of the held-out groups, as the
threshold and the class offsets are (`fasthf.outputs.decisions`). A task with exactly one span per text has
none. Carried as the threshold is, in the outputs: `without_short_spans` sets a dropped span's units to O, so
decoding the test table (in the pipeline or an inference package) gives the spans kept.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from fasthf.outputs.decisions import clear_gain, gain_verdict
from fasthf.outputs.metrics import Metric
from fasthf.outputs.token_table import TokenOutputs, decoded
from fasthf.tasks.spans import Spans

LENGTHS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30)


def units_covered(spans: Sequence, units: np.ndarray) -> np.ndarray:
    """How many of the text's units (`units`: their character ranges, in order) each span covers."""
    starts = np.searchsorted(units[:, 1], [s.start for s in spans], side="right")  # first unit ending past start
    ends = np.searchsorted(units[:, 0], [s.end for s in spans], side="left")  # first unit starting at or past end
    return np.maximum(ends - starts, 0)


def kept(spans: Sequence, lengths: np.ndarray, minimum: dict[str, int]) -> list:
    """The spans at least their type's minimum long."""
    return [s for s, n in zip(spans, lengths) if n >= minimum.get(s.type, 1)]


def fit_minimums(task: Spans, metric: Metric, truth: np.ndarray, spans: Sequence[Sequence], lengths: Sequence[np.ndarray]
                 ) -> dict[str, int]:
    """Each type's minimum of `LENGTHS` (one pass over the types), on rows `truth` with their decoded `spans`
    and those spans' `lengths` in units."""
    minimum = {kind: 1 for kind in task.types}
    for kind in task.types:
        scores = {n: metric.score(truth, [kept(s, k, {**minimum, kind: n}) for s, k in zip(spans, lengths)])
                  for n in LENGTHS}
        best = max(scores.values()) if metric.greater_is_better else min(scores.values())
        minimum[kind] = min(n for n, score in scores.items() if score == best)
    return minimum


def lengths_decision(task: Spans, metric: Metric, truth: np.ndarray, texts: Sequence[str], units: TokenOutputs,
                     rows: np.ndarray, parts: np.ndarray, groups: np.ndarray | None = None) -> tuple[dict, float] | None:
    """The minimums fitted on every held-out row of `units` and their cross-fitted score: (the decision, that
    score); None with fewer than two parts or exactly one span per text."""
    if task.settings.one or len(np.unique(parts)) < 2:
        return None
    by_row = units.by_row()
    spans = decoded(task, texts, units, rows, by_row=by_row)
    lengths = [units_covered(found, by_row[row][0]) if row in by_row else np.zeros(0, int)
               for row, found in zip(rows, spans)]
    crossed = [None] * len(rows)
    for part in np.unique(parts):
        others, mine = np.flatnonzero(parts != part), np.flatnonzero(parts == part)
        fitted = fit_minimums(task, metric, truth[rows[others]], [spans[k] for k in others], [lengths[k] for k in others])
        for k in mine:
            crossed[k] = kept(spans[k], lengths[k], fitted)
    minimum = fit_minimums(task, metric, truth[rows], spans, lengths)
    plain, score = metric.score(truth[rows], spans), metric.score(truth[rows], crossed)
    groups = np.arange(len(rows)) if groups is None else np.asarray(groups)
    share = clear_gain(lambda r: metric.score(truth[rows[r]], [crossed[k] for k in r]),
                       lambda r: metric.score(truth[rows[r]], [spans[k] for k in r]), groups, metric)
    used, why = gain_verdict(share, len(np.unique(groups)), bool(metric.better(score, plain)))
    if used and set(minimum.values()) == {1}:
        used, why = False, "every type's minimum fitted on every held-out row is 1 unit: nothing is dropped"
    return {"rule": "minimum lengths", "fitted": minimum, "used": used, "without": plain, "with": score,
            "gain_share": share, "why": why}, score


def without_short_spans(task: Spans, texts: Sequence[str], units: TokenOutputs, minimum: dict[str, int]) -> TokenOutputs:
    """The unit table with each decoded span shorter than its type's minimum set to O (probability 1), so that
    decoding it gives the spans kept."""
    outputs = units.outputs.copy()
    order = np.argsort(units.rows, kind="stable")
    cuts = np.flatnonzero(np.diff(units.rows[order])) + 1
    for at in np.split(order, cuts) if len(order) else []:
        ranges = units.ranges[at]
        found = task.decode_text(texts[units.rows[at[0]]], outputs[at], ranges)
        for span, n in zip(found, units_covered(found, ranges)):
            if n < minimum.get(span.type, 1):
                inside = at[(ranges[:, 0] < span.end) & (ranges[:, 1] > span.start)]
                outputs[inside] = np.eye(task.n_outputs)[0]
    return TokenOutputs(units.rows, units.ranges, outputs)
