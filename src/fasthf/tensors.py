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

from .io import atomic_path

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
    (class indices, or a float row per text for multilabel and regression).
    """
    input_ids: torch.Tensor
    offsets: torch.Tensor
    rows: torch.Tensor
    padding: Padding
    labels: torch.Tensor | None = None
    token_type_ids: torch.Tensor | None = None

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
                              None if self.labels is None else self.labels[rows], pick(self.token_type_ids))

    def collate(self, idxs) -> tuple[torch.Tensor, ...]:
        """(input_ids, attention_mask[, token_type_ids][, labels]) for the texts `idxs`.

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
        return tuple(batch)

    def save(self, path: str | Path) -> None:
        tensors = {"input_ids": self.input_ids, "offsets": self.offsets, "rows": self.rows}
        if self.labels is not None:
            tensors["labels"] = self.labels
        if self.token_type_ids is not None:
            tensors["token_type_ids"] = self.token_type_ids
        metadata = {"pad_token_id": str(self.padding.token_id),
                    "pad_token_type_id": str(self.padding.token_type_id),
                    "padding_side": self.padding.side}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> "TokenizedSplit":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata()
        tensors = load_file(str(path))
        padding = Padding.from_metadata(metadata)
        return cls(tensors["input_ids"], tensors["offsets"], tensors["rows"], padding,
                   tensors.get("labels"), tensors.get("token_type_ids"))


def load_split(path: str | Path):
    """The cached tensors at `path`: a `TokenizedSplit`, or a `GroupedSplit` where they were encoded by group."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    if metadata.get("encode") == "group":
        from .spans import GroupedSplit

        return GroupedSplit.from_tensors(load_file(str(path)), Padding.from_metadata(metadata))
    return TokenizedSplit.load(path)


def usable_max_length(tokenizer, max_length: int) -> int:
    """`max_length`, or the longest sequence the model takes where that is shorter (as run_glue.py caps
    max_seq_length at `tokenizer.model_max_length`): longer ones would index past its position embeddings."""
    if max_length > tokenizer.model_max_length:
        log.warning("max_length=%d is longer than this model takes (%d tokens): using %d",
                    max_length, tokenizer.model_max_length, tokenizer.model_max_length)
        return int(tokenizer.model_max_length)
    return max_length


def tokenize(texts: list[str], tokenizer, max_length: int, pairs: list[str] | None = None) -> dict:
    """Tokenize all texts (and their pairs) in one batched call of the fast tokenizer, with its own
    special tokens and separators.

    Texts longer than `max_length` tokens (at most the model's) are truncated (the longer of a pair
    first), and said so in the log.
    """
    max_length = usable_max_length(tokenizer, max_length)
    want_types = "token_type_ids" in tokenizer.model_input_names
    pairs = None if pairs is None else list(pairs)
    encoded = tokenizer(list(texts), pairs, truncation=False, return_attention_mask=False,
                        return_token_type_ids=want_types, verbose=False)
    too_long = [i for i, ids in enumerate(encoded["input_ids"]) if len(ids) > max_length]
    if too_long:
        log.warning("%d of %d texts are longer than max_length=%d tokens and were truncated (first: %r)",
                    len(too_long), len(texts), max_length, texts[too_long[0]][:80])
        cut = tokenizer([texts[i] for i in too_long], None if pairs is None else [pairs[i] for i in too_long],
                        truncation=True, max_length=max_length, return_attention_mask=False,
                        return_token_type_ids=want_types)
        for key in encoded.keys():
            for j, i in enumerate(too_long):
                encoded[key][i] = cut[key][j]
    return {"input_ids": encoded["input_ids"],
            "token_type_ids": encoded["token_type_ids"] if want_types else None,
            "n_truncated": len(too_long)}


def _flatten(rows: list[list[int]], dtype) -> torch.Tensor:
    return torch.from_numpy(np.fromiter(itertools.chain.from_iterable(rows), dtype=dtype))


def tokenize_split(texts: list[str], tokenizer, max_length: int, pairs: list[str] | None = None,
                   labels: np.ndarray | None = None) -> tuple[TokenizedSplit, int]:
    """The ragged tensors for one file's texts (row i is text i); returns it and how many were truncated."""
    encoded = tokenize(texts, tokenizer, max_length, pairs)
    lengths = np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64, count=len(texts))
    offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)]))
    types = encoded["token_type_ids"]
    split = TokenizedSplit(
        input_ids=_flatten(encoded["input_ids"], np.int32),
        offsets=offsets,
        rows=torch.arange(len(texts), dtype=torch.int64),
        padding=Padding.of(tokenizer),
        labels=None if labels is None else torch.from_numpy(np.array(labels)),
        token_type_ids=None if types is None else _flatten(types, np.int8),
    )
    return split, encoded["n_truncated"]


def prepare_tensors(train_path: str | Path, test_path: str | Path, tokenizer, out_dir: str | Path,
                    max_length: int, competition, task, encode: str = "row") -> dict:
    """Tokenize the competition files once per tokenizer: every training row with its encoded targets
    (the folds pick their rows later, see fasthf.folds) and the test rows; write the tensors and a summary.

    `encode: group` encodes each group's text once and finds its rows in it (`fasthf.spans`)."""
    from .spans import check_shared_encoding, tokenize_groups

    if encode == "group":
        check_shared_encoding(competition, task)
    out_dir = Path(out_dir)
    max_length = usable_max_length(tokenizer, max_length)
    summary = {"tokenizer": type(tokenizer).__name__, "padding_side": tokenizer.padding_side,
               "max_length": max_length, "text": list(competition.text), "text_pair": competition.text_pair,
               "encode": encode, "splits": {}}
    for name, frame in (("train", competition.read_train(train_path)), ("test", competition.read_test(test_path))):
        labels = task.encode(frame, str(train_path)) if name == "train" else None
        texts = competition.joined_texts(frame)
        if encode == "group":
            if competition.group not in frame:
                log.warning("%s has no %r column: each of its rows is its own group", name, competition.group)
            groups = frame[competition.group].tolist() if competition.group in frame else range(len(frame))
            split, counts = tokenize_groups(texts, groups, tokenizer, max_length, labels)
            n_truncated = counts["past_max_length"]
        else:
            split, n_truncated = tokenize_split(texts, tokenizer, max_length, competition.pairs(frame), labels)
            counts = {}
        split.save(out_dir / f"{name}.safetensors")
        lengths = split.lengths.float()
        summary["splits"][name] = {
            "texts": len(split.rows), "tokens": int(lengths.sum()), "mean_length": round(float(lengths.mean()), 2),
            "max_length": int(lengths.max()), "truncated": n_truncated, **counts,
        }
        if competition.group and competition.group in frame:
            summary["splits"][name]["groups"] = int(frame[competition.group].nunique())
        if labels is not None and labels.ndim == 1:
            counts = np.bincount(labels, minlength=task.n_outputs)
            summary["splits"][name]["label_counts"] = dict(zip(task.output_names, map(int, counts)))
    return summary
