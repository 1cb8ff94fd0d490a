"""A span task's texts made into cached tensors: every text read whole, in windows where it is long, each
token with its characters and (for training) its tag.

A span may lie anywhere in a text, so no text is truncated: one longer than `max_length` tokens is read in
windows (`fasthf.encoding.windows.encode_windows`) that share `window_stride` tokens, a quarter of
`max_length` where the config sets none. A conditioning text (the label a span carries, a question, a
feature's description) is the pair, repeated whole in each window; only the text's own tokens are tagged
and carry characters. The split is a `TokenizedSplit` with one sequence per window (`rows`: the window's
row), `tags` and `char_ranges` per token (`fasthf.encoding.span_tokens`).
"""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import torch

from fasthf.encoding.span_tokens import IGNORE, token_ranges, token_tags, trimmed
from fasthf.encoding.tensors import Padding, TokenizedSplit, _flatten, usable_max_length
from fasthf.encoding.windows import check_window_stride, encode_windows, pair_room, window_counts

log = logging.getLogger(__name__)


class SpanEncodingError(ValueError):
    """A tokenizer or setting a span task cannot read its texts with; the message says what to do."""


def default_stride(max_length: int) -> int:
    return max(max_length // 4, 1)


def span_split(texts: Sequence[str], tokenizer, max_length: int, types: Sequence[str], spans=None,
               pairs: Sequence[str] | None = None, window_stride: int | None = None) -> tuple[TokenizedSplit, dict]:
    """The split of `texts` (row i is text i) and its counts (`windowed`: texts read in several windows,
    `windows`: their windows, `spans`: spans tagged). `spans`: per text its spans (`fasthf.inputs.span_labels.Span`)
    for training; without them every token of the text is tagged `IGNORE` (a test split)."""
    if not getattr(tokenizer, "is_fast", False):
        raise SpanEncodingError(f"a span task needs a fast tokenizer (its offsets say which characters each token "
                                f"read); {type(tokenizer).__name__} is not one: pick a model with a fast tokenizer")
    max_length = usable_max_length(tokenizer, max_length)
    stride = default_stride(max_length) if window_stride is None else window_stride
    check_window_stride(tokenizer, max_length, stride, pair=pairs is not None)
    if pairs is not None and len(pairs):
        room = pair_room(tokenizer, list(pairs), max_length)
        if (room <= stride).any():  # no window could move on through the text: it would be cut short
            row = int(np.argmin(room))
            raise SpanEncodingError(f"row {row + 1}'s pair {str(pairs[row])[:60]!r} leaves {max(int(room[row]), 0)} of "
                                    f"max_length={max_length} tokens a window for the text, not more than the "
                                    f"window_stride of {stride}: raise max_length, or lower window_stride")
    want_types = "token_type_ids" in tokenizer.model_input_names
    windows = encode_windows(tokenizer, list(texts), max_length, stride, None if pairs is None else list(pairs),
                             token_types=want_types, offsets=True)
    kept = None if spans is None else [trimmed(text, row_spans) for text, row_spans in zip(texts, spans)]
    tags, ranges = [], []
    for w, row in enumerate(windows["sample"]):
        text = texts[row]
        in_text = [s == 0 for s in windows["sequence_ids"][w]]
        window_ranges = token_ranges(text, windows["offset_mapping"][w], in_text)
        ranges.append(window_ranges)
        tags.append(np.full(len(window_ranges), IGNORE, dtype=np.int64) if kept is None
                    else token_tags(kept[row], window_ranges, types))
    n_spans = 0 if kept is None else sum(map(len, kept))
    lengths = np.fromiter((len(ids) for ids in windows["input_ids"]), dtype=np.int64, count=len(windows["input_ids"]))
    rows = torch.as_tensor(np.asarray(windows["sample"], dtype=np.int64))
    split = TokenizedSplit(
        input_ids=_flatten(windows["input_ids"], np.int32),
        offsets=torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)])),
        rows=rows,
        padding=Padding.of(tokenizer),
        token_type_ids=None if windows["token_type_ids"] is None else _flatten(windows["token_type_ids"], np.int8),
        tags=torch.from_numpy(np.concatenate(tags).astype(np.int16)) if tags else torch.zeros(0, dtype=torch.int16),
        char_ranges=torch.from_numpy(np.concatenate(ranges).astype(np.int32)) if ranges
        else torch.zeros((0, 2), dtype=torch.int32),
    )
    windowed, n_windows = window_counts(rows)
    if windowed:
        log.info("%d of %d texts are longer than max_length=%d: read whole in %s windows (stride %d)",
                 windowed, len(texts), max_length, f"{n_windows:,}", stride)
    return split, {"texts": len(texts), "windowed": windowed, "windows": n_windows, "spans": n_spans}


def window_outputs(split: TokenizedSplit, outputs: Sequence[np.ndarray]):
    """Per row, its windows' (character ranges, outputs): what `fasthf.encoding.span_tokens.character_outputs`
    merges. `outputs[k]`: sequence k's outputs per token (tokens, tags), in the split's order."""
    by_row: dict[int, list] = {}
    for k, row in enumerate(split.rows.tolist()):
        start, end = int(split.offsets[k]), int(split.offsets[k + 1])
        by_row.setdefault(row, []).append((split.char_ranges[start:end].numpy().astype(np.int64),
                                           np.asarray(outputs[k])))
    return by_row
