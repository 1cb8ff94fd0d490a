"""The tensors cache of a competition: its training and test files tokenized once per tokenizer
(`prepare_tensors`), as rows (`fasthf.tensors`), windows of long texts (`fasthf.windows`) or groups encoded
once (`fasthf.spans`), and read back as the split they were written as (`load_split`)."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from safetensors.torch import load_file

from .spans import GroupedSplit, SharedEncodingError, check_shared_encoding, tokenize_groups
from .tensors import Padding, TokenizedSplit, tokenize_split, usable_max_length
from .windows import window_counts

log = logging.getLogger(__name__)


def load_split(path: str | Path):
    """The cached tensors at `path`: a `TokenizedSplit`, or a `GroupedSplit` where they were encoded by group."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata()
    if metadata.get("encode") == "group":
        return GroupedSplit.from_tensors(load_file(str(path)), Padding.from_metadata(metadata))
    return TokenizedSplit.load(path)


def prepare_tensors(train_path: str | Path, test_path: str | Path, tokenizer, out_dir: str | Path,
                    max_length: int, competition, task, encode: str = "row", window_stride: int | None = None) -> dict:
    """Tokenize the competition files once per tokenizer: every training row with its encoded targets
    (the folds pick their rows later, see fasthf.folds) and the test rows; write the tensors and a summary.

    `encode: group` encodes each group's text once and finds its rows in it (`fasthf.spans`).
    `window_stride` reads texts longer than `max_length` in overlapping windows (`fasthf.windows`); the
    summary then counts per split the texts cut (`windowed`) and their `windows`."""
    if encode == "group" and window_stride is not None:
        raise SharedEncodingError(f"window_stride: {window_stride} reads long texts in windows, which encode: group "
                                  f"does not support (each row there is a span of its group's one encoding): set "
                                  f"window_stride: null or encode: row")
    if encode == "group":
        check_shared_encoding(competition, task)
    out_dir = Path(out_dir)
    max_length = usable_max_length(tokenizer, max_length)
    summary = {"tokenizer": type(tokenizer).__name__, "padding_side": tokenizer.padding_side,
               "max_length": max_length, "text": list(competition.text), "text_pair": competition.text_pair,
               "encode": encode, "window_stride": window_stride, "splits": {}}
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
            split, n_truncated = tokenize_split(texts, tokenizer, max_length, competition.pairs(frame), labels,
                                                window_stride)
            counts = {}
            if window_stride is not None:
                counts = dict(zip(("windowed", "windows"), window_counts(split.rows.numpy())))
        split.save(out_dir / f"{name}.safetensors")
        lengths = split.lengths.float()
        summary["splits"][name] = {
            "texts": len(texts), "tokens": int(lengths.sum()), "mean_length": round(float(lengths.mean()), 2),
            "max_length": int(lengths.max()), "truncated": n_truncated, **counts,
        }
        if competition.group and competition.group in frame:
            summary["splits"][name]["groups"] = int(frame[competition.group].nunique())
        if labels is not None and labels.ndim == 1:
            counts = np.bincount(labels, minlength=task.n_outputs)
            summary["splits"][name]["label_counts"] = dict(zip(task.output_names, map(int, counts)))
    return summary
