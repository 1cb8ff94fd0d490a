"""Memory: a test text found verbatim in the training file takes what the training file says of it.

The competition's own data, used as it is: for each distinct training text (and pair), the mean of its
targets in the form of the model's outputs: the label distribution for classes (one label if the text
has one; its argmax is the most frequent label, the lowest on a tie), the share of positives per
label for multilabel, the mean value for regression. Only test predictions are touched. Where folds
are grouped and a text occurs in one group only, a held-out row's text never occurs on its chain's
training side, so memory's gain cannot be measured out of fold, and out-of-fold figures are of the
models alone.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from fasthf.tasks import Task

log = logging.getLogger(__name__)


def remembered(train_keys: pd.Series, train_targets: np.ndarray, task: Task) -> pd.DataFrame:
    """Per distinct training text: the mean of its targets as outputs (matched exactly: case, spaces and
    punctuation count)."""
    outputs = pd.DataFrame(task.as_outputs(train_targets), index=train_keys.to_numpy())
    return outputs.groupby(level=0, sort=False).mean()


def apply_memory(test_keys: pd.Series, outputs: np.ndarray, train_keys: pd.Series, train_targets: np.ndarray,
                 task: Task, enabled: bool = True) -> tuple[np.ndarray, np.ndarray, dict]:
    """Final test outputs: what the training file says where the text is remembered, the model's elsewhere.

    Returns the outputs (rows in test order), which rows memory set, and the counts.
    """
    return memory_from_table(test_keys, outputs, remembered(train_keys, train_targets, task), task, enabled)


def memory_from_table(test_keys: pd.Series, outputs: np.ndarray, table: pd.DataFrame | None, task: Task,
                      enabled: bool = True) -> tuple[np.ndarray, np.ndarray, dict]:
    """`apply_memory` from a remembered table (`remembered`: index the text key, a column per output; None with
    memory off)."""
    final = np.array(outputs, dtype=np.float64, copy=True)
    from_memory = np.zeros(len(test_keys), dtype=bool)
    if enabled:
        from_memory = test_keys.isin(table.index).to_numpy()
        final[from_memory] = table.loc[test_keys[from_memory]].to_numpy(dtype=np.float64)
    changed = (task.decode(final) != task.decode(outputs)).reshape(len(final), -1).any(axis=1)
    return final, from_memory, memory_counts(enabled, from_memory, int(changed.sum()), "answer")


def memory_counts(enabled: bool, from_memory: np.ndarray, changed: int, what: str) -> dict:
    """What memory did (the memory job's `memory.csv`), said in the log too: `what` the model gives (an answer,
    spans)."""
    counts = {"enabled": bool(enabled), "test_texts": int(len(from_memory)), "set_from_memory": int(from_memory.sum()),
              "changed_answer": int(changed)}
    if enabled:
        log.info("memory: %d of %d test texts occur verbatim in the training file and take what it says; %d of "
                 "those change the model's %s", counts["set_from_memory"], counts["test_texts"], changed, what)
    else:
        log.info("memory off: every test %s is the model's", what)
    return counts
