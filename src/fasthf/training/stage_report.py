"""What a training stage leaves behind, written by one function: its checkpoint, `metrics.json`,
`history.csv` (per epoch), `groups.csv` (which layer groups trained), `valid_outputs.csv` (the last
validation pass's outputs: a chain's last stage's are its held-out predictions; a span task's per token,
`fasthf.outputs.token_table`) and `loss.png`."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch
from fastai.learner import Learner

from fasthf.io import atomic_dir, save_figure, write_csv, write_json
from fasthf.models.architectures import count_parameters
from fasthf.outputs.prediction import outputs_table
from fasthf.tasks import Task
from fasthf.training.callbacks import LogProgress, clock
from fasthf.training.evaluation import plot_losses
from fasthf.training.recipe import Stage, TrainSettings

log = logging.getLogger(__name__)


def group_name(i: int, n_groups: int) -> str:
    return "embeddings" if i == 0 else "head" if i == n_groups - 1 else f"layer {i - 1}"


def trainable_groups(learn: Learner) -> list[dict]:
    """Per layer group: parameter count and whether it trains (the `learner.summary()` essentials)."""
    rows = []
    n_groups = len(learn.opt.param_lists)
    for i, group in enumerate(learn.opt.param_lists):
        trainable = [p.requires_grad for p in group]
        rows.append({"group": i, "name": group_name(i, n_groups), "parameters": count_parameters(group),
                     "trainable": all(trainable), "partly_trainable": any(trainable) and not all(trainable)})
    return rows


def epoch_history(learn: Learner, epoch_seconds: list[float]) -> pd.DataFrame:
    names = [n for n in learn.recorder.metric_names if n not in ("epoch", "time")]
    rows = [dict(zip(names, map(float, values))) for values in learn.recorder.values]
    for i, row in enumerate(rows):
        row["epoch"] = i + 1
        if i < len(epoch_seconds):
            row["seconds"] = round(epoch_seconds[i], 2)
    return pd.DataFrame(rows, columns=["epoch", *names, "seconds"])


def write_stage_files(out_dir: Path, learn: Learner, stage: Stage, index: int, lr, groups: list[dict],
                      outputs: torch.Tensor, seconds: float, holds_out: bool, settings: TrainSettings,
                      task: Task, stopped_early: str | None = None, epochs_trained: float | None = None) -> dict:
    """Every file of a finished stage; returns its metrics (what `metrics.json` holds). `stopped_early`: where and
    why the time limit ended it (`fasthf.training.callbacks.Deadline`), after `epochs_trained` of its epochs."""
    label = stage.name or f"stage {index}"
    progress = next((cb for cb in learn.cbs if isinstance(cb, LogProgress)), None)
    history = epoch_history(learn, progress.epoch_seconds if progress else [])
    last = history.iloc[-1]
    metric_names = [n for n in history.columns if n not in ("epoch", "train_loss", "valid_loss", "seconds")]
    valid = learn.dls.valid.dataset
    # rows of the file, each read in one sequence or, where long, in several windows (fasthf.encoding.windows)
    train_rows, valid_rows = (len(torch.unique(d.rows)) for d in (learn.dls.train.dataset, valid))
    metrics = {
        "stage": index, "name": label, "freeze_to": stage.freeze_to, "epochs": stage.epochs,
        "lr": [lr.start, lr.stop] if isinstance(lr, slice) else getattr(lr, "tolist", lambda: lr)(), "moms": list(stage.moms),
        "n_groups": len(groups), "groups": groups,
        "train_rows": train_rows, "valid_rows": valid_rows,
        # what an epoch encodes: one sequence per text (per window of a long one with window_stride), or per
        # unit with encode: group (fasthf.encoding.shared)
        "train_sequences": len(learn.dls.train.dataset), "train_tokens": int(learn.dls.train.dataset.lengths.sum()),
        # A refit holds nothing out: its "valid" figures are of training rows, for watching the fit only.
        "validation": "held out" if holds_out else "training rows (refit: nothing held out)",
        "train_loss": float(last["train_loss"]), "valid_loss": float(last["valid_loss"]),
        **{name: float(last[name]) for name in metric_names}, "metrics": metric_names,
        "precision": learn.precision.name, "precision_reason": learn.precision.reason,
        "ema_decay": settings.ema_decay, "stopped_early": stopped_early,
        "epochs_trained": stage.epochs if epochs_trained is None else round(epochs_trained, 3),
        "seconds": round(seconds, 2),  # the rate counts the epochs trained: a stage stopped early trained fewer
        "train_rows_per_second": round(train_rows * (stage.epochs if epochs_trained is None else epochs_trained)
                                       / max(seconds, 1e-9), 1),
        "collapsed": None if valid.labels is None else task.collapsed(valid.labels.numpy(), outputs.numpy()),
    }
    if metrics["collapsed"]:
        log.warning("%s: the model collapsed to one answer: %s. A peak rate of %s is likely too high for "
                    "the layers this stage trains; give a lower lr_max", label, metrics["collapsed"], metrics["lr"])
    with atomic_dir(out_dir / "model") as tmp:
        learn.model.model.save_pretrained(tmp)
    outputs_table(valid, outputs).write(out_dir / "valid_outputs.csv")  # a row's windows pooled, or per token
    write_csv(out_dir / "history.csv", history)
    write_csv(out_dir / "groups.csv", pd.DataFrame(groups))
    write_json(out_dir / "metrics.json", metrics)
    first = metric_names[0]
    save_figure(out_dir / "loss.png", plot_losses(learn.recorder, f"{label}: freeze_to({stage.freeze_to}), "
                                                                  f"valid {first} {metrics[first]:.4f}"))
    log.info("%s done in %s: valid %s %.4f, valid loss %.4f (%s)", label, clock(seconds), first,
             metrics[first], metrics["valid_loss"], metrics["validation"])
    return metrics
