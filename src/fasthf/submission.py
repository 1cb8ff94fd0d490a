"""The submission file, in the form of the competition's sample submission, checked before it is written.

Its columns and row order are the sample's; its answers are labels (as the training file writes them),
or probabilities (one column, or one per class in the sample's order), or values, as the competition's
metric scores them (`Competition.submission_form`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .competition import Competition
from .io import atomic_path
from .tasks import Task


class SubmissionError(ValueError):
    """A submission Kaggle would reject or score wrongly; the message lists every problem found."""


def make_submission(test_ids, outputs: np.ndarray, sample: pd.DataFrame, competition: Competition,
                    task: Task) -> pd.DataFrame:
    """The submission frame: the sample's ids in its order, its answer columns filled from `outputs`
    (row i belongs to `test_ids[i]`)."""
    position = pd.Series(np.arange(len(test_ids)), index=np.asarray(test_ids))
    ids = sample[competition.id]
    missing = ~ids.isin(position.index)
    if missing.any():
        raise SubmissionError(f"invalid submission:\n  - {int(missing.sum())} {competition.id}s of the sample "
                              f"submission have no prediction, e.g. {ids[missing].tolist()[:5]}")
    ordered = np.asarray(outputs)[position.loc[ids].to_numpy()]
    form = competition.submission_form(task)
    values = task.submission_values(ordered, competition.answer_columns(sample), form)
    return pd.DataFrame({competition.id: ids.to_numpy(), **values})[list(sample.columns)]


def submission_problems(submission: pd.DataFrame, sample: pd.DataFrame, competition: Competition,
                        task: Task) -> list[str]:
    """Everything that makes `submission` differ in form from `sample` (same columns, same ids in the
    same order, answers the task and form allow); an empty list means it is valid."""
    problems = []
    id_column = competition.id
    if list(submission.columns) != list(sample.columns):
        problems.append(f"columns are {list(submission.columns)}, expected {list(sample.columns)}")
        return problems
    if len(submission) != len(sample):
        problems.append(f"{len(submission)} rows, the sample submission has {len(sample)}")
    ids = submission[id_column].astype(str)
    expected = sample[id_column].astype(str)
    missing = np.sort(expected[~expected.isin(set(ids))].unique())  # hashed: ids are strings in general
    extra = np.sort(ids[~ids.isin(set(expected))].unique())
    ids, expected = ids.to_numpy(), expected.to_numpy()
    if len(missing):
        problems.append(f"{len(missing)} {id_column}s of the sample submission are missing, e.g. {missing[:5].tolist()}")
    if len(extra):
        problems.append(f"{len(extra)} {id_column}s are not in the sample submission, e.g. {extra[:5].tolist()}")
    if not len(missing) and not len(extra) and len(ids) == len(expected) and (ids != expected).any():
        row = int(np.flatnonzero(ids != expected)[0])
        problems.append(f"{id_column}s are in a different order than the sample submission from row {row + 2} "
                        f"(got {ids[row]}, expected {expected[row]})")
    form = competition.submission_form(task)
    for column in competition.answer_columns(sample):
        problem = task.check_submission_column(column, submission[column], form)
        if problem:
            problems.append(problem)
    return problems


def validate_submission(submission: pd.DataFrame, sample: pd.DataFrame, competition: Competition, task: Task) -> None:
    problems = submission_problems(submission, sample, competition, task)
    if problems:
        raise SubmissionError("invalid submission:\n  - " + "\n  - ".join(problems))


def validate_submission_file(path: str | Path, sample_path: str | Path, competition: Competition,
                             task: Task) -> list[str]:
    """Problems of a submission CSV on disk, as text (the file itself may be unreadable)."""
    sample = competition.read_sample(sample_path)
    try:
        submission = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as error:
        return [f"{path}: cannot be read as CSV: {error}"]
    return submission_problems(submission, sample, competition, task)


def write_submission(path: str | Path, submission: pd.DataFrame, sample: pd.DataFrame, competition: Competition,
                     task: Task) -> None:
    """Validate, then write; an invalid submission is never written."""
    validate_submission(submission, sample, competition, task)
    with atomic_path(path) as tmp:
        submission.to_csv(tmp, index=False)
