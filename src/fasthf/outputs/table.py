"""The per-row outputs table: what every job between training and the submission hands on.

    row,out_0,out_1,...[,from_memory]

`row` is the row's number in its competition file; `out_k` is output k of the task (a class's
probability, a label's probability, or a target's value). Stages write the held-out rows' outputs,
`predict` the test rows', `ensemble` the blend's, `memory` the final ones (with `from_memory`); the
ensemble, memory and submission jobs read them. This module alone knows the columns.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fasthf.io import write_csv

ROW = "row"
PREFIX = "out_"


class OutputsError(ValueError):
    """Outputs that do not fit together (a row predicted twice, or missing)."""


def output_columns(n_outputs: int) -> list[str]:
    return [f"{PREFIX}{k}" for k in range(n_outputs)]


@dataclass
class Predictions:
    """Outputs for rows of a competition file: `outputs[i]` belongs to row `rows[i]`."""
    rows: np.ndarray
    outputs: np.ndarray

    def __post_init__(self):
        self.rows = np.asarray(self.rows)
        self.outputs = np.asarray(self.outputs, dtype=np.float64).reshape(len(self.rows), -1)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "Predictions":
        columns = [c for c in frame.columns if c.startswith(PREFIX)]
        return cls(frame[ROW].to_numpy(), frame[columns].to_numpy(dtype=np.float64))

    @classmethod
    def read(cls, path: str | Path) -> "Predictions":
        return cls.from_frame(pd.read_csv(path))

    def to_frame(self, **extra_columns) -> pd.DataFrame:
        frame = pd.DataFrame(self.outputs, columns=output_columns(self.outputs.shape[1]))
        frame.insert(0, ROW, self.rows)
        for name, values in extra_columns.items():
            frame[name] = values
        return frame

    def write(self, path: str | Path, **extra_columns) -> None:
        write_csv(path, self.to_frame(**extra_columns))

    def in_row_order(self) -> "Predictions":
        """The same outputs with the rows in file order (shared encoding yields them unit by unit)."""
        order = np.argsort(self.rows, kind="stable")
        return Predictions(self.rows[order], self.outputs[order])

    def aligned(self, rows) -> np.ndarray:
        """The outputs in the order of `rows`, all of which must be here."""
        rows = np.asarray(rows)
        position = pd.Series(np.arange(len(self.rows)), index=self.rows)
        missing = ~np.isin(rows, self.rows)
        if missing.any():
            raise OutputsError(f"{int(missing.sum())} row(s) have no prediction (first: row {int(rows[missing][0])})")
        return self.outputs[position.loc[rows].to_numpy()]


def read_in_file_order(path: str | Path, n_rows: int) -> np.ndarray:
    """The outputs of rows 0 .. n_rows - 1 of a file, in that order (every one must be there)."""
    return Predictions.read(path).aligned(np.arange(n_rows))


def out_of_fold(held_out: list[Predictions]) -> Predictions:
    """The folds' held-out predictions as one; a row held out by two folds is an error."""
    rows = np.concatenate([p.rows for p in held_out])
    unique, counts = np.unique(rows, return_counts=True)
    if (counts > 1).any():
        raise OutputsError(f"row {int(unique[counts > 1][0])} is held out by more than one fold")
    return Predictions(rows, np.concatenate([p.outputs for p in held_out]))


def mean(predictions: list[Predictions]) -> Predictions:
    """Average outputs over predictions of the same rows (folds on test, or seeds)."""
    rows = predictions[0].rows
    return Predictions(rows, np.mean([p.aligned(rows) for p in predictions], axis=0))
