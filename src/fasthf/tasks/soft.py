"""Soft labels: each target a fraction in [0, 1] (the share of annotators who said yes), read as a probability."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from fasthf.inputs.targets import refuse_rows
from fasthf.tasks.multilabel import MultiLabel

log = logging.getLogger(__name__)


class SoftLabels(MultiLabel):
    """Fractions in [0, 1] per target, learnt with binary cross-entropy against the fraction itself.

    The first target is what the competition asks (jigsaw-unintended-bias' `target`, scored as >= 0.5);
    further targets are auxiliary outputs trained beside it (its identity columns, which the bias metric
    reads from the training file). An empty cell of an auxiliary column (not annotated) is taken as 0 and
    counted in the log; the first target must be there on every row.
    """
    kind = "soft"
    default_metric = "roc_auc"

    def encode(self, frame, path="train"):
        columns = []
        for k, column in enumerate(self.targets):
            text = frame[column].astype(str).str.strip()
            empty = (text == "").to_numpy()
            if k and empty.any():
                log.info("%s: column '%s': %d of %d rows are empty, taken as 0", path, column, int(empty.sum()),
                         len(frame))
            numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, copy=True)
            if k:
                numbers[empty] = 0.0
            refuse_rows(frame, column, ~np.isfinite(numbers) | (numbers < 0) | (numbers > 1), path,
                        "a fraction from 0 to 1", "; a soft target is a share in [0, 1]")
            columns.append(numbers)
        return np.stack(columns, axis=1).astype(np.float32)

    def diagnostics(self, y, outputs):
        return super().diagnostics((np.asarray(y) >= 0.5).astype(np.float64), outputs)
