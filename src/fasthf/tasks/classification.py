"""Single-label classification: one label per text, from classes the training file holds (binary: two)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import line_of
from ..targets import TargetError, first_bad_line, numbers_of, numbers_problem
from .base import Task


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
            numbers = numbers_of(frame, column, path, "a whole number")
            known = np.isin(numbers, self.classes)
            values = pd.Series(numbers.astype(np.int64), index=frame.index)
        else:
            known = values.isin(self.classes).to_numpy()
        if not known.all():
            raw = frame[column].iloc[int(np.flatnonzero(~known)[0])]
            bad = repr(raw) if isinstance(raw, str) else str(raw)
            allowed = (f"outside {self.classes[0]}-{self.classes[-1]}" if self._consecutive()
                       else f"not one of the labels {self.classes}")
            raise TargetError(f"{path}: line {first_bad_line(frame, ~known)}: column '{column}': {bad} is {allowed} "
                              f"({int((~known).sum())} such rows)")
        index = {c: i for i, c in enumerate(self.classes)}
        return values.map(index).to_numpy(dtype=np.int64)

    def _consecutive(self) -> bool:
        """Classes 0..k (or k..m) as whole numbers: errors then name the range."""
        first = self.classes[0]
        return isinstance(first, (int, np.integer)) and self.classes == list(range(first, first + len(self.classes)))

    def as_outputs(self, y):
        return np.eye(self.n_outputs)[np.asarray(y, dtype=np.int64)]

    def answer_names(self, outputs):
        return [self.output_names[k] for k in np.asarray(outputs).argmax(axis=1)]

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

    def check_answer_columns(self, frame, columns, form, path, sample):
        """With a probability column per class, each class of the training file needs its column."""
        if form == "labels" or len(columns) < 2:  # one label column, or the positive class's probability
            return
        missing = [c for c in self.classes if str(c) not in columns]
        if missing:
            column = self.targets[0]
            row = int(np.flatnonzero((frame[column].astype(str).str.strip() == str(missing[0])).to_numpy())[0])
            raise TargetError(f"{path}: line {line_of(frame, row)}: column '{column}': the label {str(missing[0])!r} "
                              f"has no column in {sample}, whose answer columns are {columns}")

    def check_submission_column(self, column, values, form):
        if form != "labels":
            return numbers_problem(column, values, lambda p: (p >= 0) & (p <= 1), "probabilities from 0 to 1")
        allowed = {str(c) for c in self.classes}
        bad = ~values.astype(str).str.strip().isin(allowed)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            what = (f"integers {self.classes[0]}-{self.classes[-1]}" if self._consecutive()
                    else f"labels {sorted(allowed)}")
            return f"{int(bad.sum())} {column} values are not {what}, first at row {row + 2}: {values.iloc[row]!r}"
        return None

    def diagnostics(self, y, outputs):
        from ..evaluation import confusion_matrix, per_class_accuracy

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
        from ..evaluation import confusion_matrix, plot_confusion

        return plot_confusion(confusion_matrix(y, outputs.argmax(axis=1), self.n_outputs), self.output_names, title)

    def decision_rule(self, metric):
        from ..decisions import ClassOffsets

        return ClassOffsets if metric.uses == "labels" else None  # probabilities are scored as they are

    def stratify_by(self, y):
        return y


class Binary(Classification):
    """Two classes; the second (sorted, or as the description names them) is the positive one."""
    kind = "binary"
