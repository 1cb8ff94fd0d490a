"""Single-label classification: one label per text, from classes the training file holds (binary: two)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from fasthf.inputs.data import line_of
from fasthf.inputs.targets import TargetError, first_bad_line, numbers_of, numbers_problem
from fasthf.outputs.metrics import ranked_classes
from fasthf.tasks.base import Task


class Classification(Task):
    """One label per text, from `classes` (integers or strings, as the training file writes them), or from
    one-hot target columns (several targets: each row holds one 1, the classes are the columns)."""
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

    @property
    def one_hot(self) -> bool:
        return len(self.targets) > 1

    def encode(self, frame, path="train"):
        if self.one_hot:
            return self._encode_one_hot(frame, path)
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

    def _encode_one_hot(self, frame, path):
        """The class of each row from its one-hot columns; a row without exactly one 1 is refused."""
        values = np.stack([numbers_of(frame, c, path, "0 or 1") for c in self.targets], axis=1)
        bad = ~np.isin(values, (0, 1)).all(axis=1) | (values.sum(axis=1) != 1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            cells = dict(zip(self.targets, frame[self.targets].iloc[row].tolist()))
            raise TargetError(f"{path}: line {first_bad_line(frame, bad)}: columns {self.targets}: {cells} do not "
                              f"hold exactly one 1 ({int(bad.sum())} such rows); one-hot target columns name one "
                              f"class per row")
        return values.argmax(axis=1).astype(np.int64)

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

    def submission_values(self, outputs, columns, form, top_k: int = 3):
        names = [str(c) for c in self.classes]
        if form == "labels":
            return {columns[0]: self.decode(outputs)}
        if form == "ranked":  # the top_k labels, best first, space-joined (MAP@k)
            return {columns[0]: np.array([" ".join(names[k] for k in row) for row in ranked_classes(outputs, top_k)],
                                         dtype=object)}
        if set(columns) <= set(names) and len(columns) == len(names):  # one probability column per class
            return {column: outputs[:, names.index(column)] for column in columns}
        if len(columns) == 1 and self.n_outputs == 2:  # the probability of the second (positive) class
            return {columns[0]: outputs[:, 1]}
        raise ValueError(f"the sample submission's columns {columns} are neither the classes {names} nor one "
                         f"probability column; set competition.submission")

    def check_answer_columns(self, frame, columns, form, path, sample):
        """With a probability column per class, each class of the training file needs its column."""
        if form in ("labels", "ranked") or len(columns) < 2 or self.one_hot:  # one label column, the positive
            return  # class's probability, or the one-hot columns themselves
        missing = [c for c in self.classes if str(c) not in columns]
        if missing:
            column = self.targets[0]
            row = int(np.flatnonzero((frame[column].astype(str).str.strip() == str(missing[0])).to_numpy())[0])
            raise TargetError(f"{path}: line {line_of(frame, row)}: column '{column}': the label {str(missing[0])!r} "
                              f"has no column in {sample}, whose answer columns are {columns}")

    def check_submission_column(self, column, values, form):
        if form == "ranked":
            return self._ranked_problem(column, values)
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

    def _ranked_problem(self, column, values):
        allowed = {str(c) for c in self.classes}
        ranked = values.astype(str).str.split()
        bad = ranked.map(lambda labels: not labels or len(set(labels)) < len(labels) or not set(labels) <= allowed)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            return (f"{int(bad.sum())} {column} values are not distinct labels of {sorted(allowed)} joined by "
                    f"spaces, first at row {row + 2}: {values.iloc[row]!r}")
        return None

    def diagnostics(self, y, outputs):
        from fasthf.training.evaluation import confusion_matrix, per_class_accuracy

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
        from fasthf.training.evaluation import confusion_matrix, plot_confusion

        return plot_confusion(confusion_matrix(y, outputs.argmax(axis=1), self.n_outputs), self.output_names, title)

    def decision_rule(self, metric):
        from fasthf.outputs.decisions import ClassOffsets

        return ClassOffsets if metric.uses == "labels" else None  # probabilities are scored as they are

    def stratify_by(self, y):
        return y


class Binary(Classification):
    """Two classes; the second (sorted, or as the description names them) is the positive one."""
    kind = "binary"
