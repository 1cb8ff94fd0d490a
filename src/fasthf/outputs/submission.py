"""The submission file, in the form of the competition's sample submission, checked before it is written.

Its columns and row order are the sample's; its answers are labels (as the training file writes them),
or probabilities (one column, or one per class in the sample's order), or values, as the competition's
metric scores them (`Competition.submission_form`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.io import atomic_path
from fasthf.tasks import Task


class SubmissionError(ValueError):
    """A submission Kaggle would reject or score wrongly; the message lists every problem found."""


def make_submission(test_ids, outputs: np.ndarray, sample: pd.DataFrame, competition: Competition,
                    task: Task) -> pd.DataFrame:
    """The submission frame: the sample's ids in its order, its answer columns filled from `outputs`
    (row i belongs to `test_ids[i]`); where texts answer in rows of their own, the test's ids in its order."""
    if task.answers_in_rows:
        return answers_frame(test_ids, outputs, sample, competition, task)
    position = pd.Series(np.arange(len(test_ids)), index=np.asarray(test_ids))
    ids = competition.sample_ids(sample)
    missing = ~ids.isin(position.index)
    if missing.any():
        raise SubmissionError(f"invalid submission:\n  - {int(missing.sum())} {_id_name(competition)}s of the sample "
                              f"submission have no prediction, e.g. {ids[missing].tolist()[:5]}")
    return answers_frame(ids, np.asarray(outputs)[position.loc[ids].to_numpy()], sample, competition, task,
                         sample[list(competition.copy_columns)])


def answers_frame(ids, outputs: np.ndarray, sample: pd.DataFrame, competition: Competition, task: Task,
                  copied: pd.DataFrame | None = None) -> pd.DataFrame:
    """`ids` and their answers (row i from `outputs[i]`) in the sample's columns, as the form says; the
    copied columns (`competition.copy_columns`) from `copied`, row for row."""
    if task.answers_in_rows:
        return task.answer_rows(np.asarray(ids), outputs, competition.sample_id_column)[list(sample.columns)]
    form = competition.submission_form(task)
    values = task.submission_values(np.asarray(outputs), competition.answer_columns(sample), form,
                                    **({"top_k": competition.top_k} if form == "ranked" else {}))
    if competition.copy_columns and (copied is None or len(copied) != len(outputs)):
        raise SubmissionError(f"invalid submission:\n  - the columns {list(competition.copy_columns)} are copied from "
                              f"the sample submission, which does not list these {len(outputs)} test rows")
    columns = {competition.sample_id_column: np.asarray(ids)} if competition.sample_id_column else {}
    columns.update(values)
    for column in competition.copy_columns:
        columns[column] = copied[column].to_numpy()
    return pd.DataFrame(columns)[list(sample.columns)]


def _id_name(competition: Competition) -> str:
    return competition.sample_id_column or "row"


def submission_for_test(test_ids, outputs: np.ndarray, sample: pd.DataFrame, competition: Competition,
                        task: Task) -> pd.DataFrame:
    """A submission for every id of a test file (a code competition's hidden test too): the sample gives
    the columns and their order; rows follow the sample where it lists exactly these ids (the public test),
    else the test file's order (the sample may still be the public one when the hidden test is swapped in)."""
    ids = pd.Series(np.asarray(test_ids))
    if set(competition.sample_ids(sample).astype(str)) == set(ids.astype(str)) and len(sample) == len(ids):
        return make_submission(test_ids, outputs, sample, competition, task)
    return answers_frame(ids, outputs, sample, competition, task)


def form_problems(submission: pd.DataFrame, columns: list[str], competition: Competition, task: Task) -> list[str]:
    """What makes the submission's columns or answers unacceptable, whatever its ids."""
    if list(submission.columns) != list(columns):
        return [f"columns are {list(submission.columns)}, expected {list(columns)}"]
    id_column = competition.sample_id_column
    if task.answers_in_rows:
        return task.row_problems(submission, id_column)
    problems = []
    if id_column and submission[id_column].duplicated().any():
        problems.append(f"{int(submission[id_column].duplicated().sum())} {id_column}s appear twice")
    form = competition.submission_form(task)
    for column in competition.answer_columns(submission):
        problem = task.check_submission_column(column, submission[column], form)
        if problem:
            problems.append(problem)
    return problems


def write_checked(path: str | Path, submission: pd.DataFrame, competition: Competition, task: Task) -> None:
    """Check the form, then write; where no sample lists the ids (a hidden test), the form is what can be checked."""
    problems = form_problems(submission, list(submission.columns), competition, task)
    if problems:
        raise SubmissionError("invalid submission:\n  - " + "\n  - ".join(problems))
    with atomic_path(path) as tmp:
        submission.to_csv(tmp, index=False)


def submission_problems(submission: pd.DataFrame, sample: pd.DataFrame, competition: Competition,
                        task: Task) -> list[str]:
    """Everything that makes `submission` differ in form from `sample` (same columns, same ids in the
    same order, answers the task and form allow); an empty list means it is valid."""
    problems = form_problems(submission, list(sample.columns), competition, task)
    if list(submission.columns) != list(sample.columns) or task.answers_in_rows:
        return problems  # rows of labelled tokens: the sample's rows are examples, not a row per id
    id_column = _id_name(competition)
    if len(submission) != len(sample):
        problems.append(f"{len(submission)} rows, the sample submission has {len(sample)}")
    for column in competition.copy_columns if len(submission) == len(sample) else ():
        differ = submission[column].astype(str).to_numpy() != sample[column].astype(str).to_numpy()
        if differ.any():  # rows matched by position: the copied columns show a row out of place
            problems.append(f"column {column} differs from the sample submission's from row "
                            f"{int(np.flatnonzero(differ)[0]) + 2}; it is copied as the sample has it")
    ids = competition.sample_ids(submission).astype(str)
    expected = competition.sample_ids(sample).astype(str)
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
