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
    final = np.array(outputs, dtype=np.float64, copy=True)
    from_memory = np.zeros(len(test_keys), dtype=bool)
    if enabled:
        table = remembered(train_keys, train_targets, task)
        from_memory = test_keys.isin(table.index).to_numpy()
        final[from_memory] = table.loc[test_keys[from_memory]].to_numpy()
    changed = (task.decode(final) != task.decode(outputs)).reshape(len(final), -1).any(axis=1)
    counts = {"enabled": bool(enabled), "test_texts": int(len(test_keys)), "set_from_memory": int(from_memory.sum()),
              "changed_answer": int(changed.sum())}
    if enabled:
        log.info("memory: %d of %d test texts occur verbatim in the training file and take what it says; %d of "
                 "those change the model's answer", counts["set_from_memory"], counts["test_texts"],
                 counts["changed_answer"])
    else:
        log.info("memory off: every test answer is the model's")
    return final, from_memory, counts
