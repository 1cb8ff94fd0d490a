"""Regression: one or more float targets per text."""
from __future__ import annotations

import numpy as np
import pandas as pd

from fasthf.inputs.targets import numbers_of
from fasthf.tasks.base import Task


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
        return np.stack([numbers_of(frame, c, path, "a number") for c in self.targets], axis=1).astype(np.float32)

    def decode(self, outputs):
        return np.asarray(outputs, dtype=np.float64)

    def submission_values(self, outputs, columns, form):
        return {column: outputs[:, self.answer_source(column)] for column in columns}

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
        from fasthf.training.evaluation import plot_predicted_against_true

        return plot_predicted_against_true(y, outputs, self.targets, title)
