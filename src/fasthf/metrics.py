"""Competition metrics, computed out of fold on the pipeline's outputs (probabilities or values).

Each metric says which task kinds it scores, whether greater is better, and whether the submission it
scores holds labels or scores (probabilities, values): the submission's form follows from that.
Formulas as Kaggle states them: F1 of the positive class for a binary task, macro F1 for several
classes; multi-class log loss with probabilities clipped to [1e-15, 1 - 1e-15]; ROC AUC of the
positive class, or the mean of the column-wise AUCs for several targets; RMSE over every target, and
MCRMSE, the mean of each target's RMSE;
quadratic weighted kappa on the labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Metric:
    name: str
    score: Callable[[np.ndarray, np.ndarray], float]  # (targets as encoded, outputs) -> score
    greater_is_better: bool
    uses: str  # "labels" or "scores": what the submission holds
    tasks: tuple[str, ...]

    def better(self, a: float, b: float) -> bool:
        return a > b if self.greater_is_better else a < b


def accuracy(y, outputs) -> float:
    if y.ndim == 2:  # several 0/1 targets: every answer counts
        return float(((outputs >= 0.5) == y).mean())
    return float((outputs.argmax(axis=1) == y).mean())


def f1(y, outputs) -> float:
    from sklearn.metrics import f1_score

    if y.ndim == 2:
        return float(f1_score(y, outputs >= 0.5, average="micro", zero_division=0))
    average = "binary" if outputs.shape[1] == 2 else "macro"
    return float(f1_score(y, outputs.argmax(axis=1), average=average, zero_division=0))


def log_loss(y, outputs) -> float:
    p = np.clip(outputs, 1e-15, 1 - 1e-15)
    if y.ndim == 2:  # mean column-wise binary log loss
        return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.log(p[np.arange(len(y)), y]).mean())


def roc_auc_columns(y, outputs) -> np.ndarray:
    """ROC AUC of each column (nan where a column holds one class only)."""
    from sklearn.metrics import roc_auc_score

    return np.array([roc_auc_score(y[:, k], outputs[:, k]) if len(np.unique(y[:, k])) == 2 else np.nan
                     for k in range(y.shape[1])])


def roc_auc(y, outputs) -> float:
    from sklearn.metrics import roc_auc_score

    if y.ndim == 2:
        return float(np.nanmean(roc_auc_columns(y, outputs)))
    if outputs.shape[1] == 2:
        return float(roc_auc_score(y, outputs[:, 1]))
    return float(roc_auc_score(y, outputs, multi_class="ovr", labels=list(range(outputs.shape[1]))))


def rmse(y, outputs) -> float:
    return float(np.sqrt(((np.asarray(outputs, dtype=np.float64) - y) ** 2).mean()))


def mse(y, outputs) -> float:
    return float(((np.asarray(outputs, dtype=np.float64) - y) ** 2).mean())


def mcrmse(y, outputs) -> float:
    """Mean column-wise RMSE: each target's RMSE, averaged over the targets."""
    return float(np.sqrt(((np.asarray(outputs, dtype=np.float64) - y) ** 2).mean(axis=0)).mean())


def mae(y, outputs) -> float:
    return float(np.abs(np.asarray(outputs, dtype=np.float64) - y).mean())


def quadratic_kappa(y, outputs) -> float:
    from sklearn.metrics import cohen_kappa_score

    if y.ndim == 2:  # a regression target scored on whole numbers
        return float(cohen_kappa_score(np.rint(y[:, 0]).astype(int), np.rint(outputs[:, 0]).astype(int),
                                       weights="quadratic"))
    return float(cohen_kappa_score(y, outputs.argmax(axis=1), weights="quadratic"))


SINGLE = ("binary", "multiclass")
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("accuracy", accuracy, True, "labels", (*SINGLE, "multilabel")),
    Metric("f1", f1, True, "labels", (*SINGLE, "multilabel")),
    Metric("log_loss", log_loss, False, "scores", (*SINGLE, "multilabel")),
    Metric("roc_auc", roc_auc, True, "scores", (*SINGLE, "multilabel")),
    Metric("rmse", rmse, False, "scores", ("regression",)),
    Metric("mcrmse", mcrmse, False, "scores", ("regression",)),
    Metric("mae", mae, False, "scores", ("regression",)),
    Metric("quadratic_kappa", quadratic_kappa, True, "labels", (*SINGLE, "regression")),
)}

# The losses a blend's weights minimise (`Task.surrogate`): proper scoring rules of the outputs, smooth where
# a competition's metric may be a step function of the weights.
BLEND_LOSSES = {"log_loss": log_loss, "bce": log_loss, "mse": mse}
