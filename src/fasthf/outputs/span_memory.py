"""Memory of spans: a test text found verbatim in the training file (with the same pair: what its span is asked
for, a label, a feature or a question) takes the spans the training file gives it.

What is remembered, per distinct training text and pair, is the spans of each of its training rows. A remembered
test row's units take, per tag, the share of those rows that tag the unit so (a text labelled once: exactly its
spans; labelled differently by several rows: what most of them say, decoded at the task's threshold). Only test
outputs are touched, after the ensemble and its threshold, before decoding.
"""
from __future__ import annotations

import json
import numpy as np
import pandas as pd

from fasthf.encoding.span_tokens import token_tags
from fasthf.inputs.span_labels import Span
from fasthf.outputs.memory import memory_counts
from fasthf.outputs.token_table import TokenOutputs, decoded
from fasthf.tasks.spans import Spans

SPANS = "spans"  # the remembered table's column: a JSON list per key, each row's spans as [start, end, type]


def remembered_spans(train_keys: pd.Series, truth: np.ndarray) -> pd.DataFrame:
    """Per distinct training key (text and pair, matched exactly): its training rows' spans, as JSON."""
    rows = pd.Series([[[s.start, s.end, s.type] for s in spans] for _, spans in truth], index=train_keys.to_numpy())
    table = rows.groupby(level=0, sort=False).agg(lambda labelled: json.dumps(list(labelled))).to_frame(SPANS)
    table.index.name = "key"
    return table


def remembered_outputs(task: Spans, labelled: list, units: np.ndarray) -> np.ndarray:
    """(units, tags): per unit, the share of the training rows `labelled` (each a list of [start, end, type])
    whose spans give it each tag."""
    tags = [token_tags([Span(*span) for span in spans], units, task.types) for spans in labelled]
    return np.mean([np.eye(task.n_outputs)[row] for row in tags], axis=0)


def apply_span_memory(task: Spans, test_keys: pd.Series, test_texts, units: TokenOutputs, table: pd.DataFrame | None,
                      enabled: bool = True) -> tuple[TokenOutputs, np.ndarray, dict]:
    """The test unit table with each remembered text's units set from the training file's spans (`table`:
    `remembered_spans`); which rows memory set, and the counts (as `fasthf.outputs.memory.apply_memory`'s)."""
    outputs = units.outputs.copy()
    from_memory = np.zeros(len(test_keys), dtype=bool)
    if enabled:
        from_memory = test_keys.isin(table.index).to_numpy()
        for row in np.flatnonzero(from_memory):
            at = units.rows == row
            outputs[at] = remembered_outputs(task, json.loads(table.loc[test_keys.iloc[row], SPANS]), units.ranges[at])
    final = TokenOutputs(units.rows, units.ranges, outputs)
    rows = np.flatnonzero(from_memory)
    changed = sum(before != after for before, after in zip(decoded(task, test_texts, units, rows),
                                                           decoded(task, test_texts, final, rows)))
    return final, from_memory, memory_counts(enabled, from_memory, changed, "spans")
