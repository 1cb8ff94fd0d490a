"""Long documents read in overlapping windows (config `window_stride`), and each document's outputs pooled.

Cutting. A text (with its pair, if any) longer than `max_length` tokens is cut by the fast tokenizer itself
(`return_overflowing_tokens=True, stride=window_stride`) into windows of at most `max_length` tokens, each
with the tokenizer's special tokens; consecutive windows share `window_stride` tokens (HF's `stride`), and
every token of the text is in at least one window. With a text pair the windows run over the first text
(the competition's text columns) while the pair is repeated whole in every window (`truncation="only_first"`);
a text whose pair leaves no more than `window_stride` tokens a window for it is truncated instead (the longer
first, as without windows) and counted as truncated. Texts that fit are encoded exactly as without windows.

In the cached tensors (`fasthf.encoding.tensors.TokenizedSplit`) a window is one sequence carrying its document's row
number in `rows` (and its label): a row of a long document appears once per window, its windows one after
another. So the folds, which pick sequences by row number, give a fold all the windows of its rows, and
training reads every window as an example with its document's label.

Pooling. The outputs of a row are the mean of its windows' activated outputs (probabilities for classes
and labels, values for regression); a row read whole keeps its own outputs unchanged. `pool_windows` does
it wherever outputs are handed on (a stage's held-out outputs, test outputs, a package's and a bundle's
predictions), so every outputs file still has one row per file row, in file order.

`encode_windows` returns the windows with `overflow_to_sample_mapping` (and, asked, the offset mapping),
so a task that needs characters back (span extraction) can reuse the cutting.
"""
from __future__ import annotations

import logging

import numpy as np
import torch

log = logging.getLogger(__name__)


class WindowError(ValueError):
    """A `window_stride` that cannot cut windows (too large, or a tokenizer without overflow)."""


def check_window_stride(tokenizer, max_length: int, stride: int, pair: bool = False) -> None:
    """Refuse, before tokenizing, a stride the tokenizer cannot cut windows with: one not smaller than the room
    a window leaves for text (`max_length`, the usable one, less the special tokens of each window)."""
    if not getattr(tokenizer, "is_fast", False):
        raise WindowError(f"window_stride needs a fast tokenizer (it cuts windows with overflowing tokens); "
                          f"{type(tokenizer).__name__} is not one: set window_stride: null for this model")
    if stride < 0:
        raise WindowError(f"window_stride={stride} must be 0 or more (the tokens consecutive windows share)")
    special = tokenizer.num_special_tokens_to_add(pair=pair)
    if stride >= max_length - special:
        raise WindowError(f"window_stride={stride} must be smaller than max_length={max_length} less the {special} "
                          f"special tokens of each window (at most {max_length - special - 1}): consecutive "
                          f"windows would share every token")


def encode_windows(tokenizer, texts: list[str], max_length: int, stride: int, pairs: list[str] | None = None,
                   token_types: bool = False, offsets: bool = False) -> dict:
    """Every text cut into windows of at most `max_length` tokens sharing `stride` tokens, in one batched call.

    Returns `input_ids` (one list per window, texts in order, a text's windows one after another), `sample`
    (the index in `texts` of each window's text: the tokenizer's `overflow_to_sample_mapping`),
    `token_type_ids` (where asked, else None) and, with `offsets`, `offset_mapping` (each token's characters
    in its own text; (0, 0) for special tokens) and `sequence_ids` (0 for a token of the text, 1 of its pair,
    None for a special token). With `pairs` the windows run over the texts and each pair
    is repeated in every window of its text (`truncation="only_first"`): a pair must leave more than `stride`
    tokens a window (`pair_room` says which do)."""
    encoded = tokenizer(list(texts), None if pairs is None else list(pairs),
                        truncation="only_first" if pairs is not None else True, max_length=max_length, stride=stride,
                        return_overflowing_tokens=True, return_offsets_mapping=offsets, return_attention_mask=False,
                        return_token_type_ids=token_types, verbose=False)
    return {"input_ids": encoded["input_ids"], "sample": list(encoded["overflow_to_sample_mapping"]),
            "token_type_ids": encoded["token_type_ids"] if token_types else None,
            **({"offset_mapping": encoded["offset_mapping"],
                "sequence_ids": [encoded.sequence_ids(w) for w in range(len(encoded["input_ids"]))]} if offsets else {})}


def pair_room(tokenizer, pairs: list[str], max_length: int) -> np.ndarray:
    """Per pair, the tokens a window of `max_length` leaves for its text once the pair and the special tokens
    are in (negative where the pair alone is too long)."""
    lengths = [len(ids) for ids in tokenizer(list(pairs), add_special_tokens=False, return_attention_mask=False,
                                             verbose=False)["input_ids"]]
    return max_length - tokenizer.num_special_tokens_to_add(pair=True) - np.asarray(lengths, dtype=np.int64)


def window_counts(rows) -> tuple[int, int]:
    """(texts read in more than one window, the windows of those texts), from a split's `rows`."""
    rows = np.asarray(rows)
    if not len(rows):
        return 0, 0
    counts = np.bincount(rows - rows.min())
    return int((counts > 1).sum()), int(counts[counts > 1].sum())


def pool_windows(rows, outputs) -> tuple[np.ndarray, np.ndarray]:
    """(distinct row numbers ascending, their outputs): each row's outputs the mean of its windows' outputs
    (`outputs[k]` for `rows[k]`, activated), in float64. A row with one sequence keeps its outputs exactly."""
    rows = np.asarray(rows.numpy() if isinstance(rows, torch.Tensor) else rows)
    outputs = np.asarray(outputs.numpy() if isinstance(outputs, torch.Tensor) else outputs, dtype=np.float64)
    outputs = outputs.reshape(len(rows), -1)
    unique, inverse, counts = np.unique(rows, return_inverse=True, return_counts=True)
    if len(unique) == len(rows):
        return unique, outputs[np.argsort(rows, kind="stable")]
    sums = np.zeros((len(unique), outputs.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, outputs)
    return unique, sums / counts[:, None]
