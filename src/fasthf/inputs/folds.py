"""Which training rows each chain holds out: one table of folds, shared by every member and seed.

With a group column (pieces of one document: rows of one group on both sides would overstate the
held-out score) folds keep each group's rows together (GroupKFold); without one, single-label tasks are
stratified by the label (StratifiedKFold) and the others split at random (KFold). With `folds: K >= 2`
every training row is held out by exactly one fold, so each (member, seed) has an out-of-fold
prediction for every row. With `folds: 1` one seeded fraction of the groups (or rows) is held out
(fold 0) and the rest is never held out (fold -1): the fast path.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fasthf.inputs.data import DataError

if TYPE_CHECKING:  # torch only where tensors are read: the folds job starts seconds sooner
    from fasthf.encoding.tensors import TokenizedSplit

NEVER_HELD_OUT = -1


def held_out_groups(groups: np.ndarray, valid_fraction: float, seed: int) -> np.ndarray:
    """True for the rows of a seeded random fraction of the *groups*, so no group has rows on
    both sides; each row its own group holds out a random fraction of rows."""
    distinct = np.sort(pd.unique(np.asarray(groups)))
    n_valid = max(1, round(len(distinct) * valid_fraction))
    chosen = np.random.default_rng(seed).choice(distinct, size=n_valid, replace=False)
    return np.isin(groups, chosen)


def assign_folds(ids, groups: np.ndarray, folds: int, valid_fraction: float, seed: int,
                 labels: np.ndarray | None = None) -> pd.DataFrame:
    """row, id, group and fold of every training row, in the training file's order.

    `labels` (single-label classes) stratify the folds where there is no real group (each row its own).
    """
    groups = np.asarray(groups)
    table = pd.DataFrame({"row": np.arange(len(groups)), "id": np.asarray(ids), "group": groups})
    if folds == 1:  # the same split as ever for a seed
        table["fold"] = np.where(held_out_groups(groups, valid_fraction, seed), 0, NEVER_HELD_OUT)
        return table
    n_groups = len(pd.unique(groups))
    if folds > n_groups:
        raise DataError(f"folds: {folds} is more than the {n_groups} groups of the training file: use at most "
                        f"{n_groups}")
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    ungrouped = n_groups == len(groups)
    if ungrouped and labels is not None and np.bincount(labels).min(initial=folds) >= folds:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(groups, labels)
    elif ungrouped:
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(groups)
    else:
        splits = GroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(groups, groups=groups)
    table["fold"] = NEVER_HELD_OUT
    for fold, (_, held_out) in enumerate(splits):
        table.loc[table.index[held_out], "fold"] = fold
    return table


def fold_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per fold: rows and groups held out."""
    return table.groupby("fold").agg(rows=("row", "size"), groups=("group", "nunique")).reset_index()


REFIT = "refit"
MONITOR_ROWS = 2000


def fold_number(split: str) -> int | None:
    """A chain's split as FoldData takes it: `fold3` -> 3, `refit` -> None (nothing held out)."""
    if split == REFIT:
        return None
    if not split.startswith("fold") or not split[4:].isdigit():
        raise ValueError(f"a chain's split is fold<k> or {REFIT}, not {split!r}")
    return int(split[4:])


@dataclass(frozen=True)
class FoldData:
    """One chain's data: the member's tokenized training rows, split by the folds table.

    `fold` None is a refit: every row trains. Its "validation" side is then a fixed sample of
    MONITOR_ROWS training rows, only so the stage logs show the fit progressing: not held out.
    """
    tensors: str  # train.safetensors: every training row, tokenized once per member
    folds: str    # folds.csv
    fold: int | None
    every_row: bool = True  # False: tensors of some rows only (read_alone's second readings, train_alone.safetensors)

    @property
    def holds_out(self) -> bool:
        return self.fold is not None

    def load(self) -> tuple[TokenizedSplit, TokenizedSplit]:
        """(training side, held-out side) of this fold; for a refit (every row, monitoring sample)."""
        texts, held_out = self._rows_and_mask()
        if not self.holds_out:
            monitor = np.sort(np.random.default_rng(0).permutation(len(held_out))[:MONITOR_ROWS])
            return texts.subset(np.arange(len(held_out))), texts.subset(monitor)
        return texts.subset(np.flatnonzero(~held_out)), texts.subset(np.flatnonzero(held_out))

    def held_out(self) -> TokenizedSplit:
        """The held-out side only (what prediction needs), without building the training side."""
        texts, held_out = self._rows_and_mask()
        return texts.subset(np.flatnonzero(held_out))

    def _rows_and_mask(self) -> tuple[TokenizedSplit, np.ndarray]:
        from fasthf.encoding.tensor_cache import load_split

        texts = load_split(self.tensors)
        return texts, held_out_mask(pd.read_csv(self.folds), texts.rows.numpy(), self.fold, self.every_row)


def held_out_mask(table: pd.DataFrame, rows: np.ndarray, fold: int | None, every_row: bool = True) -> np.ndarray:
    """True where the row is held out by `fold` (None, a refit: nowhere); every row must be in the folds table,
    and with `every_row` every row of the table among `rows`.

    `rows` are the sequences' row numbers: a long text read in windows (`fasthf.encoding.windows`) has one per window,
    so every window of a row falls on its row's side."""
    fold_of = table.set_index("row").fold
    missing = ~np.isin(rows, fold_of.index)
    if missing.any() or (every_row and len(table) != len(np.unique(rows))):
        raise DataError(f"the tokenized training rows ({len(rows)}) and folds.csv ({len(table)} rows) come from "
                        f"different training files: rerun preprocess and folds")
    if fold is None:
        return np.zeros(len(rows), dtype=bool)
    if fold not in set(fold_of):
        raise DataError(f"fold {fold} is not in the folds table (folds: {sorted(set(fold_of) - {NEVER_HELD_OUT})})")
    return fold_of.reindex(rows).to_numpy() == fold
