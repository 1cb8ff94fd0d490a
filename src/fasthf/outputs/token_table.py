"""The per-token outputs table of a span task: what its jobs hand on where other tasks hand one row of outputs.

    row,start,end,out_0,out_1,...

One line per token that read characters of its row's text (`start`, `end`: those characters, leading
whitespace left out: `fasthf.encoding.span_tokens.token_ranges`), `out_k` its probability of tag k. A token
read in two windows of a long text has a line per window. Characters take the mean over every line that
covers them, then units the mean over their characters (`fasthf.tasks.spans.Spans.unit_probs`): so windows
merge per character, and members with different tokenizers can blend per unit, whatever tokens each read.
`decoded` turns a table back into each text's spans, through the task's decoding.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from fasthf.io import write_csv
from fasthf.outputs.table import PREFIX, ROW, output_columns

if TYPE_CHECKING:
    from fasthf.tasks.spans import Spans

START, END = "start", "end"


@dataclass
class TokenOutputs:
    """`outputs[i]` of the token covering characters `ranges[i]` of row `rows[i]`'s text."""
    rows: np.ndarray
    ranges: np.ndarray
    outputs: np.ndarray

    def __post_init__(self):
        self.rows = np.asarray(self.rows, dtype=np.int64)
        self.ranges = np.asarray(self.ranges, dtype=np.int64).reshape(len(self.rows), 2)
        self.outputs = np.asarray(self.outputs, dtype=np.float64).reshape(len(self.rows), -1)

    @classmethod
    def of_split(cls, split, outputs: Sequence[np.ndarray]) -> "TokenOutputs":
        """From a span split (`fasthf.encoding.span_split`) and each of its sequences' outputs per token, in the
        split's order: the tokens that read characters of the text (the others: special, pair, whitespace)."""
        if len(outputs) != len(split):
            raise ValueError(f"{len(outputs)} sequences of outputs for a split of {len(split)}")
        ranges = split.char_ranges.numpy().astype(np.int64)
        lengths = split.lengths.numpy()
        rows = np.repeat(split.rows.numpy(), lengths)
        flat = np.concatenate([np.asarray(o, dtype=np.float64) for o in outputs]) if len(outputs) else np.zeros((0, 0))
        if len(flat) != len(ranges):
            raise ValueError(f"{len(flat)} tokens of outputs for a split of {len(ranges)} tokens")
        kept = ranges[:, 0] >= 0
        return cls(rows[kept], ranges[kept], flat[kept])

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.outputs, columns=output_columns(self.outputs.shape[1]))
        frame.insert(0, END, self.ranges[:, 1])
        frame.insert(0, START, self.ranges[:, 0])
        frame.insert(0, ROW, self.rows)
        return frame

    def write(self, path: str | Path) -> None:
        write_csv(path, self.to_frame())

    @classmethod
    def read(cls, path: str | Path) -> "TokenOutputs":
        frame = pd.read_csv(path)
        columns = [c for c in frame.columns if c.startswith(PREFIX)]
        return cls(frame[ROW].to_numpy(), frame[[START, END]].to_numpy(), frame[columns].to_numpy(dtype=np.float64))

    def by_row(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """{row: (its tokens' character ranges, their outputs)}, the rows in file order."""
        order = np.argsort(self.rows, kind="stable")
        rows, ranges, outputs = self.rows[order], self.ranges[order], self.outputs[order]
        cuts = np.flatnonzero(np.diff(rows)) + 1
        return {int(r[0]): (g, o) for r, g, o in zip(np.split(rows, cuts), np.split(ranges, cuts),
                                                     np.split(outputs, cuts)) if len(r)}


def decoded(task: Spans, texts: Sequence[str], units: TokenOutputs | None, rows: Sequence[int],
            threshold: float | None = None, by_row: dict | None = None) -> list[list]:
    """Each of `rows`' spans, decoded from its units (a row the table lacks has none; `by_row`: `units.by_row()`
    already computed, for decoding the same table many times)."""
    by_row = units.by_row() if by_row is None else by_row
    return [task.decode_text(texts[row], by_row[row][1], by_row[row][0], threshold) if row in by_row else []
            for row in rows]
