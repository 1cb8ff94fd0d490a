"""Multi-label classification: several 0/1 targets per text, each its own probability."""
from __future__ import annotations

import numpy as np
import pandas as pd

from fasthf.inputs.targets import numbers_of, numbers_problem, refuse_rows
from fasthf.tasks.base import Task


class MultiLabel(Task):
    """Several 0/1 targets per text, each its own probability."""
    kind = "multilabel"
    reads_spans = False  # not measured with shared encoding: refused rather than assumed
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
            numbers = numbers_of(frame, column, path, "0 or 1")
            refuse_rows(frame, column, ~np.isin(numbers, (0, 1)), path, "0 or 1", "; a multilabel target is 0 or 1")
            columns.append(numbers)
        return np.stack(columns, axis=1).astype(np.float32)

    def decode(self, outputs):
        return (np.asarray(outputs) >= 0.5).astype(np.int64)

    def answer_names(self, outputs):
        return [", ".join(t for t, on in zip(self.output_names, row) if on) or "none" for row in self.decode(outputs)]

    def check_submission_column(self, column, values, form):
        if form == "labels":
            return numbers_problem(column, values, lambda v: np.isin(v, (0, 1)), "0 or 1")
        return numbers_problem(column, values, lambda p: (p >= 0) & (p <= 1), "probabilities from 0 to 1")

    def submission_values(self, outputs, columns, form):
        answers = outputs if form == "probabilities" else self.decode(outputs)
        return {column: answers[:, self.answer_source(column)] for column in columns}

    def diagnostics(self, y, outputs):
        from fasthf.outputs.metrics import roc_auc_columns

        auc = roc_auc_columns(y, outputs)
        return pd.DataFrame({"target": self.output_names, "positives": y.sum(axis=0).astype(int), "roc_auc": auc,
                             "accuracy": ((outputs >= 0.5) == y).mean(axis=0)})

    def per_output_scores(self, y, outputs):
        table = self.diagnostics(y, outputs)
        return {f"roc_auc {name}": float(auc) for name, auc in zip(table.target, table.roc_auc)}

    def plot_diagnostics(self, y, outputs, title):
        """ROC AUC per label, as bars."""
        from fasthf.training.evaluation import plot_bars

        table = self.diagnostics(y, outputs)
        return plot_bars(table.target.tolist(), table.roc_auc, "out-of-fold ROC AUC", title, xlim=(0, 1.1))
