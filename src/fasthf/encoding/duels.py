"""Duels: a row compares two texts (two chatbots' responses to one prompt), and swapping the two swaps the
answer. The competition says which columns and which answers (`competition.duel`); `duel_swap: true` reads
every row in both orders, for training (augmentation: each training row twice, its label swapped with its
texts) and for prediction (test-time averaging: a row's outputs are the mean of its two readings).

    competition:
      duel: {swap: [response_a, response_b], answers: [winner_model_a, winner_model_b]}   # a tie stays a tie
    duel_swap: true

A swapped reading is the row's texts with the two columns' values exchanged (each keeps its place and its
column name, so the model reads "the first response" and "the second" as before); its label is the row's
with the two answers exchanged. It is stored like a long text's windows (`fasthf.encoding.windows`): one more sequence
with its row's number, flagged in `TokenizedSplit.swapped`, so the folds keep both readings on one side.
Pooling first puts a swapped reading's outputs back in its row's order (the two answers' outputs exchanged,
`unswapped`), then averages per row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from fasthf.encoding.tensors import TokenizedSplit


class DuelError(ValueError):
    """A duel the description or the task cannot swap."""


def swap_permutation(competition, task) -> tuple[int, ...]:
    """The outputs of a swapped reading in the row's order: output k of the row is output perm[k] of the
    swapped reading (the two answers exchanged, every other output in place)."""
    duel = competition.duel
    if duel is None:
        raise DuelError("duel_swap: true needs competition.duel (the two columns to swap and the two answers "
                        "that trade places)")
    if task.kind not in ("binary", "multiclass"):
        raise DuelError(f"duel_swap: true swaps the answers of a single-label task; this one is {task.kind}")
    names = [str(name) for name in task.output_names]
    unknown = [str(a) for a in duel["answers"] if str(a) not in names]
    if unknown:
        raise DuelError(f"competition.duel.answers: {unknown} are not among the task's classes {names}")
    first, second = (names.index(str(a)) for a in duel["answers"])
    permutation = list(range(len(names)))
    permutation[first], permutation[second] = second, first
    return tuple(permutation)


def swapped_frame(frame: pd.DataFrame, competition) -> pd.DataFrame:
    """The rows with the two duel columns' values exchanged."""
    a, b = competition.duel["swap"]
    swapped = frame.copy()
    swapped[a], swapped[b] = frame[b].to_numpy(), frame[a].to_numpy()
    return swapped


def with_swapped(split: TokenizedSplit, swapped: TokenizedSplit, permutation: tuple[int, ...]) -> TokenizedSplit:
    """Both readings in one split: `split`'s sequences, then `swapped`'s, flagged."""
    parts = (split, swapped)
    join = lambda name: None if getattr(split, name) is None else torch.cat([getattr(p, name) for p in parts])  # noqa: E731
    offsets = torch.cat([split.offsets, swapped.offsets[1:] + split.offsets[-1]])
    flags = torch.cat([torch.zeros(len(split), dtype=torch.bool), torch.ones(len(swapped), dtype=torch.bool)])
    return TokenizedSplit(join("input_ids"), offsets, join("rows"), split.padding, join("labels"),
                          join("token_type_ids"), flags, tuple(permutation))


def swapped_labels(labels: np.ndarray, permutation: tuple[int, ...]) -> np.ndarray:
    """A row's class index once its two texts are swapped."""
    return np.asarray(permutation)[np.asarray(labels, dtype=np.int64)]


def unswapped(split, outputs: torch.Tensor) -> torch.Tensor:
    """`outputs` (one row per sequence of `split`) with each swapped reading's outputs put back in its row's
    order; splits without swapped readings (grouped, or `duel_swap` off) are returned as they are."""
    flags = getattr(split, "swapped", None)
    if flags is None or not bool(flags.any()):
        return outputs
    outputs = outputs.clone()
    outputs[flags] = outputs[flags][:, list(split.swap_outputs)]
    return outputs
