"""How a task's outputs go from job to job: a row of outputs per text (`RowOutputs`: every task but spans), or a
line per token of the text, then per unit (`UnitOutputs`: the span tasks, `fasthf.outputs.token_table`).

Each form reads the chains' tables, writes the ensemble's files, remembers the training file and applies that
memory, blends an inference package's chains, and gives the answers the submission writes. The pipeline's
scripts and the inference package ask `outputs_form(task)` for the form and never branch on the task.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from fasthf.outputs.decisions import ClassOffsets
from fasthf.outputs.ensemble import blend, row_ensemble_files
from fasthf.outputs.memory import memory_from_table, remembered
from fasthf.outputs.span_ensemble import answers, blended_units, span_ensemble_files
from fasthf.outputs.span_memory import apply_span_memory, remembered_spans
from fasthf.outputs.table import Predictions, output_columns, read_in_file_order
from fasthf.outputs.token_table import TokenOutputs


class RowOutputs:
    """One row of outputs per text (`fasthf.outputs.table`): probabilities or values."""
    table = Predictions
    ensemble_files = staticmethod(row_ensemble_files)

    @staticmethod
    def remembered(competition, task, train: pd.DataFrame) -> pd.DataFrame:
        """Per distinct training text (index `key`): the mean of its targets as outputs (`out_k`)."""
        table = remembered(competition.memory_keys(train), task.encode(train), task)
        table.columns = output_columns(table.shape[1])
        table.index.name = "key"
        return table

    @staticmethod
    def with_memory(competition, task, test: pd.DataFrame, outputs: np.ndarray, table: pd.DataFrame | None,
                    enabled: bool = True) -> tuple[np.ndarray, np.ndarray, dict]:
        return memory_from_table(competition.memory_keys(test), outputs, table, task, enabled)

    @staticmethod
    def write(path, outputs: np.ndarray, from_memory: np.ndarray) -> None:
        Predictions(range(len(outputs)), outputs).write(path, from_memory=from_memory)

    @staticmethod
    def read(path, test: pd.DataFrame) -> np.ndarray:
        return read_in_file_order(path, len(test))

    @staticmethod
    def answers(task, test: pd.DataFrame, outputs: np.ndarray) -> np.ndarray:
        return outputs  # the submission writes each row's outputs in its form

    @staticmethod
    def blended(info: dict, task, test: pd.DataFrame, outputs: dict[tuple[str, int], Sequence[Predictions]]) -> np.ndarray:
        """An inference package's chains (`outputs`: {(member, seed): [table per fold]}): folds averaged, then
        seeds, then the members blended with the pipeline's weights; the decision rule where it was used."""
        rows = np.arange(len(test))
        per_member = [np.mean([np.mean([t.aligned(rows) for t in folds], axis=0)
                               for (m, _), folds in outputs.items() if m == name], axis=0) for name in info["members"]]
        final = blend(per_member, np.array([member["weight"] for member in info["members"].values()]))
        decision = info.get("decision")
        if decision:
            final = ClassOffsets(np.array([decision["fitted"][name] for name in task.output_names])).apply(final)
        return final


class UnitOutputs:
    """A line per unit of the text (a word, a given token, a character) per tag: a span task's outputs, decoded into
    spans only when the answers are written."""
    table = TokenOutputs
    ensemble_files = staticmethod(span_ensemble_files)

    @staticmethod
    def remembered(competition, task, train: pd.DataFrame) -> pd.DataFrame:
        """Per distinct training text and pair (index `key`): its training rows' spans (`spans`, JSON)."""
        return remembered_spans(competition.memory_keys(train), task.encode(train))

    @staticmethod
    def with_memory(competition, task, test: pd.DataFrame, outputs: TokenOutputs, table: pd.DataFrame | None,
                    enabled: bool = True) -> tuple[TokenOutputs, np.ndarray, dict]:
        return apply_span_memory(task, competition.memory_keys(test), task.texts(test), outputs, table, enabled)

    @staticmethod
    def write(path, outputs: TokenOutputs, from_memory: np.ndarray) -> None:
        outputs.write(path)  # which texts memory set: the counts file says

    @staticmethod
    def read(path, test: pd.DataFrame) -> TokenOutputs:
        return TokenOutputs.read(path)

    @staticmethod
    def answers(task, test: pd.DataFrame, outputs: TokenOutputs) -> np.ndarray:
        return answers(task, task.texts(test), outputs)

    @staticmethod
    def blended(info: dict, task, test: pd.DataFrame, outputs: dict[tuple[str, int], Sequence[TokenOutputs]]
                ) -> TokenOutputs:
        """An inference package's chains blended per unit as the ensemble blends them, the threshold where used."""
        return blended_units(task, task.texts(test), outputs,
                             {name: member["weight"] for name, member in info["members"].items()}, info.get("decision"))


def outputs_form(task) -> type[RowOutputs] | type[UnitOutputs]:
    """The form `task`'s outputs take between jobs: per token where the task reads its texts token by token."""
    return UnitOutputs if task.per_token else RowOutputs
