"""Token ids cached on disk: each split tokenized once, stored ragged (no padding) in safetensors.

Each batch is later padded only to its own longest item, on the side the tokenizer was pretrained with.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from fasthf.encoding.span_tokens import IGNORE
from fasthf.io import atomic_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Padding:
    """How a tokenizer pads: its pad ids and side (XLNet pads on the left)."""
    token_id: int
    token_type_id: int = 0
    side: str = "right"

    @classmethod
    def from_metadata(cls, metadata: dict) -> "Padding":
        """The padding a tensors file records (`TokenizedSplit.save`, `GroupedSplit.save`)."""
        return cls(int(metadata["pad_token_id"]), int(metadata["pad_token_type_id"]), metadata["padding_side"])

    @classmethod
    def of(cls, tokenizer) -> "Padding":
        if tokenizer.pad_token_id is None:
            raise ValueError(f"{type(tokenizer).__name__} has no pad token; set tokenizer.pad_token first")
        return cls(int(tokenizer.pad_token_id), int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
                   tokenizer.padding_side)


@dataclass
class TokenizedSplit:
    """Token ids of many texts stored end to end (`input_ids[offsets[i]:offsets[i+1]]` is text i).

    `rows`: each text's row number in its competition file; `labels`: the task's encoded targets
    (class indices, or a float row per text for multilabel and regression). A span task has a label per
    token instead: `tags` (one per token, end to end like `input_ids`; `IGNORE` for a token of no
    character) and `char_ranges` (each token's characters in its row's text, (-1, -1) for none), made by
    `fasthf.encoding.span_split`. `swapped`: where a duel's
    rows are read in both orders too (`fasthf.encoding.duels`), which texts are a row read swapped; `swap_outputs`
    then puts a swapped text's outputs back in its row's order.
    """
    input_ids: torch.Tensor
    offsets: torch.Tensor
    rows: torch.Tensor
    padding: Padding
    labels: torch.Tensor | None = None
    token_type_ids: torch.Tensor | None = None
    swapped: torch.Tensor | None = None
    swap_outputs: tuple[int, ...] | None = None
    tags: torch.Tensor | None = None
    char_ranges: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.input_ids[self.offsets[i]:self.offsets[i + 1]]

    @property
    def lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    def longest_first(self) -> torch.Tensor:
        """Row numbers by length, longest first, ties in row order: the order texts are batched in."""
        return torch.argsort(self.lengths, descending=True, stable=True)

    @property
    def max_token_id(self) -> int:
        return int(self.input_ids.max()) if len(self.input_ids) else -1

    @property
    def head(self) -> str:
        """The model head that reads it (`fasthf.models.model_source.HEADS`): per token where it has tags."""
        return "sequence" if self.tags is None else "token"

    @property
    def n_inputs(self) -> int:
        """How many leading batch tensors are model inputs (the rest is the label)."""
        return 2 if self.token_type_ids is None else 3

    def positions(self, idxs) -> torch.Tensor:
        """Where the outputs of the texts `idxs` go: one row each (a `GroupedSplit` reads several a unit)."""
        return torch.as_tensor(np.asarray(idxs, dtype=np.int64))

    def subset(self, rows) -> "TokenizedSplit":
        """The texts at row numbers `rows`, in that order."""
        rows = torch.as_tensor(np.asarray(rows, dtype=np.int64))
        lengths = self.lengths[rows]
        offsets = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(lengths, 0)])
        # token k of the subset comes from source position k + (where its text starts there - here)
        shift = torch.repeat_interleave(self.offsets[rows] - offsets[:-1], lengths)
        tokens = torch.arange(int(offsets[-1])) + shift
        pick = lambda t: None if t is None else t[tokens]  # noqa: E731
        return TokenizedSplit(self.input_ids[tokens], offsets, self.rows[rows], self.padding,
                              None if self.labels is None else self.labels[rows], pick(self.token_type_ids),
                              None if self.swapped is None else self.swapped[rows], self.swap_outputs,
                              pick(self.tags), pick(self.char_ranges))

    def collate(self, idxs) -> tuple[torch.Tensor, ...]:
        """(input_ids, attention_mask[, token_type_ids][, labels or tags]) for the texts `idxs` (tags padded
        with `IGNORE`).

        The mask comes from each text's length, never from comparing ids with the pad id: a real
        token may share the pad id.
        """
        idxs = torch.as_tensor(np.asarray(idxs, dtype=np.int64))
        lengths = self.lengths[idxs]
        width = int(lengths.max()) if len(idxs) else 0
        column = torch.arange(width)
        lead = (width - lengths)[:, None] if self.padding.side == "left" else torch.zeros_like(lengths)[:, None]
        mask = (column >= lead) & (column < lead + lengths[:, None])
        source = (self.offsets[idxs][:, None] + column - lead).clamp(0, max(len(self.input_ids) - 1, 0))
        batch = [torch.where(mask, self.input_ids[source].long(), self.padding.token_id), mask.long()]
        if self.token_type_ids is not None:
            batch.append(torch.where(mask, self.token_type_ids[source].long(), self.padding.token_type_id))
        if self.labels is not None:
            batch.append(self.labels[idxs])
        if self.tags is not None:
            batch.append(torch.where(mask, self.tags[source].long(), IGNORE))
        return tuple(batch)

    def save(self, path: str | Path) -> None:
        tensors = {"input_ids": self.input_ids, "offsets": self.offsets, "rows": self.rows}
        if self.labels is not None:
            tensors["labels"] = self.labels
        if self.token_type_ids is not None:
            tensors["token_type_ids"] = self.token_type_ids
        if self.tags is not None:
            tensors["tags"], tensors["char_ranges"] = self.tags, self.char_ranges
        metadata = {"pad_token_id": str(self.padding.token_id),
                    "pad_token_type_id": str(self.padding.token_type_id),
                    "padding_side": self.padding.side}
        if self.swapped is not None:
            tensors["swapped"] = self.swapped
            metadata["swap_outputs"] = ",".join(map(str, self.swap_outputs))
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> "TokenizedSplit":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata()
        tensors = load_file(str(path))
        padding = Padding.from_metadata(metadata)
        swap_outputs = metadata.get("swap_outputs")
        return cls(tensors["input_ids"], tensors["offsets"], tensors["rows"], padding,
                   tensors.get("labels"), tensors.get("token_type_ids"), tensors.get("swapped"),
                   None if swap_outputs is None else tuple(int(k) for k in swap_outputs.split(",")),
                   tensors.get("tags"), tensors.get("char_ranges"))


def usable_max_length(tokenizer, max_length: int) -> int:
    """`max_length`, or the longest sequence the model takes where that is shorter (as run_glue.py caps
    max_seq_length at `tokenizer.model_max_length`): longer ones would index past its position embeddings."""
    if max_length > tokenizer.model_max_length:
        log.warning("max_length=%d is longer than this model takes (%d tokens): using %d",
                    max_length, tokenizer.model_max_length, tokenizer.model_max_length)
        return int(tokenizer.model_max_length)
    return max_length


def tokenize(texts: list[str], tokenizer, max_length: int, pairs: list[str] | None = None,
             window_stride: int | None = None) -> dict:
    """Tokenize all texts (and their pairs) in one batched call of the fast tokenizer, with its own
    special tokens and separators.

    Texts longer than `max_length` tokens (at most the model's) are truncated (the longer of a pair
    first), and said so in the log. With `window_stride` they are read in overlapping windows instead
    (`fasthf.encoding.windows`: consecutive windows share `window_stride` tokens; with a pair, the windows run over
    the text and the pair is repeated in each). Returns the sequences' `input_ids` and `token_type_ids`,
    `rows` (the index in `texts` of each sequence: a windowed text has several), `n_truncated`, and with
    `window_stride` `n_windowed` and `n_windows` (the texts cut, and their windows).
    """
    max_length = usable_max_length(tokenizer, max_length)
    pairs = None if pairs is None else list(pairs)
    if window_stride is not None:
        from fasthf.encoding.windows import check_window_stride

        check_window_stride(tokenizer, max_length, window_stride, pair=pairs is not None)
    want_types = "token_type_ids" in tokenizer.model_input_names
    encoded = tokenizer(list(texts), pairs, truncation=False, return_attention_mask=False,
                        return_token_type_ids=want_types, verbose=False)
    too_long = [i for i, ids in enumerate(encoded["input_ids"]) if len(ids) > max_length]
    rows = list(range(len(texts)))
    counts = {}
    if too_long and window_stride is not None:
        encoded, rows, too_long, counts = _windowed(encoded, texts, pairs, too_long, tokenizer, max_length,
                                                    window_stride, want_types)
    if too_long:
        log.warning("%d of %d texts are longer than max_length=%d tokens and were truncated (first: %r)",
                    len(too_long), len(texts), max_length, texts[too_long[0]][:80])
        cut = tokenizer([texts[i] for i in too_long], None if pairs is None else [pairs[i] for i in too_long],
                        truncation=True, max_length=max_length, return_attention_mask=False,
                        return_token_type_ids=want_types)
        at = {i: k for k, i in enumerate(rows)} if counts else None  # where each text's one sequence is
        for key in encoded.keys():
            for j, i in enumerate(too_long):
                encoded[key][i if at is None else at[i]] = cut[key][j]
    if window_stride is not None:
        counts = {"n_windowed": 0, "n_windows": 0, **counts}
    return {"input_ids": encoded["input_ids"],
            "token_type_ids": encoded["token_type_ids"] if want_types else None,
            "rows": rows, "n_truncated": len(too_long), **counts}


def _windowed(encoded, texts, pairs, too_long, tokenizer, max_length: int, stride: int, want_types: bool):
    """The sequences with each too-long text replaced by its windows (`fasthf.encoding.windows.encode_windows`); the
    text index of each sequence; the texts still to truncate (a pair leaving no room for windows); counts."""
    from fasthf.encoding.windows import encode_windows, pair_room

    if pairs is not None:
        room = pair_room(tokenizer, [pairs[i] for i in too_long], max_length)
        fits = room > stride
        cut, truncate = [i for i, ok in zip(too_long, fits) if ok], [i for i, ok in zip(too_long, fits) if not ok]
        if truncate:
            log.warning("%d text(s) have a pair that leaves at most window_stride=%d of max_length=%d tokens for "
                        "the text: truncated instead of read in windows", len(truncate), stride, max_length)
    else:
        cut, truncate = too_long, []
    if not cut:
        return encoded, list(range(len(texts))), truncate, {}
    windows = encode_windows(tokenizer, [texts[i] for i in cut], max_length, stride,
                             None if pairs is None else [pairs[i] for i in cut], token_types=want_types)
    by_text: dict[int, list[int]] = {}
    for w, sample in enumerate(windows["sample"]):
        by_text.setdefault(cut[sample], []).append(w)
    keys = ("input_ids", "token_type_ids") if want_types else ("input_ids",)
    out = {key: [] for key in keys}
    rows = []
    for i in range(len(texts)):
        for key in keys:
            out[key].extend([windows[key][w] for w in by_text[i]] if i in by_text else [encoded[key][i]])
        rows.extend([i] * len(by_text.get(i, [0])))
    n_windows = len(windows["sample"])
    log.info("%d of %d texts are longer than max_length=%d: read in %s windows (stride %d)",
             len(cut), len(texts), max_length, f"{n_windows:,}", stride)
    return out, rows, truncate, {"n_windowed": len(cut), "n_windows": n_windows}


def _flatten(rows: list[list[int]], dtype) -> torch.Tensor:
    return torch.from_numpy(np.fromiter(itertools.chain.from_iterable(rows), dtype=dtype))


def tokenize_split(texts: list[str], tokenizer, max_length: int, pairs: list[str] | None = None,
                   labels: np.ndarray | None = None, window_stride: int | None = None) -> tuple[TokenizedSplit, int]:
    """The ragged tensors for one file's texts (row i is text i); returns it and how many were truncated.

    With `window_stride` a text longer than `max_length` is several sequences, its windows, each with the
    text's row number and label (`fasthf.encoding.windows`)."""
    encoded = tokenize(texts, tokenizer, max_length, pairs, window_stride)
    lengths = np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64, count=len(encoded["input_ids"]))
    offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)]))
    types = encoded["token_type_ids"]
    rows = torch.as_tensor(np.asarray(encoded["rows"], dtype=np.int64))
    split = TokenizedSplit(
        input_ids=_flatten(encoded["input_ids"], np.int32),
        offsets=offsets,
        rows=rows,
        padding=Padding.of(tokenizer),
        labels=None if labels is None else _per_sequence(torch.from_numpy(np.array(labels)), rows, len(texts)),
        token_type_ids=None if types is None else _flatten(types, np.int8),
    )
    return split, encoded["n_truncated"]


def _per_sequence(labels: torch.Tensor, rows: torch.Tensor, n_texts: int) -> torch.Tensor:
    """Each sequence's label: its text's (repeated for each window of a windowed text)."""
    return labels if len(rows) == n_texts else labels[rows]
