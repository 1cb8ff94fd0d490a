"""What `encode: group` (fasthf.encoding.shared) accepts, checked when the workflow is read: a group column, one
text per row, a task read from spans of a group's encoding. Kept apart from the encoding itself so that reading
the workflow does not import torch."""
from __future__ import annotations

from fasthf.tasks import TASKS


class SharedEncodingError(ValueError):
    """`encode: group` asked of a competition or task it does not apply to."""


def check_shared_encoding(competition, task=None) -> None:
    """`encode: group` needs a group column, one text per row, and a task whose rows may be read from spans
    (single-label classification or regression); `task` None checks the description's task where it names one."""
    if getattr(competition, "choices", ()):
        raise SharedEncodingError("encode: group reads each row as a span of its group's one encoding, which a "
                                  "multiple-choice row (competition.choices), read once per option, is not (use "
                                  "encode: row)")
    if not competition.group:
        raise SharedEncodingError("encode: group needs competition.group, the column naming the text each row is a "
                                  "piece of; this competition names none (use encode: row)")
    if competition.text_pair or len(competition.text) > 1:
        raise SharedEncodingError(f"encode: group reads one text column; this competition gives "
                                  f"{[*competition.text, *([competition.text_pair] if competition.text_pair else [])]}"
                                  f" (use encode: row)")
    kind = task.kind if task is not None else competition.task
    if kind in TASKS and not TASKS[kind].reads_spans:
        raise SharedEncodingError(f"encode: group applies to single-label classification and regression, not to "
                                  f"a {kind} task (use encode: row)")


def check_read_alone(encode: str, read_alone: bool) -> None:
    """`read_alone` is a second reading of the rows that shared encoding reads inside their group's text."""
    if read_alone and encode != "group":
        raise SharedEncodingError(f"read_alone: true (in the config or a time_plan allocation) reads alone the rows "
                                  f"that encode: group reads inside their group's text; with encode: {encode} every "
                                  f"row is read alone already (leave read_alone out, or set encode: group)")
