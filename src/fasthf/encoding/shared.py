"""Shared encoding (`encode: group`): each group's text is encoded once, and every row of the group is read
from the token states of its span in that encoding.

Where a competition's rows are word-aligned pieces of a longer text of their group (the parts of a paragraph),
encoding each row alone encodes every word as many times as there are rows around it. Here a group's
longest row is its text (a unit); each row is found in it by characters (whitespace on both sides) and
mapped to tokens by the tokenizer's offsets. A row not found (or cut off by `max_length`) is its own unit,
as in per-row encoding: counted and logged, never dropped.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from fasthf.encoding.tensors import Padding, TokenizedSplit, _flatten, tokenize, usable_max_length
from fasthf.io import atomic_path

log = logging.getLogger(__name__)


def word_aligned_find(text: str, piece: str) -> int:
    """Where `piece` first occurs in `text` with whitespace (or the text's ends) on both sides; -1 if nowhere."""
    start = text.find(piece)
    while start >= 0:
        end = start + len(piece)
        if (start == 0 or text[start - 1].isspace()) and (end == len(text) or text[end].isspace()):
            return start
        start = text.find(piece, start + 1)
    return -1


def token_span(offsets: np.ndarray, content: np.ndarray, start: int, end: int) -> tuple[int, int] | None:
    """The tokens (positions [first, last + 1) in the sequence) covering characters [start, end), or None
    where a token crosses either edge or the characters lie past the last token (a truncated text).

    `offsets`: (n, 2) character offsets of the sequence's tokens; `content`: True for the text's own tokens
    (not special, not empty)."""
    positions = np.flatnonzero(content & (offsets[:, 1] > start) & (offsets[:, 0] < end))
    if not len(positions) or offsets[content][-1, 1] < end:
        return None
    first, last = positions[0], positions[-1]
    if offsets[first, 0] < start or offsets[last, 1] > end:
        return None
    return int(first), int(last) + 1


def trimmed(offsets: np.ndarray, text: str) -> np.ndarray:
    """Token offsets without the whitespace some tokenizers count in a token (SentencePiece's "▁word")."""
    offsets = offsets.copy()
    for k, (start, end) in enumerate(offsets):
        while start < end and text[start].isspace():
            start += 1
        offsets[k, 0] = start
    return offsets


def encode_with_offsets(tokenizer, texts: list[str], max_length: int, want_types: bool) -> dict:
    """input_ids, offset_mapping, special_tokens_mask (and token_type_ids) of `texts`, cut to `max_length`.

    A fast tokenizer gives the offsets itself. A slow one (XLM's) has none: each whitespace-separated word is
    tokenized on its own, every token of a word carrying the word's characters (the rows are word-aligned)."""
    if tokenizer.is_fast:
        return tokenizer(texts, truncation=True, max_length=max_length, return_offsets_mapping=True,
                         return_special_tokens_mask=True, return_attention_mask=False,
                         return_token_type_ids=want_types, verbose=False)
    room = max_length - tokenizer.num_special_tokens_to_add()
    encoded = {"input_ids": [], "offset_mapping": [], "special_tokens_mask": [], "token_type_ids": []}
    for text in texts:
        ids, offsets = [], []
        for word in re.finditer(r"\S+", text):
            pieces = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word.group()))
            ids += pieces
            offsets += [word.span()] * len(pieces)
        ids, offsets = ids[:room], offsets[:room]
        special = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=False)
        own = iter(offsets)
        encoded["input_ids"].append(tokenizer.build_inputs_with_special_tokens(ids))
        encoded["special_tokens_mask"].append(special)
        encoded["offset_mapping"].append([(0, 0) if flag else next(own) for flag in special])
        encoded["token_type_ids"].append(tokenizer.create_token_type_ids_from_sequences(ids) if want_types else None)
    return encoded


def content_span(special_mask: list[int]) -> tuple[int, int]:
    """A text encoded alone: its own tokens, without the special ones (all of it if it has none of its own)."""
    own = np.flatnonzero(np.asarray(special_mask) == 0)
    return (int(own[0]), int(own[-1]) + 1) if len(own) else (0, len(special_mask))


@dataclass
class GroupedSplit:
    """Units (texts encoded once each) and the rows read from them: row i is the token span
    `[start[i], end[i])` of unit `unit[i]`. Rows are stored by unit, so a unit's rows are contiguous.

    Batches are of units: `collate` gives the units' tokens, then `spans` (one line per row: the unit's
    place in the batch, start, end), then the rows' labels. `len()` counts units (what a loader batches);
    `rows` and `labels` are per row, as in a `TokenizedSplit`.
    """
    units: TokenizedSplit
    unit: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor
    rows: torch.Tensor
    labels: torch.Tensor | None = None
    unit_rows: torch.Tensor = field(init=False)

    def __post_init__(self):
        counts = torch.bincount(self.unit, minlength=len(self.units))
        self.unit_rows = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(counts, 0)])

    def __len__(self) -> int:
        return len(self.units)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.units[i]

    @property
    def padding(self) -> Padding:
        return self.units.padding

    @property
    def lengths(self) -> torch.Tensor:
        return self.units.lengths

    def longest_first(self) -> torch.Tensor:
        return self.units.longest_first()

    @property
    def max_token_id(self) -> int:
        return self.units.max_token_id

    head = "sequence"  # the model head that reads it (fasthf.models.model_source.HEADS)

    @property
    def n_inputs(self) -> int:
        return self.units.n_inputs + 1  # and the spans

    def positions(self, units) -> torch.Tensor:
        """The row positions (into `rows`) of `units`' rows, unit by unit: the order `collate` yields them."""
        units = torch.as_tensor(np.asarray(units, dtype=np.int64))
        counts = self.unit_rows[units + 1] - self.unit_rows[units]
        firsts = torch.repeat_interleave(self.unit_rows[units], counts)
        within = torch.arange(int(counts.sum())) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
        return firsts + within

    def subset(self, positions) -> "GroupedSplit":
        """The rows at `positions`, with only the units they read (renumbered in order of first use)."""
        positions = torch.as_tensor(np.asarray(positions, dtype=np.int64))
        kept, new_unit = torch.unique(self.unit[positions], return_inverse=True)
        order = torch.argsort(new_unit, stable=True)
        positions, new_unit = positions[order], new_unit[order]
        return GroupedSplit(self.units.subset(kept.numpy()), new_unit, self.start[positions], self.end[positions],
                            self.rows[positions], None if self.labels is None else self.labels[positions])

    def collate(self, units) -> tuple[torch.Tensor, ...]:
        """(input_ids, attention_mask[, token_type_ids], spans[, labels]) for `units` and all their rows."""
        units = torch.as_tensor(np.asarray(units, dtype=np.int64))
        tokens = self.units.collate(units)[:self.units.n_inputs]
        positions = self.positions(units)
        counts = self.unit_rows[units + 1] - self.unit_rows[units]
        place = torch.repeat_interleave(torch.arange(len(units)), counts)
        lengths = self.units.lengths[units]
        lead = (tokens[0].shape[1] - lengths) if self.padding.side == "left" else torch.zeros_like(lengths)
        shift = lead[place]
        spans = torch.stack([place, self.start[positions] + shift, self.end[positions] + shift], dim=1)
        labels = () if self.labels is None else (self.labels[positions],)
        return (*tokens, spans, *labels)

    def save(self, path: str | Path) -> None:
        tensors = {"input_ids": self.units.input_ids, "offsets": self.units.offsets, "unit": self.unit.clone(),
                   "start": self.start.clone(), "end": self.end.clone(), "rows": self.rows.clone()}
        if self.labels is not None:
            tensors["labels"] = self.labels
        if self.units.token_type_ids is not None:
            tensors["token_type_ids"] = self.units.token_type_ids
        metadata = {"encode": "group", "pad_token_id": str(self.padding.token_id),
                    "pad_token_type_id": str(self.padding.token_type_id), "padding_side": self.padding.side}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)

    @classmethod
    def from_tensors(cls, tensors: dict, padding: Padding) -> "GroupedSplit":
        units = TokenizedSplit(tensors["input_ids"], tensors["offsets"], torch.arange(len(tensors["offsets"]) - 1),
                               padding, None, tensors.get("token_type_ids"))
        return cls(units, tensors["unit"], tensors["start"], tensors["end"], tensors["rows"], tensors.get("labels"))


def group_texts(texts: list[str], groups) -> dict:
    """Each group's text: its longest row (the first of equal length)."""
    longest: dict = {}
    for text, group in zip(texts, groups):
        if group not in longest or len(text) > len(longest[group]):
            longest[group] = text
    return longest


def tokenize_groups(texts: list[str], groups, tokenizer, max_length: int,
                    labels: np.ndarray | None = None) -> tuple[GroupedSplit, dict]:
    """A `GroupedSplit` of `texts` (row i is text i) read from their groups' encodings; and the counts:
    rows found as spans, rows encoded alone (not found in their group's text, or past `max_length`)."""
    max_length = usable_max_length(tokenizer, max_length)
    want_types = "token_type_ids" in tokenizer.model_input_names
    by_group = group_texts(texts, groups)
    names = list(by_group)
    encoded = encode_with_offsets(tokenizer, [by_group[g] for g in names], max_length, want_types)
    index = {g: i for i, g in enumerate(names)}
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    found: list[tuple[int, int, int, int]] = []  # (row, group unit, start, end)
    alone, past_window = [], 0
    for row, (text, group) in enumerate(zip(texts, groups)):
        g = index[group]
        piece = text.strip()
        at = word_aligned_find(by_group[group], piece) if piece else -1
        if at < 0:
            alone.append(row)
            continue
        if g not in cache:
            offsets = trimmed(np.asarray(encoded["offset_mapping"][g], dtype=np.int64).reshape(-1, 2), by_group[group])
            content = (np.asarray(encoded["special_tokens_mask"][g]) == 0) & (offsets[:, 1] > offsets[:, 0])
            cache[g] = offsets, content
        span = token_span(*cache[g], at, at + len(piece))
        if span is None:
            offsets, content = cache[g]
            past_window += bool(content.any()) and int(offsets[content][-1, 1]) < at + len(piece)
            alone.append(row)
            continue
        found.append((row, g, *span))
    used = sorted({g for _, g, _, _ in found})
    renumber = {g: i for i, g in enumerate(used)}
    ids = [encoded["input_ids"][g] for g in used]
    types = [encoded["token_type_ids"][g] for g in used] if want_types else None
    spans = [(row, renumber[g], s, e) for row, g, s, e in found]
    if alone:
        single = tokenize([texts[r] for r in alone], tokenizer, max_length)
        for j, row in enumerate(alone):
            mask = tokenizer.get_special_tokens_mask(single["input_ids"][j], already_has_special_tokens=True)
            spans.append((row, len(ids), *content_span(mask)))
            ids.append(single["input_ids"][j])
            if types is not None:
                types.append(single["token_type_ids"][j])
    spans.sort(key=lambda s: (s[1], s[0]))
    table = torch.tensor(spans, dtype=torch.int64).reshape(-1, 4)
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    units = TokenizedSplit(_flatten(ids, np.int32), torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)])),
                           torch.arange(len(ids)), Padding.of(tokenizer), None,
                           None if types is None else _flatten(types, np.int8))
    split = GroupedSplit(units, table[:, 1], table[:, 2], table[:, 3], table[:, 0],
                         None if labels is None else torch.from_numpy(np.array(labels))[table[:, 0]])
    counts = {"groups": len(by_group), "found_as_spans": len(found), "encoded_alone": len(alone),
              "past_max_length": past_window, "units": len(ids), "tokens_encoded": int(lengths.sum())}
    log.info("shared encoding: %d of %d rows found as spans in %d group texts; %d encoded alone (%d of them "
             "past max_length=%d)", len(found), len(texts), len(used), len(alone), past_window, max_length)
    return split, counts


def read_inside(texts: list[str], groups) -> list[int]:
    """The rows shared encoding reads inside a longer text of their group (found there as words, and not the
    group's text itself): those that a second, lone reading (`alone_readings`) reads differently."""
    by_group = group_texts(texts, groups)
    return [row for row, (text, group) in enumerate(zip(texts, groups))
            if text.strip() and text.strip() != by_group[group].strip()
            and word_aligned_find(by_group[group], text.strip()) >= 0]


def alone_readings(texts: list[str], groups, tokenizer, max_length: int,
                   labels: np.ndarray | None = None) -> tuple[GroupedSplit, dict]:
    """A second reading of the rows read inside their group's text (`read_inside`): each encoded alone, as its
    own unit, its rows numbered as in `texts`. Config `read_alone` averages a row's outputs over both readings
    (test-time): inside its group's text a row's states carry its neighbours, alone they do not, and the two
    err differently (benchmarks/RESULTS.md). A row read alone already (a group's own text, or not found in
    it) has no second reading: its one reading stands. (One found past `max_length` is read alone by both: the
    same outputs twice.)"""
    rows = read_inside(texts, groups)
    split, _ = tokenize_groups([texts[r] for r in rows], range(len(rows)), tokenizer, max_length,
                               None if labels is None else np.asarray(labels)[rows])
    split = GroupedSplit(split.units, split.unit, split.start, split.end,
                         torch.as_tensor(rows, dtype=torch.int64)[split.rows], split.labels)
    counts = {"rows": len(texts), "read_alone": len(rows), "tokens_encoded": int(split.lengths.sum())}
    log.info("read alone too: %d of %d rows (%d tokens); the rest are read once", len(rows), len(texts),
             counts["tokens_encoded"])
    return split, counts
