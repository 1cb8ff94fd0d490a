"""Task kinds: what a competition asks the model to predict, and everything that follows from it.

One small class per kind owns its head size, loss, activation, fastai metrics, decoding, the targets it
accepts, the blend's loss and its submission columns, as fastai pairs a loss with `activation` and
`decodes`. A task is made from the training file (`fit`): single-label classes (strings or integers)
are found there unless the description names them. Adding a kind means adding one class to `TASKS`.

    binary, multiclass   Classification: one label per text; cross-entropy (label smoothing allowed);
                         softmax; outputs: one probability per class
    multilabel           MultiLabel: several 0/1 targets at once; BCE with logits; sigmoid; one
                         probability per target
    regression           Regression: one or more float targets; MSE; identity; one value per target
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .data import line_of
from .metrics import METRICS, Metric

if TYPE_CHECKING:  # torch only where a model runs (losses import fastai lazily): table jobs start seconds sooner
    import torch


class TargetError(ValueError):
    """A target value the task cannot take; the message names the column and the row."""


def _first_bad(frame: pd.DataFrame, bad: np.ndarray) -> int:
    """The file's line of the first row where `bad` holds."""
    return line_of(frame, int(np.flatnonzero(bad)[0]))


def _numbers(frame: pd.DataFrame, column: str, path: str, what: str) -> np.ndarray:
    values = frame[column]
    numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers)
    if bad.any():
        raise TargetError(f"{path}: line {_first_bad(frame, bad)}: column '{column}': "
                          f"{values.iloc[int(np.flatnonzero(bad)[0])]!r} is not {what} ({int(bad.sum())} such rows)")
    return numbers


def _numbers_problem(column: str, values: pd.Series, allowed, what: str) -> str | None:
    """A submission column's first value that is not a number `allowed` takes, as one sentence."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(numbers) | ~allowed(np.nan_to_num(numbers, nan=np.inf))
    if not bad.any():
        return None
    row = int(np.flatnonzero(bad)[0])
    return f"{int(bad.sum())} {column} values are not {what}, first at row {row + 2}: {values.iloc[row]!r}"


class Task:
    """The common part: targets, outputs, and what the description or the training file fixed."""
    kind: str = ""
    default_metric: str = ""
    surrogate: str = ""  # the loss the blend's weights minimise (a proper scoring rule for the outputs)

    def __init__(self, targets: list[str], classes: list | None = None, label_names: list[str] | None = None):
        self.targets = list(targets)
        self.classes = None if classes is None else list(classes)
        self.label_names = label_names

    # -- what the model puts out ------------------------------------------------------------------
    @property
    def n_outputs(self) -> int:
        return len(self.targets)

    @property
    def output_names(self) -> list[str]:
        """A name per output: class names (single-label), else the target columns."""
        return list(self.label_names or self.targets)

    @property
    def output_columns(self) -> list[str]:
        """Columns of the probability / value files the pipeline writes between its jobs."""
        return [f"out_{k}" for k in range(self.n_outputs)]

    def activation(self, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss_func(self, label_smoothing: float = 0.0):
        raise NotImplementedError

    def fastai_metrics(self) -> list:
        raise NotImplementedError

    # -- targets ----------------------------------------------------------------------------------
    def encode(self, frame: pd.DataFrame, path: str = "train") -> np.ndarray:
        """The training targets as the loss takes them; a value the task cannot take is refused."""
        raise NotImplementedError

    def as_outputs(self, y: np.ndarray) -> np.ndarray:
        """Targets in the form of the outputs (one-hot for classes): what memory averages."""
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def surrogate_loss(self, outputs: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    # -- answers ----------------------------------------------------------------------------------
    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """The answer per text and target, in the values of the training file."""
        raise NotImplementedError

    def answer_names(self, outputs: np.ndarray) -> list[str]:
        """Each text's answer as a person reads it (fasthf predict): the decoded answers, joined."""
        return [", ".join(map(str, np.ravel(answer))) for answer in self.decode(outputs)]

    def submission_values(self, outputs: np.ndarray, columns: list[str], form: str) -> dict[str, np.ndarray]:
        """The sample submission's answer columns (in its order) filled from the outputs, as `form` says:
        labels, or probabilities (values for regression)."""
        raise NotImplementedError

    def check_submission_column(self, column: str, values: pd.Series, form: str) -> str | None:
        """What is wrong with one answer column of a submission, or None. Here: values must be numbers."""
        return _numbers_problem(column, values, lambda numbers: np.isfinite(numbers), "numbers")

    def metric(self, name: str | None) -> Metric:
        name = name or self.default_metric
        if name not in METRICS:
            raise ValueError(f"competition.metric: unknown metric {name!r}; known: {sorted(METRICS)}")
        metric = METRICS[name]
        if self.kind not in metric.tasks:
            raise ValueError(f"competition.metric: {name} does not score a {self.kind} task "
                             f"(it scores {', '.join(metric.tasks)})")
        return metric

    def describe(self) -> dict:
        return {"kind": self.kind, "targets": self.targets, "classes": self.classes, "label_names": self.label_names}

    def diagnostics(self, y: np.ndarray, outputs: np.ndarray) -> pd.DataFrame:
        """One row per output: how well each class (or target) is predicted out of fold."""
        raise NotImplementedError

    def per_output_scores(self, y: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
        """Columns of the members table beside the metric: a score per class, label or target."""
        return {}

    def plot_diagnostics(self, y: np.ndarray, outputs: np.ndarray, title: str):
        """What a person looks at out of fold."""
        raise NotImplementedError

    def collapsed(self, y: np.ndarray, outputs: np.ndarray) -> str | None:
        """How the held-out outputs show a model that answers (nearly) the same whatever the text, or None.
        The usual cause is a learning rate too high for the layers being trained."""
        return None

    def decision_rule(self, metric: Metric):
        """What may be fitted on held-out outputs to turn them into answers for `metric` (a class with
        `fit(outputs, y, metric)` and `.apply(outputs)`), or None: the outputs are the answers."""
        return None

    def stratify_by(self, y: np.ndarray) -> np.ndarray | None:
        """What folds without a group column are stratified by (None: random folds)."""
        return None


class Classification(Task):
    """One label per text, from `classes` (integers or strings, as the training file writes them)."""
    kind = "multiclass"
    default_metric = "accuracy"
    surrogate = "log_loss"

    @property
    def n_outputs(self) -> int:
        return len(self.classes)

    @property
    def output_names(self) -> list[str]:
        return list(self.label_names or map(str, self.classes))

    def activation(self, logits):
        return logits.float().softmax(dim=-1)

    def loss_func(self, label_smoothing: float = 0.0):
        from fastai.losses import CrossEntropyLossFlat, LabelSmoothingCrossEntropyFlat

        return LabelSmoothingCrossEntropyFlat(eps=label_smoothing) if label_smoothing else CrossEntropyLossFlat()

    def fastai_metrics(self):
        from fastai.metrics import accuracy, error_rate

        return [accuracy, error_rate]

    def encode(self, frame, path="train"):
        column = self.targets[0]
        values = frame[column]
        if all(isinstance(c, (int, np.integer)) for c in self.classes):
            numbers = _numbers(frame, column, path, "a whole number")
            known = np.isin(numbers, self.classes)
            values = pd.Series(numbers.astype(np.int64), index=frame.index)
        else:
            known = values.isin(self.classes).to_numpy()
        if not known.all():
            raw = frame[column].iloc[int(np.flatnonzero(~known)[0])]
            bad = repr(raw) if isinstance(raw, str) else str(raw)
            classes = self.classes
            allowed = (f"outside {classes[0]}-{classes[-1]}" if classes == list(range(classes[0], classes[-1] + 1))
                       else f"not one of the labels {classes}")
            raise TargetError(f"{path}: line {_first_bad(frame, ~known)}: column '{column}': {bad} is {allowed} "
                              f"({int((~known).sum())} such rows)")
        index = {c: i for i, c in enumerate(self.classes)}
        return values.map(index).to_numpy(dtype=np.int64)

    def as_outputs(self, y):
        return np.eye(self.n_outputs)[np.asarray(y, dtype=np.int64)]

    def answer_names(self, outputs):
        return [self.output_names[k] for k in np.asarray(outputs).argmax(axis=1)]

    def surrogate_loss(self, outputs, y):
        return float(-np.log(np.clip(outputs[np.arange(len(y)), y], 1e-15, None)).mean())

    def decode(self, outputs):
        return np.asarray(self.classes, dtype=object)[np.asarray(outputs).argmax(axis=1)]

    def submission_values(self, outputs, columns, form):
        names = [str(c) for c in self.classes]
        if form == "labels":
            return {columns[0]: self.decode(outputs)}
        if set(columns) <= set(names) and len(columns) == len(names):  # one probability column per class
            return {column: outputs[:, names.index(column)] for column in columns}
        if len(columns) == 1 and self.n_outputs == 2:  # the probability of the second (positive) class
            return {columns[0]: outputs[:, 1]}
        raise ValueError(f"the sample submission's columns {columns} are neither the classes {names} nor one "
                         f"probability column; set competition.submission")

    def check_submission_column(self, column, values, form):
        if form != "labels":
            return _numbers_problem(column, values, lambda p: (p >= 0) & (p <= 1), "probabilities from 0 to 1")
        allowed = {str(c) for c in self.classes}
        bad = ~values.astype(str).str.strip().isin(allowed)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            classes = self.classes
            what = (f"integers {classes[0]}-{classes[-1]}" if classes == list(range(classes[0], classes[-1] + 1))
                    else f"labels {sorted(allowed)}")
            return f"{int(bad.sum())} {column} values are not {what}, first at row {row + 2}: {values.iloc[row]!r}"
        return None

    def diagnostics(self, y, outputs):
        from .evaluation import confusion_matrix, per_class_accuracy

        return per_class_accuracy(confusion_matrix(y, outputs.argmax(axis=1), self.n_outputs), self.output_names)

    def per_output_scores(self, y, outputs):
        table = self.diagnostics(y, outputs)
        return {f"accuracy {name}": float(acc) for name, acc in zip(table.label, table.accuracy)}

    def collapsed(self, y, outputs):
        """One class answers at least 98% of the held-out texts although fewer than 90% are of it."""
        answers = np.asarray(outputs).argmax(axis=1)
        if not len(answers):
            return None
        top = np.bincount(answers, minlength=self.n_outputs).argmax()
        answered, true = (answers == top).mean(), (np.asarray(y) == top).mean()
        if answered >= 0.98 and true < 0.9:
            return (f"{answered:.1%} of the held-out texts are answered {self.output_names[top]!r}, "
                    f"which is the label of {true:.1%} of them")
        return None

    def plot_diagnostics(self, y, outputs, title):
        """The confusion matrix: rows true, columns predicted."""
        from .evaluation import confusion_matrix, plot_confusion

        return plot_confusion(confusion_matrix(y, outputs.argmax(axis=1), self.n_outputs), self.output_names, title)

    def decision_rule(self, metric):
        from .decisions import ClassOffsets

        return ClassOffsets if metric.uses == "labels" else None  # probabilities are scored as they are

    def stratify_by(self, y):
        return y


class Binary(Classification):
    """Two classes; the second (sorted, or as the description names them) is the positive one."""
    kind = "binary"


class MultiLabel(Task):
    """Several 0/1 targets per text, each its own probability."""
    kind = "multilabel"
    default_metric = "roc_auc"
    surrogate = "bce"

    def activation(self, logits):
        return logits.float().sigmoid()

    def loss_func(self, label_smoothing: float = 0.0):
        from fastai.losses import BCEWithLogitsLossFlat

        return BCEWithLogitsLossFlat()

    def fastai_metrics(self):
        from fastai.metrics import accuracy_multi

        return [accuracy_multi]

    def encode(self, frame, path="train"):
        columns = []
        for column in self.targets:
            numbers = _numbers(frame, column, path, "0 or 1")
            bad = ~np.isin(numbers, (0, 1))
            if bad.any():
                raise TargetError(f"{path}: line {_first_bad(frame, bad)}: column '{column}': "
                                  f"{frame[column].iloc[int(np.flatnonzero(bad)[0])]!r} is not 0 or 1 "
                                  f"({int(bad.sum())} such rows); a multilabel target is 0 or 1")
            columns.append(numbers)
        return np.stack(columns, axis=1).astype(np.float32)

    def surrogate_loss(self, outputs, y):
        p = np.clip(outputs, 1e-15, 1 - 1e-15)
        return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())

    def decode(self, outputs):
        return (np.asarray(outputs) >= 0.5).astype(np.int64)

    def answer_names(self, outputs):
        return [", ".join(t for t, on in zip(self.targets, row) if on) or "none" for row in self.decode(outputs)]

    def check_submission_column(self, column, values, form):
        if form == "labels":
            return _numbers_problem(column, values, lambda v: np.isin(v, (0, 1)), "0 or 1")
        return _numbers_problem(column, values, lambda p: (p >= 0) & (p <= 1), "probabilities from 0 to 1")

    def submission_values(self, outputs, columns, form):
        answers = outputs if form == "probabilities" else self.decode(outputs)
        return {column: answers[:, self.targets.index(column)] for column in columns}

    def diagnostics(self, y, outputs):
        from .metrics import roc_auc_columns

        auc = roc_auc_columns(y, outputs)
        return pd.DataFrame({"target": self.targets, "positives": y.sum(axis=0).astype(int), "roc_auc": auc,
                             "accuracy": ((outputs >= 0.5) == y).mean(axis=0)})

    def per_output_scores(self, y, outputs):
        table = self.diagnostics(y, outputs)
        return {f"roc_auc {name}": float(auc) for name, auc in zip(table.target, table.roc_auc)}

    def plot_diagnostics(self, y, outputs, title):
        """ROC AUC per label, as bars."""
        from .evaluation import figure

        table = self.diagnostics(y, outputs)
        fig, axes = figure(7, 0.6 + 0.4 * len(table))
        ax = axes[0][0]
        ax.barh(table.target[::-1], table.roc_auc[::-1], color="#3182bd")
        for i, value in enumerate(table.roc_auc[::-1]):
            ax.text(value, i, f" {value:.4f}", va="center", fontsize=8)
        ax.set_xlim(0, 1.1)
        ax.set_xlabel("out-of-fold ROC AUC")
        ax.set_title(title)
        return fig


class Regression(Task):
    """One or more float targets per text."""
    kind = "regression"
    default_metric = "rmse"
    surrogate = "mse"

    def activation(self, logits):
        return logits.float()

    def loss_func(self, label_smoothing: float = 0.0):
        from fastai.losses import MSELossFlat

        return MSELossFlat()

    def fastai_metrics(self):
        from fastai.metrics import rmse

        return [rmse]

    def encode(self, frame, path="train"):
        return np.stack([_numbers(frame, c, path, "a number") for c in self.targets], axis=1).astype(np.float32)

    def surrogate_loss(self, outputs, y):
        return float(((outputs - y) ** 2).mean())

    def decode(self, outputs):
        return np.asarray(outputs, dtype=np.float64)

    def submission_values(self, outputs, columns, form):
        return {column: outputs[:, self.targets.index(column)] for column in columns}

    def diagnostics(self, y, outputs):
        return pd.DataFrame({"target": self.targets, "rmse": np.sqrt(((outputs - y) ** 2).mean(axis=0)),
                             "mean": y.mean(axis=0), "predicted_mean": outputs.mean(axis=0)})

    def per_output_scores(self, y, outputs):
        if len(self.targets) == 1:  # the metric says it all
            return {}
        table = self.diagnostics(y, outputs)
        return {f"rmse {name}": float(value) for name, value in zip(table.target, table.rmse)}

    def plot_diagnostics(self, y, outputs, title):
        """Predicted against true values, one panel per target."""
        from .evaluation import figure

        fig, axes = figure(5 * len(self.targets), 4.5, len(self.targets))
        for k, ax in enumerate(axes[0]):
            ax.scatter(y[:, k], outputs[:, k], s=4, alpha=0.4)
            low, high = float(min(y[:, k].min(), outputs[:, k].min())), float(max(y[:, k].max(), outputs[:, k].max()))
            ax.plot([low, high], [low, high], color="#e6550d", linewidth=1)
            ax.set_xlabel(f"true {self.targets[k]}")
            ax.set_ylabel("predicted")
        fig.suptitle(title)
        return fig


TASKS: dict[str, type[Task]] = {cls.kind: cls for cls in (Binary, Classification, MultiLabel, Regression)}


def task_from(described: dict) -> Task:
    """The task a `describe()` wrote (competition.json, a bundle's fasthf.json)."""
    classes = described.get("classes")
    return TASKS[described["kind"]](described["targets"], classes, described.get("label_names"))


def infer_task(frame: pd.DataFrame, targets: list[str], labels: dict | None = None,
               answer_columns: list[str] | None = None, metric: str | None = None) -> tuple[str, str]:
    """(kind, why) from the target column(s), the sample submission's answer columns and the metric."""
    scores_labels_only = metric in METRICS and "regression" not in METRICS[metric].tasks
    if labels:
        kind = "binary" if len(labels) == 2 else "multiclass"
        return kind, f"the description names {len(labels)} labels"
    numbers = {c: pd.to_numeric(frame[c].astype(str).str.strip(), errors="coerce") for c in targets}
    numeric = {c: bool(v.notna().all()) for c, v in numbers.items()}
    if len(targets) > 1:
        if all(numeric.values()) and all(set(v.unique()) <= {0, 1} for v in numbers.values()):
            return "multilabel", f"{len(targets)} target columns, each holding only 0 and 1"
        if scores_labels_only:  # a stray value is then a bad row, not another task
            return "multilabel", f"{len(targets)} target columns and the metric {metric} scores labels"
        if all(numeric.values()):
            return "regression", f"{len(targets)} numeric target columns, not all 0/1"
        raise ValueError(f"competition.target: the columns {[c for c, n in numeric.items() if not n]} hold text; "
                         f"several targets must be 0/1 (multilabel) or numbers (regression)")
    column = targets[0]
    values = numbers[column]
    n_distinct = frame[column].nunique()
    per_class = answer_columns is not None and len(answer_columns) > 1 and n_distinct == len(answer_columns)
    if not numeric[column]:
        kind = "binary" if n_distinct == 2 else "multiclass"
        return kind, f"'{column}' holds text: {n_distinct} distinct labels"
    whole = bool((values == values.round()).all())
    if whole and (n_distinct <= 2):
        return "binary", f"'{column}' holds {n_distinct} distinct whole numbers"
    if whole and (per_class or n_distinct <= 20):
        why = "the sample submission has a column per class" if per_class else f"{n_distinct} distinct whole numbers"
        return "multiclass", f"'{column}': {why}"
    return "regression", f"'{column}' holds {'fractional numbers' if not whole else f'{n_distinct} distinct numbers'}"


def fit_task(kind: str, frame: pd.DataFrame, targets: list[str], labels: dict | None = None) -> Task:
    """The task of `kind`, with its classes read from the training file unless `labels` names them."""
    cls = TASKS[kind]
    if not issubclass(cls, Classification):
        return cls(targets)
    if len(targets) != 1:
        raise ValueError(f"competition.target: a {kind} task takes one target column, not {targets}")
    if labels:
        classes = list(labels)
        names = [str(name) for name in labels.values()]
    else:
        column = frame[targets[0]].astype(str).str.strip()
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers.notna().all() and (numbers == numbers.round()).all():
            classes = sorted(int(v) for v in numbers.unique())
        else:
            classes = sorted(frame[targets[0]].unique().tolist())
        names = None
    if kind == "binary" and len(classes) != 2:
        raise TargetError(f"column '{targets[0]}' holds {len(classes)} distinct labels {classes[:10]}, but "
                          f"competition.task is binary: fix the file, or set task: multiclass")
    if len(classes) < 2:
        raise TargetError(f"column '{targets[0]}' holds one label only ({classes}); nothing to learn")
    return cls(targets, classes, names)
