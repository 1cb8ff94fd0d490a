"""Looking at the model and the data: the plots and tables a person reads (confusion matrix, per-class
accuracy, scores per member, loss curves, predicted against true values) and a decoded batch.

`pyplot()` is the one place matplotlib is set up to draw off screen; every plot goes through it."""
from __future__ import annotations

import numpy as np
import pandas as pd


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


def pyplot():
    """matplotlib's pyplot, drawing off screen (jobs run where there is no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure(width: float, height: float, columns: int = 1):
    """A matplotlib figure and its axes (a row of `columns`), off screen."""
    return pyplot().subplots(1, columns, figsize=(width, height), squeeze=False)


def plot_confusion(matrix: np.ndarray, label_names: list[str], title: str):
    """Rows true, columns predicted; each cell's count and its share of the row."""
    fig, axes = figure(6.5, 5.5)
    ax = axes[0][0]
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


def plot_bars(names: list[str], values, xlabel: str, title: str, colours=None, xlim=None):
    """Horizontal bars, first name on top, each with its value written beside it."""
    fig, axes = figure(7, 0.5 + 0.45 * len(names))
    ax = axes[0][0]
    values = np.asarray(values, dtype=np.float64)
    ax.barh(list(names)[::-1], values[::-1], color="#3182bd" if colours is None else list(colours)[::-1])
    for y, value in enumerate(values[::-1]):
        ax.text(value, y, f" {value:.4f}", va="center", fontsize=8)
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_scores(table: pd.DataFrame, metric):
    """Out-of-fold score of each row of the ensemble's table (seeds, members, the blend), as bars."""
    colours = table.kind.map({"seed": "#9ecae1", "member": "#3182bd", "ensemble": "#e6550d", "decision": "#fd8d3c"})
    scores = table[metric.name]
    spread = max(0.05, float(scores.max() - scores.min()))
    return plot_bars(table.name.tolist(), scores, f"out-of-fold {metric.name} "
                     f"({'higher' if metric.greater_is_better else 'lower'} is better)",
                     f"{int(table.rows.iloc[-1])} held-out training rows", colours,
                     (max(0.0, float(scores.min()) - spread), float(scores.max()) + spread))


def plot_predicted_against_true(y: np.ndarray, outputs: np.ndarray, targets: list[str], title: str):
    """One panel per target: each row's predicted value against its true one, and the diagonal."""
    fig, axes = figure(5 * len(targets), 4.5, len(targets))
    for k, ax in enumerate(axes[0]):
        ax.scatter(y[:, k], outputs[:, k], s=4, alpha=0.4)
        low, high = float(min(y[:, k].min(), outputs[:, k].min())), float(max(y[:, k].max(), outputs[:, k].max()))
        ax.plot([low, high], [low, high], color="#e6550d", linewidth=1)
        ax.set_xlabel(f"true {targets[k]}")
        ax.set_ylabel("predicted")
    fig.suptitle(title)
    return fig


def plot_losses(recorder, title: str):
    """fastai's training and validation loss curves of one stage, epochs marked."""
    fig, axes = figure(7, 4)
    ax = axes[0][0]
    recorder.plot_loss(skip_start=0, show_epochs=True, ax=ax)
    ax.set_title(title)
    ax.legend()
    return fig


def decoded_batch(split, tokenizer, idxs, task=None) -> pd.DataFrame:
    """fastai's `show_batch` for token ids (of a `fasthf.encoding.tensors.TokenizedSplit` or `fasthf.encoding.shared.GroupedSplit`):
    each row's tokens exactly as the model receives them,
    padding included, with the mask and target beside; with shared encoding (`fasthf.encoding.shared`) each row of
    the units `idxs` with its unit's tokens and its span's; with choices (`fasthf.encoding.choices`) a line per option."""
    batch = split.collate(idxs)
    ids, mask = batch[0], batch[1]
    if ids.ndim == 3:  # (rows, options, length): multiple choice
        return _decoded_options(split, tokenizer, idxs, task, batch)
    labels = batch[-1] if split.labels is not None else None
    spans = batch[split.n_inputs - 1] if hasattr(split, "units") else None
    positions = split.positions(idxs)
    rows = []
    for r, position in enumerate(positions.tolist()):
        b, start, end = spans[r].tolist() if spans is not None else (r, 0, None)
        row = {"row": int(split.rows[position]),
               "tokens": " ".join(tokenizer.convert_ids_to_tokens(ids[b].tolist())),
               "attention_mask": "".join(map(str, mask[b].tolist()))}
        if spans is not None:
            row["span"] = " ".join(tokenizer.convert_ids_to_tokens(ids[b, start:end].tolist()))
        if labels is not None:
            target = labels[r]
            if target.ndim == 0 and task is not None:
                row["label"] = task.output_names[int(target)]
            else:
                row["label"] = ", ".join(f"{float(v):g}" for v in target.reshape(-1).tolist())
        rows.append(row)
    return pd.DataFrame(rows)


def _decoded_options(split, tokenizer, idxs, task, batch) -> pd.DataFrame:
    """`decoded_batch` of a multiple-choice split: a line per option of each row (its pair with the question)."""
    ids, mask = batch[0], batch[1]
    names = task.output_names if task is not None else list(range(ids.shape[1]))
    rows = []
    for r, position in enumerate(split.positions(idxs).tolist()):
        for k in range(ids.shape[1]):
            row = {"row": int(split.rows[position]), "option": names[k],
                   "tokens": " ".join(tokenizer.convert_ids_to_tokens(ids[r, k].tolist())),
                   "attention_mask": "".join(map(str, mask[r, k].tolist()))}
            if split.labels is not None:
                row["label"] = names[int(batch[-1][r])]
            rows.append(row)
    return pd.DataFrame(rows)
