"""Out-of-fold evaluation and blending of the ensemble's members.

Each (member, seed, fold) chain predicts the phrases its fold held out and the test phrases. Per
(member, seed) the held-out predictions of all folds make one out-of-fold prediction per training
phrase and the folds' test predictions are averaged; a member averages its seeds. The members are
blended by a weighted average of probabilities whose weights minimise the out-of-fold log loss: fitted
on out-of-fold predictions and training labels only, never on anything from test. An ensemble of one
has weight 1: its answers are the member's own.

The ensemble's own out-of-fold accuracy is cross-fitted (with K >= 2 folds, fold k's rows are blended
with weights fitted on the other folds), so it is not flattered by fitting and scoring on the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import softmax

from .data import LABEL_NAMES, N_LABELS
from .evaluation import confusion_matrix, per_class_accuracy

PROB_COLUMNS = [f"prob_{k}" for k in range(N_LABELS)]


class EnsembleError(ValueError):
    """Chains' predictions that do not fit together (a phrase predicted twice, or missing)."""


@dataclass
class Predictions:
    """Probabilities for phrases: `probs[i]` belongs to `phrase_ids[i]`."""
    phrase_ids: np.ndarray
    probs: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "Predictions":
        return cls(frame.PhraseId.to_numpy(), frame[PROB_COLUMNS].to_numpy(dtype=np.float64))

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.probs, columns=PROB_COLUMNS)
        frame.insert(0, "PhraseId", self.phrase_ids)
        frame["Sentiment"] = self.probs.argmax(axis=1)
        return frame

    def aligned(self, phrase_ids: np.ndarray) -> np.ndarray:
        """The probabilities in the order of `phrase_ids`, all of which must be here."""
        position = pd.Series(np.arange(len(self.phrase_ids)), index=self.phrase_ids)
        missing = ~np.isin(phrase_ids, self.phrase_ids)
        if missing.any():
            raise EnsembleError(f"{int(missing.sum())} phrase(s) have no prediction (first PhraseId "
                                f"{int(np.asarray(phrase_ids)[missing][0])})")
        return self.probs[position.loc[phrase_ids].to_numpy()]


def out_of_fold(held_out: list[Predictions]) -> Predictions:
    """The folds' held-out predictions as one; a phrase held out by two folds is an error."""
    ids = np.concatenate([p.phrase_ids for p in held_out])
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise EnsembleError(f"PhraseId {int(unique[counts > 1][0])} is held out by more than one fold")
    return Predictions(ids, np.concatenate([p.probs for p in held_out]))


def mean(predictions: list[Predictions]) -> Predictions:
    """Average probabilities over predictions of the same phrases (folds on test, or seeds)."""
    ids = predictions[0].phrase_ids
    return Predictions(ids, np.mean([p.aligned(ids) for p in predictions], axis=0))


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None)).mean())


def blend(probs: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return np.tensordot(np.asarray(weights), np.stack(probs), axes=1)


def fit_weights(probs: list[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise the log loss of the blend on these rows."""
    if len(probs) == 1:
        return np.ones(1)
    objective = lambda logits: log_loss(blend(probs, softmax(logits)), labels)  # noqa: E731
    found = minimize(objective, np.zeros(len(probs)), method="L-BFGS-B")
    return softmax(found.x)


def cross_fitted_blend(probs: list[np.ndarray], labels: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each fold's rows blended with weights fitted on the other folds' rows (one fold: on itself)."""
    folds = np.asarray(folds)
    if len(np.unique(folds)) < 2:
        return blend(probs, fit_weights(probs, labels))
    out = np.empty_like(probs[0])
    for fold in np.unique(folds):
        rows, others = folds == fold, folds != fold
        weights = fit_weights([p[others] for p in probs], labels[others])
        out[rows] = blend([p[rows] for p in probs], weights)
    return out


def accuracy_row(probs: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, log loss and accuracy within each true class."""
    matrix = confusion_matrix(labels, probs.argmax(axis=1), N_LABELS)
    per_class = per_class_accuracy(matrix, LABEL_NAMES)
    return {"phrases": int(len(labels)), "accuracy": float(matrix.trace() / max(matrix.sum(), 1)),
            "log_loss": log_loss(probs, labels),
            **{f"accuracy {name}": float(acc) for name, acc in zip(per_class.label, per_class.accuracy)}}


@dataclass
class Member:
    """One member's predictions per seed: out-of-fold and on test."""
    name: str
    model: str
    oof: dict[int, Predictions]   # seed -> out-of-fold predictions
    test: dict[int, Predictions]  # seed -> test predictions (mean over folds)
    seconds: dict[int, float]     # seed -> training and prediction time over all folds


def evaluate_ensemble(members: list[Member], labels: pd.Series, folds: pd.Series) -> dict:
    """Blend the members; score every seed, member and the ensemble out of fold.

    `labels` and `folds` are indexed by PhraseId and come from train.tsv and the folds table: the only
    targets anything here is fitted to. Returns the table (one row per seed, per member of several
    seeds, and the ensemble), the weights, and the blended out-of-fold and test predictions.
    """
    phrase_ids = np.sort(next(iter(members[0].oof.values())).phrase_ids)
    test_ids = next(iter(members[0].test.values())).phrase_ids
    y, fold_of = labels.loc[phrase_ids].to_numpy(), folds.loc[phrase_ids].to_numpy()
    rows, member_oof, member_test = [], [], []
    for member in members:
        describe = {"member": member.name, "model": member.model}
        for seed, oof in member.oof.items():
            rows.append({"name": f"{member.name} seed {seed}", "kind": "seed", **describe, "seed": seed,
                         **accuracy_row(oof.aligned(phrase_ids), y), "seconds": member.seconds[seed]})
        member_oof.append(mean(list(member.oof.values())).aligned(phrase_ids))
        member_test.append(mean(list(member.test.values())).aligned(test_ids))
        if len(member.oof) > 1:
            rows.append({"name": f"{member.name} ({len(member.oof)} seeds)", "kind": "member", **describe,
                         **accuracy_row(member_oof[-1], y), "seconds": sum(member.seconds.values())})
        else:
            rows[-1]["kind"] = "member"  # one seed: the seed is the member
    weights = fit_weights(member_oof, y)
    oof_blend = cross_fitted_blend(member_oof, y, fold_of)
    rows.append({"name": "ensemble", "kind": "ensemble", **accuracy_row(oof_blend, y),
                 "seconds": sum(sum(m.seconds.values()) for m in members)})
    table = pd.DataFrame(rows)
    by_member = dict(zip([m.name for m in members], map(float, weights)))
    table["weight"] = np.where(table.kind == "member", table.member.map(by_member),
                               np.where(table.kind == "ensemble", 1.0, np.nan))
    table["seconds"] = table.seconds.round(1)
    table["seed"] = table.seed.astype("Int64")
    return {"table": table, "weights": by_member, "labels": y,
            "oof": Predictions(phrase_ids, oof_blend), "test": Predictions(test_ids, blend(member_test, weights))}


def plot_accuracy(table: pd.DataFrame):
    """Out-of-fold accuracy of each row of the table, as bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(table)))
    colours = table.kind.map({"seed": "#9ecae1", "member": "#3182bd", "ensemble": "#e6550d"})
    ax.barh(table.name[::-1], table.accuracy[::-1], color=colours[::-1])
    for y, value in enumerate(table.accuracy[::-1]):
        ax.text(value, y, f" {value:.4f}", va="center", fontsize=8)
    low = max(0.0, float(table.accuracy.min()) - 0.05)
    ax.set_xlim(low, min(1.0, float(table.accuracy.max()) + 0.05))
    ax.set_xlabel("out-of-fold accuracy")
    ax.set_title(f"{int(table.phrases.iloc[-1])} held-out training phrases")
    fig.tight_layout()
    return fig
