"""Which training phrases each chain holds out: one table of folds, shared by every member and seed.

Folds are grouped by SentenceId (a sentence's sub-phrases on both sides would overstate accuracy by
several points). With `folds: K >= 2` every training phrase is held out by exactly one fold, so each
(member, seed) has an out-of-fold prediction for every training phrase. With `folds: 1` one seeded
fraction of the sentences is held out (fold 0) and the rest is never held out (fold -1): the fast path.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import pandas as pd

from .data import DataError, split_by_sentence
from .tensors import TokenizedSplit

NEVER_HELD_OUT = -1


def assign_folds(train: pd.DataFrame, folds: int, valid_fraction: float, seed: int) -> pd.DataFrame:
    """PhraseId, SentenceId and fold for every training phrase, in train.tsv's order."""
    table = train[["PhraseId", "SentenceId"]].copy()
    if folds == 1:
        _, held_out = split_by_sentence(train, valid_fraction, seed)  # the same split as ever for a seed
        table["fold"] = np.where(table.PhraseId.isin(held_out.PhraseId), 0, NEVER_HELD_OUT)
        return table
    n_sentences = train.SentenceId.nunique()
    if folds > n_sentences:
        raise DataError(f"folds: {folds} is more than the {n_sentences} sentences of train.tsv: use at most "
                        f"{n_sentences}")
    from sklearn.model_selection import GroupKFold

    table["fold"] = NEVER_HELD_OUT
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, held_out) in enumerate(splitter.split(table, groups=table.SentenceId)):
        table.loc[table.index[held_out], "fold"] = fold
    return table


def fold_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per fold: phrases and sentences held out."""
    return (table.groupby("fold").agg(phrases=("PhraseId", "size"), sentences=("SentenceId", "nunique"))
            .reset_index())


@dataclass(frozen=True)
class FoldData:
    """One chain's data: the member's tokenized training phrases, split by the folds table."""
    tensors: str  # train.safetensors: every training phrase, tokenized once per member
    folds: str    # folds.csv
    fold: int

    def load(self) -> tuple[TokenizedSplit, TokenizedSplit]:
        """(training side, held-out side) of this fold."""
        phrases, held_out = self._phrases_and_mask()
        return phrases.subset(np.flatnonzero(~held_out)), phrases.subset(np.flatnonzero(held_out))

    def held_out(self) -> TokenizedSplit:
        """The held-out side only (what prediction needs), without building the training side."""
        phrases, held_out = self._phrases_and_mask()
        return phrases.subset(np.flatnonzero(held_out))

    def _phrases_and_mask(self) -> tuple[TokenizedSplit, np.ndarray]:
        phrases = TokenizedSplit.load(self.tensors)
        return phrases, held_out_mask(pd.read_csv(self.folds), phrases.phrase_ids.numpy(), self.fold)


def held_out_mask(table: pd.DataFrame, phrase_ids: np.ndarray, fold: int) -> np.ndarray:
    """True where the phrase is held out by `fold`; every phrase must be in the folds table."""
    fold_of = table.set_index("PhraseId").fold
    missing = ~np.isin(phrase_ids, fold_of.index)
    if missing.any():
        raise DataError(f"{int(missing.sum())} tokenized phrase(s) are not in the folds table (first PhraseId "
                        f"{int(phrase_ids[missing][0])}): the tensors and folds.csv come from different train.tsv files")
    if fold not in set(fold_of):
        raise DataError(f"fold {fold} is not in the folds table (folds: {sorted(set(fold_of) - {NEVER_HELD_OUT})})")
    return fold_of.reindex(phrase_ids).to_numpy() == fold
