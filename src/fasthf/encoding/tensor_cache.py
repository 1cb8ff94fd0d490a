"""The tensors cache of a competition: its training and test files tokenized once per tokenizer
(`prepare_tensors`), as rows (`fasthf.encoding.tensors`), windows of long texts (`fasthf.encoding.windows`) or groups encoded
once (`fasthf.encoding.shared`), and read back as the split they were written as (`load_split`)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
from safetensors.torch import load_file

from fasthf.encoding.choices import ChoiceSplit, check_choice_encoding, tokenize_choices
from fasthf.encoding.duels import swap_permutation, swapped_frame, swapped_labels, with_swapped
from fasthf.encoding.span_split import span_split
from fasthf.encoding.shared import GroupedSplit, alone_readings, tokenize_groups
from fasthf.encoding.shared_checks import SharedEncodingError, check_shared_encoding
from fasthf.encoding.tensors import Padding, TokenizedSplit, tokenize_split, usable_max_length
from fasthf.encoding.windows import window_counts

log = logging.getLogger(__name__)


def load_split(path: str | Path):
    """The cached tensors at `path`: a `TokenizedSplit`, a `GroupedSplit` where they were encoded by group, or a
    `ChoiceSplit` where each row is its options (`fasthf.encoding.choices`)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    if metadata.get("encode") == "group":
        return GroupedSplit.from_tensors(load_file(str(path)), Padding.from_metadata(metadata))
    if metadata.get("encode") == "choices":
        return ChoiceSplit.from_tensors(load_file(str(path)), Padding.from_metadata(metadata), int(metadata["n_choices"]))
    return TokenizedSplit.load(path)


def encode_rows(frame, competition, tokenizer, max_length: int, labels=None, window_stride: int | None = None,
                swap: tuple[int, ...] | None = None, types: Sequence[str] = ("",)) -> tuple[TokenizedSplit, int, dict]:
    """One file's rows as the model reads them: each row's text (and pair), a long one in windows
    (`window_stride`), and with `swap` (a duel's output permutation, `fasthf.encoding.duels`) each row read swapped
    too. Returns the split, how many texts were truncated, and the counts of windows and swapped readings.
    A multiple-choice row (`competition.choices`) is each of its options read beside its text (`fasthf.encoding.choices`).
    A span task's row is its text, in windows where long, a tag per token (`fasthf.encoding.span_split`; `labels`
    there: each row's (text, spans), `types` the span types): nothing is truncated."""
    if competition.is_spans:
        spans = None if labels is None else [row_spans for _, row_spans in labels]
        split, counts = span_split(frame[competition.text[0]].astype(str).tolist(), tokenizer, max_length, types,
                                   spans, competition.pairs(frame), window_stride)
        return split, 0, counts
    if competition.choices:
        options = [frame[column].tolist() for column in competition.choices]
        split, counts = tokenize_choices(competition.joined_texts(frame), options, tokenizer, max_length, labels)
        return split, counts.pop("truncated"), counts
    split, n_truncated = tokenize_split(competition.joined_texts(frame), tokenizer, max_length,
                                        competition.pairs(frame), labels, window_stride)
    counts = {}
    if window_stride is not None:
        counts = dict(zip(("windowed", "windows"), window_counts(split.rows.numpy())))
    if swap is not None:
        other = swapped_frame(frame, competition)
        flipped, _ = tokenize_split(competition.joined_texts(other), tokenizer, max_length, competition.pairs(other),
                                    None if labels is None else swapped_labels(labels, swap), window_stride)
        split = with_swapped(split, flipped, swap)
        counts["swapped"] = len(flipped)
    return split, n_truncated, counts


def prepare_tensors(train_path: str | Path, test_path: str | Path, tokenizer, out_dir: str | Path,
                    max_length: int, competition, task, encode: str = "row", window_stride: int | None = None,
                    duel_swap: bool = False) -> dict:
    """Tokenize the competition files once per tokenizer: every training row with its encoded targets
    (the folds pick their rows later, see fasthf.inputs.folds) and the test rows; write the tensors and a summary.

    `encode: group` encodes each group's text once and finds its rows in it (`fasthf.encoding.shared`).
    `window_stride` reads texts longer than `max_length` in overlapping windows (`fasthf.encoding.windows`); the
    summary then counts per split the texts cut (`windowed`) and their `windows`. `duel_swap` reads each row
    of a duel in both orders too (`fasthf.encoding.duels`), counted as `swapped`. Multiple choice (`fasthf.encoding.choices`)
    takes neither group nor windows; its summary counts the `pairs` and their `tokens`."""
    if competition.choices:
        check_choice_encoding(encode, window_stride)
    if encode == "group" and window_stride is not None:
        raise SharedEncodingError(f"window_stride: {window_stride} reads long texts in windows, which encode: group "
                                  f"does not support (each row there is a span of its group's one encoding): set "
                                  f"window_stride: null or encode: row")
    if encode == "group":
        check_shared_encoding(competition, task)
        if duel_swap:
            raise SharedEncodingError("duel_swap: true reads each row in both orders, which encode: group does not "
                                      "support: set duel_swap: false or encode: row")
    swap = swap_permutation(competition, task) if duel_swap else None
    out_dir = Path(out_dir)
    max_length = usable_max_length(tokenizer, max_length)
    summary = {"tokenizer": type(tokenizer).__name__, "padding_side": tokenizer.padding_side,
               "max_length": max_length, "text": list(competition.text), "text_pair": competition.text_pair,
               "encode": encode, "window_stride": window_stride, "duel_swap": duel_swap, "splits": {}}
    for name, frame in (("train", competition.read_train(train_path)), ("test", competition.read_test(test_path))):
        labels = task.encode(frame, str(train_path)) if name == "train" else None
        texts = competition.joined_texts(frame)
        if encode == "group":
            split, counts = tokenize_groups(texts, group_column(frame, competition, name), tokenizer, max_length, labels)
            n_truncated = counts["past_max_length"]
        else:
            split, n_truncated, counts = encode_rows(frame, competition, tokenizer, max_length, labels, window_stride,
                                                     swap, getattr(task, "types", ("",)))
        split.save(out_dir / f"{name}.safetensors")
        lengths = split.lengths.float()
        summary["splits"][name] = {
            "texts": len(texts), "tokens": int(lengths.sum()), "mean_length": round(float(lengths.mean()), 2),
            "max_length": int(lengths.max()), "truncated": n_truncated, **counts,
        }
        if competition.group and competition.group in frame:
            summary["splits"][name]["groups"] = int(frame[competition.group].nunique())
        if labels is not None and labels.ndim == 1 and labels.dtype != object:  # class indices
            counts = np.bincount(labels, minlength=task.n_outputs)
            summary["splits"][name]["label_counts"] = dict(zip(task.output_names, map(int, counts)))
    return summary


def group_column(frame, competition, name: str):
    """Each row's group (competition.group); a file without that column makes each row its own group."""
    if competition.group not in frame:
        log.warning("%s has no %r column: each of its rows is its own group", name, competition.group)
        return range(len(frame))
    return frame[competition.group].tolist()


def prepare_alone_tensors(train_path: str | Path, test_path: str | Path, tokenizer, out_dir: str | Path,
                          max_length: int, competition, task) -> dict:
    """Config `read_alone` (with `encode: group`): the second reading of every training and test row read inside
    its group's text, each alone (`fasthf.encoding.shared.alone_readings`), written beside the grouped tensors as
    `train_alone.safetensors` and `test_alone.safetensors`; prediction averages the two readings."""
    check_shared_encoding(competition, task)
    out_dir, max_length = Path(out_dir), usable_max_length(tokenizer, max_length)
    summary = {"max_length": max_length, "splits": {}}
    for name, frame in (("train", competition.read_train(train_path)), ("test", competition.read_test(test_path))):
        labels = task.encode(frame, str(train_path)) if name == "train" else None
        split, counts = alone_readings(competition.joined_texts(frame), group_column(frame, competition, name),
                                       tokenizer, max_length, labels)
        split.save(out_dir / f"{name}_alone.safetensors")
        summary["splits"][name] = counts
    return summary
