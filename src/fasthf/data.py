"""Competition files in, cached token tensors out, fastai DataLoaders over them.

The competition ships tab-separated phrases (`PhraseId`, `SentenceId`, `Phrase`, `Sentiment`).
Phrases are tokenized once (preprocess rule) and stored ragged, without padding; each batch is
padded only to its own longest item, on the side the tokenizer was pretrained with.
"""
from __future__ import annotations

import csv
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from fastai.data.load import DataLoader
from fastai.text.data import SortedDL
from safetensors.torch import load_file, save_file

from .io import atomic_path

log = logging.getLogger(__name__)

LABEL_NAMES = ["negative", "somewhat negative", "neutral", "somewhat positive", "positive"]
N_LABELS = len(LABEL_NAMES)

TRAIN_COLUMNS = ["PhraseId", "SentenceId", "Phrase", "Sentiment"]
TEST_COLUMNS = ["PhraseId", "SentenceId", "Phrase"]
SUBMISSION_COLUMNS = ["PhraseId", "Sentiment"]


class DataError(ValueError):
    """A competition file that does not hold what the pipeline needs; the message names file, row, column."""


# --- reading and checking the competition files -------------------------------------------------

def read_table(path: str | Path, columns: list[str], sep: str = "\t") -> pd.DataFrame:
    """Read a competition file as text, keeping every phrase verbatim.

    `None`, `NA`, `null` and `nan` are real phrases here: pandas' NA parsing is turned off, and
    quoting too (the files never quote, and a stray `"` must not swallow the following rows).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                        quoting=csv.QUOTE_NONE)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}, "
                        f"expected {columns}")
    frame = frame[columns].copy()
    for column in columns:
        if column != "Phrase":
            frame[column] = _integer_column(frame[column], path, column)
    _check_unique(frame, path)
    return frame


def _integer_column(values: pd.Series, path: Path, column: str) -> pd.Series:
    numbers = pd.to_numeric(values.str.strip(), errors="coerce")
    bad = numbers.isna() | (numbers != numbers.round())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}: row {row + 2}: column '{column}': {values.iloc[row]!r} is not an integer "
                        f"({int(bad.sum())} such rows)")
    return numbers.astype("int64")


def _check_unique(frame: pd.DataFrame, path: Path) -> None:
    duplicated = frame.PhraseId.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise DataError(f"{path}: row {row + 2}: column 'PhraseId': {frame.PhraseId.iloc[row]} appears twice "
                        f"({int(duplicated.sum())} duplicates)")


def read_train(path: str | Path) -> pd.DataFrame:
    frame = read_table(path, TRAIN_COLUMNS)
    out_of_range = ~frame.Sentiment.between(0, N_LABELS - 1)
    if out_of_range.any():
        row = int(np.flatnonzero(out_of_range.to_numpy())[0])
        raise DataError(f"{path}: row {row + 2}: column 'Sentiment': {frame.Sentiment.iloc[row]} is outside "
                        f"0-{N_LABELS - 1} ({int(out_of_range.sum())} such rows)")
    return frame


def read_test(path: str | Path) -> pd.DataFrame:
    return read_table(path, TEST_COLUMNS)


def read_sample_submission(path: str | Path) -> pd.DataFrame:
    return read_table(path, SUBMISSION_COLUMNS, sep=",")


def split_by_sentence(frame: pd.DataFrame, valid_fraction: float, seed: int):
    """Hold out a seeded random fraction of *sentences*, so no sentence has phrases on both sides."""
    sentences = np.sort(frame.SentenceId.unique())
    n_valid = max(1, round(len(sentences) * valid_fraction))
    valid_sentences = np.random.default_rng(seed).choice(sentences, size=n_valid, replace=False)
    is_valid = frame.SentenceId.isin(valid_sentences)
    return frame[~is_valid].reset_index(drop=True), frame[is_valid].reset_index(drop=True)


# --- tokenized, ragged splits -------------------------------------------------------------------

@dataclass(frozen=True)
class Padding:
    """How a tokenizer pads: its pad ids and side (XLNet pads on the left)."""
    token_id: int
    token_type_id: int = 0
    side: str = "right"

    @classmethod
    def of(cls, tokenizer) -> "Padding":
        if tokenizer.pad_token_id is None:
            raise ValueError(f"{type(tokenizer).__name__} has no pad token; set tokenizer.pad_token first")
        return cls(int(tokenizer.pad_token_id), int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
                   tokenizer.padding_side)


@dataclass
class TokenizedSplit:
    """Token ids of many texts stored end to end (`input_ids[offsets[i]:offsets[i+1]]` is text i)."""
    input_ids: torch.Tensor
    offsets: torch.Tensor
    phrase_ids: torch.Tensor
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

    @property
    def n_inputs(self) -> int:
        """How many leading batch tensors are model inputs (the rest is the label)."""
        return 2 if self.token_type_ids is None else 3

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
        tensors = {"input_ids": self.input_ids, "offsets": self.offsets, "phrase_ids": self.phrase_ids}
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
        padding = Padding(int(metadata["pad_token_id"]), int(metadata["pad_token_type_id"]),
                          metadata["padding_side"])
        return cls(tensors["input_ids"], tensors["offsets"], tensors["phrase_ids"], padding,
                   tensors.get("labels"), tensors.get("token_type_ids"))


def tokenize(texts: list[str], tokenizer, max_length: int) -> dict:
    """Tokenize all texts in one batched call of the fast tokenizer, with its own special tokens.

    Texts longer than `max_length` tokens are truncated, and said so in the log.
    """
    want_types = "token_type_ids" in tokenizer.model_input_names
    encoded = tokenizer(list(texts), truncation=False, return_attention_mask=False,
                        return_token_type_ids=want_types, verbose=False)
    too_long = [i for i, ids in enumerate(encoded["input_ids"]) if len(ids) > max_length]
    if too_long:
        log.warning("%d of %d texts are longer than max_length=%d tokens and were truncated (first: %r)",
                    len(too_long), len(texts), max_length, texts[too_long[0]][:80])
        cut = tokenizer([texts[i] for i in too_long], truncation=True, max_length=max_length,
                        return_attention_mask=False, return_token_type_ids=want_types)
        for key in encoded.keys():
            for j, i in enumerate(too_long):
                encoded[key][i] = cut[key][j]
    return {"input_ids": encoded["input_ids"],
            "token_type_ids": encoded["token_type_ids"] if want_types else None,
            "n_truncated": len(too_long)}


def _flatten(rows: list[list[int]], dtype) -> torch.Tensor:
    return torch.from_numpy(np.fromiter(itertools.chain.from_iterable(rows), dtype=dtype))


def tokenize_split(frame: pd.DataFrame, tokenizer, max_length: int) -> tuple[TokenizedSplit, int]:
    """The ragged tensors for one split; returns it and how many texts were truncated."""
    encoded = tokenize(frame.Phrase.tolist(), tokenizer, max_length)
    lengths = np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64, count=len(frame))
    offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)]))
    types = encoded["token_type_ids"]
    split = TokenizedSplit(
        input_ids=_flatten(encoded["input_ids"], np.int32),
        offsets=offsets,
        phrase_ids=torch.tensor(frame.PhraseId.to_numpy(), dtype=torch.int64),
        padding=Padding.of(tokenizer),
        labels=torch.tensor(frame.Sentiment.to_numpy(), dtype=torch.int64) if "Sentiment" in frame else None,
        token_type_ids=None if types is None else _flatten(types, np.int8),
    )
    return split, encoded["n_truncated"]


# --- fastai DataLoaders -------------------------------------------------------------------------

class TokenBatchDL(DataLoader):
    """fastai DataLoader over a `TokenizedSplit`.

    Shuffled: fastai's sortish order (random chunks of similar length, longest batch first);
    not shuffled: longest first. `Learner.get_preds(reorder=True)` puts results back in dataset order.
    """

    def __init__(self, dataset: TokenizedSplit, bs: int = 64, shuffle: bool = False, **kwargs):
        super().__init__(dataset, bs=bs, shuffle=shuffle, **kwargs)
        self.res = dataset.lengths.numpy()
        self.idx_max = int(np.argmax(self.res)) if len(self.res) else 0

    @property
    def n_inp(self) -> int:
        return self.dataset.n_inputs

    def create_item(self, s):
        return s

    def create_batch(self, b):
        return self.dataset.collate(b)

    def retain(self, res, b):
        return res

    def get_idxs(self):
        idxs = super().get_idxs()
        if self.shuffle:
            return idxs
        return sorted(idxs, key=lambda i: self.res[i], reverse=True)

    shuffle_fn = SortedDL.shuffle_fn


def load_split(tensors_dir: str | Path, name: str) -> TokenizedSplit:
    return TokenizedSplit.load(Path(tensors_dir) / f"{name}.safetensors")


def prepare_tensors(train_path: str | Path, test_path: str | Path, tokenizer, out_dir: str | Path,
                    valid_fraction: float, seed: int, max_length: int) -> dict:
    """Read, split and tokenize the competition files once; write train/valid/test tensors and a summary."""
    out_dir = Path(out_dir)
    train, valid = split_by_sentence(read_train(train_path), valid_fraction, seed)
    test = read_test(test_path)
    summary = {"tokenizer": type(tokenizer).__name__, "padding_side": tokenizer.padding_side,
               "max_length": max_length, "valid_fraction": valid_fraction, "seed": seed, "splits": {}}
    for name, frame in (("train", train), ("valid", valid), ("test", test)):
        split, n_truncated = tokenize_split(frame, tokenizer, max_length)
        split.save(out_dir / f"{name}.safetensors")
        lengths = split.lengths.float()
        summary["splits"][name] = {
            "phrases": len(split), "sentences": int(frame.SentenceId.nunique()),
            "tokens": int(lengths.sum()), "mean_length": round(float(lengths.mean()), 2),
            "max_length": int(lengths.max()), "truncated": n_truncated,
            "label_counts": (frame.Sentiment.value_counts().sort_index().to_dict()
                             if "Sentiment" in frame else None),
        }
    return summary
