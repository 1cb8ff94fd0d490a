"""The submission file, checked against the competition's sampleSubmission.csv before it is written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .data import N_LABELS, SUBMISSION_COLUMNS, read_table
from .io import atomic_path


class SubmissionError(ValueError):
    """A submission Kaggle would reject or score wrongly; the message lists every problem found."""


def submission_problems(submission: pd.DataFrame, sample: pd.DataFrame) -> list[str]:
    """Everything that makes `submission` differ in shape from `sample` (same PhraseIds in the same
    order, integer Sentiment 0-4); an empty list means it is valid."""
    problems = []
    if list(submission.columns) != SUBMISSION_COLUMNS:
        problems.append(f"columns are {list(submission.columns)}, expected {SUBMISSION_COLUMNS}")
        return problems
    if len(submission) != len(sample):
        problems.append(f"{len(submission)} rows, sampleSubmission has {len(sample)}")
    ids, expected = submission.PhraseId.to_numpy(), sample.PhraseId.to_numpy()
    missing = np.setdiff1d(expected, ids)
    extra = np.setdiff1d(ids, expected)
    if len(missing):
        problems.append(f"{len(missing)} PhraseIds of sampleSubmission are missing, e.g. {missing[:5].tolist()}")
    if len(extra):
        problems.append(f"{len(extra)} PhraseIds are not in sampleSubmission, e.g. {extra[:5].tolist()}")
    if not len(missing) and not len(extra) and len(ids) == len(expected) and (ids != expected).any():
        row = int(np.flatnonzero(ids != expected)[0])
        problems.append(f"PhraseIds are in a different order than sampleSubmission from row {row + 2} "
                        f"(got {ids[row]}, expected {expected[row]})")
    labels = pd.to_numeric(submission.Sentiment, errors="coerce")
    bad = labels.isna() | (labels != labels.round()) | ~labels.between(0, N_LABELS - 1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        problems.append(f"{int(bad.sum())} Sentiment values are not integers 0-{N_LABELS - 1}, "
                        f"first at row {row + 2}: {submission.Sentiment.iloc[row]!r}")
    return problems


def validate_submission(submission: pd.DataFrame, sample: pd.DataFrame) -> None:
    problems = submission_problems(submission, sample)
    if problems:
        raise SubmissionError("invalid submission:\n  - " + "\n  - ".join(problems))


def validate_submission_file(path: str | Path, sample_path: str | Path) -> list[str]:
    """Problems of a submission CSV on disk, as text (the file itself may be unreadable)."""
    sample = read_table(sample_path, SUBMISSION_COLUMNS, sep=",")
    try:
        submission = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as error:
        return [f"{path}: cannot be read as CSV: {error}"]
    if list(submission.columns) == SUBMISSION_COLUMNS:
        ids = pd.to_numeric(submission.PhraseId, errors="coerce")
        if ids.isna().any():
            row = int(np.flatnonzero(ids.isna().to_numpy())[0])
            return [f"row {row + 2}: PhraseId {submission.PhraseId.iloc[row]!r} is not an integer"]
        submission["PhraseId"] = ids.astype("int64")
    return submission_problems(submission, sample)


def make_submission(phrase_ids, labels) -> pd.DataFrame:
    return pd.DataFrame({"PhraseId": np.asarray(phrase_ids, dtype=np.int64),
                         "Sentiment": np.asarray(labels, dtype=np.int64)})


def write_submission(path: str | Path, submission: pd.DataFrame, sample: pd.DataFrame) -> None:
    """Validate, then write; an invalid submission is never written."""
    validate_submission(submission, sample)
    with atomic_path(path) as tmp:
        submission.to_csv(tmp, index=False)

