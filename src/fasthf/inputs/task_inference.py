"""Which task a competition is, read from its training file: `infer_task` (the kind, and why) and
`fit_task` (the task with its classes). The download step calls both once; everything later reads the
task that competition.json holds."""
from __future__ import annotations

import pandas as pd

from fasthf.inputs.targets import TargetError
from fasthf.outputs.metrics import METRICS
from fasthf.tasks import TASKS, Classification, Spans, Tags, Task


def infer_task(frame: pd.DataFrame, targets: list[str], labels: dict | None = None,
               answer_columns: list[str] | None = None, metric: str | None = None) -> tuple[str, str]:
    """(kind, why) from the target column(s), the sample submission's answer columns and the metric."""
    scores_labels_only = metric in METRICS and "regression" not in METRICS[metric].tasks
    if metric in METRICS and METRICS[metric].tasks in (("soft",), ("tags",)):
        return METRICS[metric].tasks[0], f"the metric {metric} scores {METRICS[metric].tasks[0]} tasks only"
    if labels:
        kind = "binary" if len(labels) == 2 else "multiclass"
        return kind, f"the description names {len(labels)} labels"
    numbers = {c: pd.to_numeric(frame[c].astype(str).str.strip(), errors="coerce") for c in targets}
    numeric = {c: bool(v.notna().all()) for c, v in numbers.items()}
    if len(targets) > 1:
        if all(numeric.values()) and all(set(v.unique()) <= {0, 1} for v in numbers.values()):
            if (pd.DataFrame(numbers).sum(axis=1) == 1).all():
                return "multiclass", f"{len(targets)} target columns of 0 and 1 with one 1 per row: one-hot classes"
            return "multilabel", f"{len(targets)} target columns, each holding only 0 and 1"
        if scores_labels_only:  # a stray value is then a bad row, not another task
            return "multilabel", f"{len(targets)} target columns and the metric {metric} scores labels"
        if all(numeric.values()):
            return "regression", f"{len(targets)} numeric target columns, not all 0/1"
        raise ValueError(f"competition.target: the columns {[c for c, n in numeric.items() if not n]} hold text; "
                         f"several targets must be 0/1 (multilabel) or numbers (regression)")
    column = targets[0]
    values = numbers[column]
    n_distinct = frame[column].nunique()
    per_class = answer_columns is not None and len(answer_columns) > 1 and n_distinct == len(answer_columns)
    if not numeric[column]:
        kind = "binary" if n_distinct == 2 else "multiclass"
        return kind, f"'{column}' holds text: {n_distinct} distinct labels"
    whole = bool((values == values.round()).all())
    if whole and (n_distinct <= 2):
        return "binary", f"'{column}' holds {n_distinct} distinct whole numbers"
    if whole and (per_class or n_distinct <= 20):
        why = "the sample submission has a column per class" if per_class else f"{n_distinct} distinct whole numbers"
        return "multiclass", f"'{column}': {why}"
    return "regression", f"'{column}' holds {'fractional numbers' if not whole else f'{n_distinct} distinct numbers'}"


def fit_task(kind: str, frame: pd.DataFrame, targets: list[str], labels: dict | None = None,
             tag_separator: str = " ", text: str = "text", spans=None) -> Task:
    """The task of `kind`, with its classes read from the training file unless `labels` names them (the
    columns themselves for one-hot targets, the tags found for a tags task); a span task reads its spans
    from the `text` column as `spans` (`fasthf.tasks.spans.SpanSettings`) says."""
    cls = TASKS[kind]
    if cls is Spans:
        return Spans.fitted(targets, frame, text, spans)
    if cls is Tags:
        if len(targets) != 1:
            raise ValueError(f"competition.target: a tags task reads one column of tags, not {targets}")
        return Tags(targets, Tags.vocabulary(frame, targets[0], tag_separator), separator=tag_separator)
    if not issubclass(cls, Classification):
        return cls(targets)
    if len(targets) > 1:  # one-hot columns: the classes are the columns
        if kind == "binary" and len(targets) != 2:
            raise ValueError(f"competition.target: a binary task takes one column or two one-hot ones, not {targets}")
        return cls(targets, list(targets), None)
    if labels:
        classes = list(labels)
        names = [str(name) for name in labels.values()]
    else:
        column = frame[targets[0]].astype(str).str.strip()
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers.notna().all() and (numbers == numbers.round()).all():
            classes = sorted(int(v) for v in numbers.unique())
        else:
            classes = sorted(frame[targets[0]].unique().tolist())
        names = None
    if kind == "binary" and len(classes) != 2:
        raise TargetError(f"column '{targets[0]}' holds {len(classes)} distinct labels {classes[:10]}, but "
                          f"competition.task is binary: fix the file, or set task: multiclass")
    if len(classes) < 2:
        raise TargetError(f"column '{targets[0]}' holds one label only ({classes}); nothing to learn")
    return cls(targets, classes, names)
