"""Competition metrics, computed out of fold on the pipeline's outputs (probabilities or values).

Each metric says which task kinds it scores, whether greater is better, and what the submission it
scores holds: labels, scores (probabilities, values), or ranked (the top k labels, space-joined, best
first): the submission's form follows from that.
Formulas as Kaggle states them: F1 of the positive class for a binary task, macro F1 for several
classes; multi-class log loss with probabilities clipped to [1e-15, 1 - 1e-15]; ROC AUC of the
positive class, or the mean of the column-wise AUCs for several targets (fractional targets, a "soft"
task, count as positive from 0.5 on); RMSE over every target, and MCRMSE, the mean of each target's
RMSE; quadratic weighted kappa on the labels.

The competition metrics below are checked against the graders of MLE-bench (`grade.py`) and MLE-Dojo
(`metric.py`) in tests/unit/test_metrics_graders.py:

- pearson: Pearson r between prediction and target (the mean over columns for several); a column
  where r is undefined (a constant prediction or target; both graders give nan) counts as 0.
- spearman: the mean over columns of Spearman's rank correlation (ties take their mean rank); a column
  where it is undefined counts as 0 (MLE-Dojo; MLE-bench's mean turns nan).
- map_at_3: mean average precision at 3 with one true answer: 1/rank of the true class among the three
  most probable classes (ties: the lower class index first), else 0, averaged over rows.
- tags_f1: the mean over rows of F1 = 2|P & T| / (|P| + |T|) between the predicted tag set P and the
  true set T (MLE-Dojo: both empty counts 1; T empty and P not counts 0). P is every tag of probability
  >= 0.5, or, where there is none, the single most probable tag (`predicted_tags`), so P is never empty.
- tags_micro_f1: MLE-bench's grader for the same competition: micro F1 over a MultiLabelBinarizer whose
  classes are the tags of the answers: a predicted tag that no answer holds is ignored, not counted as
  a false positive; here, the columns no row of y holds are left out.
- bias_auc: 0.25 overall AUC + 0.25 M(subgroup AUCs) + 0.25 M(BPSN AUCs) + 0.25 M(BNSP AUCs),
  M the power mean (mean of a**-5) ** (1/-5) over the identity columns (Jigsaw's unintended-bias
  metric). y[:, 0] is the target fraction (positive from 0.5 on), y[:, 1:] the identities (a member
  from 0.5 on; nan: not a member);
  the prediction is outputs[:, 0], a raw score as in Kaggle's metric and MLE-Dojo (MLE-bench
  binarises predictions at 0.5 first). Subgroup AUC: the rows of the identity; BPSN: its negative
  rows with the positive rows outside it; BNSP: its positive rows with the negative rows outside it. As
  MLE-Dojo does: an AUC that is undefined (no rows, or one class only) is left out of its power mean,
  which is the mean over the AUCs that are defined; a power mean with none, or an undefined overall
  AUC, adds 0. (MLE-bench raises on an undefined AUC, and divides by its nine identity columns.)

Span tasks (fasthf.tasks.spans) are scored on the spans decoded per row: jaccard (extraction from short posts,
chaii: mean word Jaccard of the spans' text), character_f1 (NBME: micro F1 over character positions) and
micro_f5 (PII Data Detection: micro F-beta, beta 5, over the (text, token, BIO label) rows of labelled given
tokens) and overlap_f1 (Feedback Prize 2021: segments of words matched where each covers half the other,
F1 per type, their mean), as fasthf.outputs.span_metrics states and checks them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from fasthf.outputs.span_metrics import spans_character_f1, spans_jaccard, spans_micro_f5, spans_overlap_f1


@dataclass(frozen=True)
class Metric:
    name: str
    score: Callable[[np.ndarray, np.ndarray], float]  # (targets as encoded, outputs) -> score
    greater_is_better: bool
    uses: str  # "labels", "scores", "ranked" (the top k labels, best first) or "spans": what the submission holds
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
    """ROC AUC of each column (nan where a column holds one class only); a target counts as positive from
    0.5 on (fractions of a soft task; nan: negative)."""
    from sklearn.metrics import roc_auc_score

    positive = np.nan_to_num(np.asarray(y, dtype=np.float64)) >= 0.5
    return np.array([roc_auc_score(positive[:, k], outputs[:, k]) if len(np.unique(positive[:, k])) == 2 else np.nan
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


def _columns(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1)


def _correlations(correlation, y, outputs) -> float:
    """The mean over columns of correlation(target, prediction), an undefined one (nan) counting 0."""
    import warnings

    y, outputs = _columns(y), _columns(outputs)
    with warnings.catch_warnings():  # scipy warns of a constant column, whose correlation is nan
        warnings.simplefilter("ignore")
        r = np.array([correlation(y[:, k], outputs[:, k])[0] for k in range(y.shape[1])], dtype=np.float64)
    return float(np.nan_to_num(r, nan=0.0).mean())


def pearson(y, outputs) -> float:
    from scipy.stats import pearsonr

    return _correlations(pearsonr, y, outputs)


def spearman(y, outputs) -> float:
    from scipy.stats import spearmanr

    return _correlations(spearmanr, y, outputs)


def ranked_classes(outputs, k: int = 3) -> np.ndarray:
    """The k most probable classes of each row, best first; ties: the lower class index first."""
    return np.argsort(-np.asarray(outputs, dtype=np.float64), axis=1, kind="stable")[:, :k]


def map_at_3(y, outputs) -> float:
    hits = ranked_classes(outputs, 3) == np.asarray(y).reshape(-1, 1)
    return float((hits / np.arange(1, hits.shape[1] + 1)).sum(axis=1).mean())


def predicted_tags(outputs) -> np.ndarray:
    """The tags a tags submission writes: each of probability >= 0.5, else the single most probable."""
    outputs = np.asarray(outputs, dtype=np.float64)
    tags = outputs >= 0.5
    empty = ~tags.any(axis=1)
    tags[empty, outputs[empty].argmax(axis=1)] = True
    return tags


def tags_f1(y, outputs) -> float:
    true, predicted = np.asarray(y) >= 0.5, predicted_tags(outputs)
    both = (true & predicted).sum(axis=1)
    sizes = true.sum(axis=1) + predicted.sum(axis=1)
    return float(np.where(sizes == 0, 1.0, 2 * both / np.maximum(sizes, 1)).mean())


def tags_micro_f1(y, outputs) -> float:
    from sklearn.metrics import f1_score

    true, predicted = np.asarray(y) >= 0.5, predicted_tags(outputs)
    held = true.any(axis=0)  # the grader's classes: the tags some answer holds
    return float(f1_score(true[:, held], predicted[:, held], average="micro", zero_division=0))


def _auc(positive, score) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, score)) if len(np.unique(positive)) == 2 else np.nan


def _power_mean(values, p: float = -5) -> float:
    """(mean of v**p) ** (1/p) over the values that are defined; nan where none is."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return np.nan
    with np.errstate(divide="ignore"):  # an AUC of 0 gives inf, and the mean 0
        return float(np.mean(values ** p) ** (1 / p))


def bias_auc(y, outputs) -> float:
    y = _columns(y)
    positive, score = np.nan_to_num(y[:, 0]) >= 0.5, _columns(outputs)[:, 0]
    bias = []  # per identity: subgroup, BPSN, BNSP AUC
    for member in (np.nan_to_num(y[:, 1:]) >= 0.5).T:
        bpsn, bnsp = (positive & ~member) | (~positive & member), (~positive & ~member) | (positive & member)
        bias.append([_auc(positive[rows], score[rows]) for rows in (member, bpsn, bnsp)])
    means = [_power_mean(column) for column in np.array(bias, dtype=np.float64).reshape(-1, 3).T]
    return float(0.25 * np.nan_to_num(_auc(positive, score)) + 0.25 * np.nansum(means))


SINGLE = ("binary", "multiclass")
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("accuracy", accuracy, True, "labels", (*SINGLE, "multilabel", "tags")),
    Metric("f1", f1, True, "labels", (*SINGLE, "multilabel", "tags")),
    Metric("log_loss", log_loss, False, "scores", (*SINGLE, "multilabel", "soft")),
    Metric("roc_auc", roc_auc, True, "scores", (*SINGLE, "multilabel", "soft")),
    Metric("rmse", rmse, False, "scores", ("regression",)),
    Metric("mcrmse", mcrmse, False, "scores", ("regression",)),
    Metric("mae", mae, False, "scores", ("regression",)),
    Metric("quadratic_kappa", quadratic_kappa, True, "labels", (*SINGLE, "regression")),
    Metric("pearson", pearson, True, "scores", ("regression",)),
    Metric("spearman", spearman, True, "scores", ("regression", "soft")),
    Metric("map_at_3", map_at_3, True, "ranked", SINGLE),
    Metric("tags_f1", tags_f1, True, "labels", ("tags",)),
    Metric("tags_micro_f1", tags_micro_f1, True, "labels", ("tags",)),
    Metric("bias_auc", bias_auc, True, "scores", ("soft",)),
    # span tasks: y per row (text, spans), the outputs per row the spans decoded (fasthf.tasks.spans)
    Metric("jaccard", spans_jaccard, True, "spans", ("spans",)),
    Metric("character_f1", spans_character_f1, True, "spans", ("spans",)),
    Metric("micro_f5", spans_micro_f5, True, "spans", ("spans",)),
    Metric("overlap_f1", spans_overlap_f1, True, "spans", ("spans",)),
)}

# The losses a blend's weights minimise (`Task.surrogate`): proper scoring rules of the outputs, smooth where
# a competition's metric may be a step function of the weights.
BLEND_LOSSES = {"log_loss": log_loss, "bce": log_loss, "mse": mse}
