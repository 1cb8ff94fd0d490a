"""Checking target and answer values: each value a number of the kind a task takes, refused with a
message naming the file, the line and the column."""
from __future__ import annotations

import numpy as np
import pandas as pd

from fasthf.inputs.data import line_of


class TargetError(ValueError):
    """A target value the task cannot take; the message names the column and the row."""


def first_bad_line(frame: pd.DataFrame, bad: np.ndarray) -> int:
    """The file's line of the first row where `bad` holds."""
    return line_of(frame, int(np.flatnonzero(bad)[0]))


def refuse_rows(frame: pd.DataFrame, column: str, bad: np.ndarray, path: str, what: str, why: str = "") -> None:
    """Refuse the column's values where `bad` holds, naming the first one's line and counting them all."""
    if bad.any():
        raise TargetError(f"{path}: line {first_bad_line(frame, bad)}: column '{column}': "
                          f"{frame[column].iloc[int(np.flatnonzero(bad)[0])]!r} is not {what} ({int(bad.sum())} such "
                          f"rows){why}")


def numbers_of(frame: pd.DataFrame, column: str, path: str, what: str) -> np.ndarray:
    values = frame[column]
    numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers)
    if bad.any():
        raise TargetError(f"{path}: line {first_bad_line(frame, bad)}: column '{column}': "
                          f"{values.iloc[int(np.flatnonzero(bad)[0])]!r} is not {what} ({int(bad.sum())} such rows)")
    return numbers


def numbers_problem(column: str, values: pd.Series, allowed, what: str) -> str | None:
    """A submission column's first value that is not a number `allowed` takes, as one line."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(numbers) | ~allowed(np.nan_to_num(numbers, nan=np.inf))
    if not bad.any():
        return None
    row = int(np.flatnonzero(bad)[0])
    return f"{int(bad.sum())} {column} values are not {what}, first at row {row + 2}: {values.iloc[row]!r}"
