"""Looking at the model and the data: confusion matrix, per-class accuracy, a decoded batch."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the ensemble's diagnostics use this module and need no torch
    from .tensors import TokenizedSplit


def confusion_matrix(labels, predictions, n_classes: int) -> np.ndarray:
    """Rows: true class; columns: predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray, label_names: list[str]) -> pd.DataFrame:
    support = matrix.sum(axis=1)
    correct = np.diag(matrix)
    return pd.DataFrame({"class": range(len(label_names)), "label": label_names, "support": support,
                         "correct": correct, "accuracy": np.where(support > 0, correct / np.maximum(support, 1), np.nan),
                         "predicted": matrix.sum(axis=0)})


def figure(width: float, height: float, columns: int = 1):
    """A matplotlib figure and its axes, off screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(width, height), squeeze=False)


def plot_confusion(matrix: np.ndarray, label_names: list[str], title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, f"{count}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=8,
                color="white" if share[i, j] > 0.5 else "black")
    ticks = range(len(label_names))
    ax.set_xticks(ticks, label_names, rotation=30, ha="right")
    ax.set_yticks(ticks, label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title)
    return fig


def decoded_batch(split: TokenizedSplit, tokenizer, idxs, task=None) -> pd.DataFrame:
    """fastai's `show_batch` for token ids: each row's tokens exactly as the model receives them,
    padding included, with the mask and target beside."""
    batch = split.collate(idxs)
    ids, mask = batch[0], batch[1]
    labels = batch[-1] if split.labels is not None else None
    rows = []
    for r, i in enumerate(idxs):
        row = {"row": int(split.rows[i]),
               "tokens": " ".join(tokenizer.convert_ids_to_tokens(ids[r].tolist())),
               "attention_mask": "".join(map(str, mask[r].tolist()))}
        if labels is not None:
            target = labels[r]
            if target.ndim == 0 and task is not None:
                row["label"] = task.output_names[int(target)]
            else:
                row["label"] = ", ".join(f"{float(v):g}" for v in target.reshape(-1).tolist())
        rows.append(row)
    return pd.DataFrame(rows)
