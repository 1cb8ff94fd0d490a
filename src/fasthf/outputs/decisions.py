"""Decisions fitted on what was held out: per-class offsets for single-label classification.

The argmax of averaged probabilities maximises expected accuracy only when the probabilities are
calibrated for the test's class balance; with five imbalanced classes and a model trained one epoch they
are not. `ClassOffsets` adds one offset per class to the log-probabilities (the first class's stays 0:
only differences move an argmax) and renormalises, so the outputs stay probabilities and everything
downstream (decoding, memory, submission) is unchanged. The offsets are fitted by coordinate ascent on
the competition's metric over out-of-fold predictions; `cross_fitted` scores them on rows they were not
fitted on, so the out-of-fold figure stays honest.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import softmax

from fasthf.outputs.metrics import Metric

OFFSET_GRID = np.round(np.arange(-1.5, 1.5001, 0.05), 2)


def log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.clip(probabilities, 1e-15, None))


@dataclass(frozen=True)
class ClassOffsets:
    offsets: np.ndarray  # one per class, added to the log-probabilities
    name = "class offsets"

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        return softmax(log_probabilities(probabilities) + self.offsets, axis=1)

    @classmethod
    def fit(cls, probabilities: np.ndarray, y: np.ndarray, metric: Metric, passes: int = 3) -> "ClassOffsets":
        """Coordinate ascent on `metric` over a grid of offsets, class by class, a few passes."""
        log_p = log_probabilities(probabilities)
        offsets = np.zeros(probabilities.shape[1])
        best = metric.score(y, log_p)  # argmax-based metrics read log-probabilities as well
        for _ in range(passes):
            moved = False
            for k in range(1, len(offsets)):
                for value in OFFSET_GRID:
                    trial = offsets.copy()
                    trial[k] = value
                    score = metric.score(y, log_p + trial)
                    if metric.better(score, best):
                        best, offsets, moved = score, trial, True
            if not moved:
                break
        return cls(offsets)

    def describe(self, names: list[str]) -> dict[str, float]:
        return {name: round(float(value), 2) for name, value in zip(names, self.offsets)}


def cross_fitted(n_rows: int, parts: np.ndarray, fit: Callable[[np.ndarray], object],
                 apply: Callable[[object, np.ndarray], np.ndarray]) -> np.ndarray:
    """Each part's rows through `apply(fit(other parts' rows), its rows)`; rows as boolean masks."""
    parts = np.asarray(parts)
    out = None
    for part in np.unique(parts):
        rows = parts == part
        values = apply(fit(~rows), rows)
        if out is None:
            out = np.empty((n_rows, *values.shape[1:]), dtype=values.dtype)
        out[rows] = values
    return out


def parts_for_cross_fitting(folds: np.ndarray, groups: np.ndarray, n_parts: int = 5) -> np.ndarray:
    """The folds where there are several; with one held-out split, its groups dealt into `n_parts`
    parts (whole groups, so no group is on both sides)."""
    folds = np.asarray(folds)
    if len(np.unique(folds)) >= 2:
        return folds
    codes = np.unique(np.asarray(groups), return_inverse=True)[1]
    return np.random.default_rng(0).permutation(max(codes.max() + 1, n_parts))[codes] % n_parts
