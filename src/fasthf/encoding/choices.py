"""Multiple choice (`competition.choices`): each option of a row encoded with the row's question as a pair,
every pair scored by one shared output, the scores of a row's options compared by a softmax across them.

As Hugging Face's `AutoModelForMultipleChoice` reads it (run_swag.py): a row of k options is k sequences
`(question, option)`, batched as (rows, k, length); the model gives one logit per sequence, (rows, k) in
all, and the loss is the cross-entropy of those against the right option. The question is the row's
joined text (`Competition.joined_texts`); where a pair is longer than `max_length`, the question is cut
first (an option is short, the question may be long), and where the option alone leaves it no room, both.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from fasthf.encoding.tensors import Padding, TokenizedSplit, _flatten, usable_max_length
from fasthf.io import atomic_path

log = logging.getLogger(__name__)


class ChoiceError(ValueError):
    """A setting that multiple choice does not take."""


def check_choice_encoding(encode: str, window_stride: int | None) -> None:
    """Each row is read once per option, whole: shared encoding and windows do not apply."""
    if encode == "group":
        raise ChoiceError("encode: group encodes a group's text once and reads each row as a span of it, which a "
                          "multiple-choice row (competition.choices), encoded once per option, is not: set encode: row")
    if window_stride is not None:
        raise ChoiceError(f"window_stride: {window_stride} reads long texts in windows, which multiple choice "
                          f"(competition.choices) does not (each option is read beside its question, the question "
                          f"cut where too long): set window_stride: null")


@dataclass
class ChoiceSplit:
    """Rows of k options each: `pairs` holds the sequences (question, option), row i's option j at i * k + j.

    `len()`, `rows`, `labels` (the right option's index), `lengths` (a row's longest pair, what its batch is
    padded to) and `positions` are per row; `collate` gives (input_ids, attention_mask[, token_type_ids]) of
    shape (rows, k, length), then the labels (rows,).
    """
    pairs: TokenizedSplit
    rows: torch.Tensor
    n_choices: int
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> list[torch.Tensor]:
        """Row i's pairs' token ids, option by option."""
        return [self.pairs[i * self.n_choices + j] for j in range(self.n_choices)]

    @property
    def padding(self) -> Padding:
        return self.pairs.padding

    @property
    def lengths(self) -> torch.Tensor:
        return self.pairs.lengths.reshape(len(self), self.n_choices).max(dim=1).values

    def longest_first(self) -> torch.Tensor:
        return torch.argsort(self.lengths, descending=True, stable=True)

    @property
    def max_token_id(self) -> int:
        return self.pairs.max_token_id

    head = "choice"  # the model head that reads it: one output per option (fasthf.models.model_source.HEADS)

    @property
    def n_inputs(self) -> int:
        return self.pairs.n_inputs

    def positions(self, idxs) -> torch.Tensor:
        return torch.as_tensor(np.asarray(idxs, dtype=np.int64))

    def _sequences(self, idxs) -> torch.Tensor:
        idxs = torch.as_tensor(np.asarray(idxs, dtype=np.int64))
        return (idxs[:, None] * self.n_choices + torch.arange(self.n_choices)).reshape(-1)

    def subset(self, positions) -> "ChoiceSplit":
        """The rows at `positions`, in that order, each with all its options."""
        positions = torch.as_tensor(np.asarray(positions, dtype=np.int64))
        return ChoiceSplit(self.pairs.subset(self._sequences(positions).numpy()), self.rows[positions], self.n_choices,
                           None if self.labels is None else self.labels[positions])

    def collate(self, idxs) -> tuple[torch.Tensor, ...]:
        """(input_ids, attention_mask[, token_type_ids][, labels]): every option of the rows `idxs`, padded to
        the batch's longest pair, its mask from each pair's own length."""
        idxs = torch.as_tensor(np.asarray(idxs, dtype=np.int64))
        tokens = self.pairs.collate(self._sequences(idxs))[:self.pairs.n_inputs]
        batch = [t.reshape(len(idxs), self.n_choices, -1) for t in tokens]
        return (*batch, *(() if self.labels is None else (self.labels[idxs],)))

    def save(self, path: str | Path) -> None:
        tensors = {"input_ids": self.pairs.input_ids, "offsets": self.pairs.offsets, "rows": self.rows.clone()}
        if self.labels is not None:
            tensors["labels"] = self.labels
        if self.pairs.token_type_ids is not None:
            tensors["token_type_ids"] = self.pairs.token_type_ids
        metadata = {"encode": "choices", "n_choices": str(self.n_choices), "pad_token_id": str(self.padding.token_id),
                    "pad_token_type_id": str(self.padding.token_type_id), "padding_side": self.padding.side}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)

    @classmethod
    def from_tensors(cls, tensors: dict, padding: Padding, n_choices: int) -> "ChoiceSplit":
        pairs = TokenizedSplit(tensors["input_ids"], tensors["offsets"], torch.arange(len(tensors["offsets"]) - 1),
                               padding, None, tensors.get("token_type_ids"))
        return cls(pairs, tensors["rows"], n_choices, tensors.get("labels"))


def encode_pairs(tokenizer, questions: list[str], options: list[str], max_length: int, want_types: bool) -> dict:
    """The pairs (question, option) encoded with the tokenizer's special tokens and separators; `cut`: the
    pairs longer than `max_length`, which lose the end of their question (`only_first`), or where the option
    leaves the question no room, tokens of both (`longest_first`: `n_options_cut`)."""
    settings = dict(return_attention_mask=False, return_token_type_ids=want_types, verbose=False)
    encoded = tokenizer(questions, options, truncation=False, **settings)
    too_long = [i for i, ids in enumerate(encoded["input_ids"]) if len(ids) > max_length]
    if not too_long:
        return {**encoded, "cut": [], "n_options_cut": 0}
    option_lengths = [len(ids) for ids in tokenizer([options[i] for i in too_long], add_special_tokens=False,
                                                    return_attention_mask=False)["input_ids"]]
    room = max_length - tokenizer.num_special_tokens_to_add(pair=True)
    by_rule = {"only_first": [i for i, n in zip(too_long, option_lengths) if n < room],
               "longest_first": [i for i, n in zip(too_long, option_lengths) if n >= room]}
    for rule, which in by_rule.items():
        if which:
            cut = tokenizer([questions[i] for i in which], [options[i] for i in which], truncation=rule,
                            max_length=max_length, **settings)
            for key in encoded.keys():
                for j, i in enumerate(which):
                    encoded[key][i] = cut[key][j]
    return {**encoded, "cut": too_long, "n_options_cut": len(by_rule["longest_first"])}


def tokenize_choices(questions: list[str], options: list[list[str]], tokenizer, max_length: int,
                     labels: np.ndarray | None = None) -> tuple[ChoiceSplit, dict]:
    """A `ChoiceSplit` of the rows (row i: `questions[i]` with `options[j][i]` for each option j), and the
    counts: rows with a pair cut (`truncated`), pairs whose option was cut too, the pairs and their tokens."""
    max_length = usable_max_length(tokenizer, max_length)
    n_rows, n_choices = len(questions), len(options)
    want_types = "token_type_ids" in tokenizer.model_input_names
    encoded = encode_pairs(tokenizer, [q for q in questions for _ in range(n_choices)],
                           [str(options[j][i]) for i in range(n_rows) for j in range(n_choices)], max_length, want_types)
    lengths = np.fromiter((len(ids) for ids in encoded["input_ids"]), dtype=np.int64, count=n_rows * n_choices)
    cut_rows = len({i // n_choices for i in encoded["cut"]})
    if cut_rows:
        log.warning("%d of %d pairs (question, option) of %d rows are longer than max_length=%d tokens: their "
                    "question was cut; %d option(s) too, where the option alone left the question no room",
                    len(encoded["cut"]), n_rows * n_choices, cut_rows, max_length, encoded["n_options_cut"])
    pairs = TokenizedSplit(_flatten(encoded["input_ids"], np.int32),
                           torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)])),
                           torch.arange(n_rows * n_choices), Padding.of(tokenizer), None,
                           _flatten(encoded["token_type_ids"], np.int8) if want_types else None)
    split = ChoiceSplit(pairs, torch.arange(n_rows), n_choices,
                        None if labels is None else torch.from_numpy(np.array(labels)))
    return split, {"truncated": cut_rows, "choices": n_choices, "pairs": n_rows * n_choices,
                   "options_cut": encoded["n_options_cut"], "tokens": int(lengths.sum())}
