"""Gradual unfreezing, one stage at a time, with fastai's Learner.

A stage is one `freeze_to` followed by one `fit_one_cycle`. Each stage starts from the previous
stage's saved weights with a fresh optimizer, so stages can run as separate, resumable jobs.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd
import torch
import fastai.callback.schedule  # noqa: F401  (adds Learner.fit_one_cycle and lr_find)
from fastai.callback.core import Callback
from fastai.callback.progress import ProgressCallback
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.optimizer import OptimWrapper
from fastai.torch_core import default_device, num_distrib, rank_distrib, set_seed, to_float

from .architectures import SequenceClassifier, count_parameters, layer_groups, load_checkpoint
from .config import check_freeze_to
from .distributed import ShardedDL, WholeSplitDL, in_distributed_launch, is_main_process, run_launched
from .loaders import TokenBatchDL
from .folds import FoldData
from .tensors import TokenizedSplit
from .io import atomic_dir, save_figure, write_csv, write_json
from .precision import Precision, choose_precision, logits_in_fp32
from .prediction import outputs_frame
from .tasks import Task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """One gradual-unfreezing stage: `freeze_to(freeze_to)` then `fit_one_cycle(epochs, ...)`.

    `freeze_to: 0` unfreezes everything. With `lr_decay`, the learning rate is discriminative,
    `slice(lr_max * lr_decay**n_groups, lr_max)`: fastai spreads it geometrically over the groups.
    """
    freeze_to: int
    epochs: int
    lr_max: float | str  # a number, or "auto": the lr_find suggestion
    lr_decay: float | None = None
    moms: tuple[float, float, float] = (0.8, 0.7, 0.8)
    name: str | None = None
    devices: int = 1  # > 1: data-parallel over that many processes (accelerate launch, fastai distrib_ctx)

    @classmethod
    def from_config(cls, entry: dict) -> "Stage":
        entry = dict(entry)
        if "moms" in entry:
            entry["moms"] = tuple(entry["moms"])
        return cls(**entry)

    def with_found_lr(self, lr_find_result: dict) -> "Stage":
        """This stage with `lr_max: auto` replaced by lr_find's suggestion."""
        if self.lr_max != "auto":
            return self
        return dataclasses.replace(self, lr_max=float(lr_find_result["suggested_lr"]))

    def lr(self, n_groups: int) -> float | slice:
        if not isinstance(self.lr_max, (int, float)):
            raise ValueError(f"lr_max is {self.lr_max!r}: resolve 'auto' with the lr_find result first")
        if self.lr_decay is None:
            return self.lr_max
        return slice(self.lr_max * self.lr_decay ** n_groups, self.lr_max)


@dataclass(frozen=True)
class TrainSettings:
    batch_size: int = 64
    eval_batch_size: int = 256
    weight_decay: float = 0.01
    seed: int = 42
    mixed_precision: str = "auto"  # "auto", "no", "bf16" or "fp16": see fasthf.precision
    label_smoothing: float = 0.0  # > 0: fastai's LabelSmoothingCrossEntropyFlat(eps=label_smoothing), single-label
    ema_decay: float = 0.0  # > 0: validate and save an exponential moving average of the weights (WeightAverage)


def make_dataloaders(train: TokenizedSplit, valid: TokenizedSplit, settings: TrainSettings,
                     device=None) -> DataLoaders:
    """Sortish, shuffled training batches; longest-first validation batches; each padded to its own length."""
    device = default_device() if device is None else device
    train_dl = TokenBatchDL(train, bs=settings.batch_size, shuffle=True, drop_last=False, device=device)
    valid_dl = TokenBatchDL(valid, bs=settings.eval_batch_size, shuffle=False, device=device)
    return DataLoaders(train_dl, valid_dl, device=device)


def fused_adamw(param_groups, lr, **hypers) -> OptimWrapper:
    """fastai's Adam with decoupled weight decay (its defaults: mom 0.9, sqr_mom 0.99, eps 1e-5), stepped
    by torch's fused AdamW: the same update, but one kernel over every tensor instead of fastai's Python
    loop per tensor (about 3.5x faster a step for MiniLM on the CPU, benchmarks/RESULTS.md). It is the
    Hugging Face Trainer's optimizer too. fastai's hyper-parameter names (lr, mom, wd) still drive it, so
    `fit_one_cycle` and discriminative rates work as before. One difference: fastai's own optimizer
    skips weight decay on biases and norm weights (`wd_bn_bias=False`); this one decays them too, by
    lr x wd a step (1e-6 at 1e-4 and 0.01)."""
    device = next(p for group in param_groups for p in group).device
    fused = device.type in ("cpu", "cuda")  # where torch has the fused kernel
    return OptimWrapper(param_groups, opt=partial(torch.optim.AdamW, betas=(0.9, 0.99), eps=1e-5, fused=fused),
                        lr=lr, **hypers)


def build_learner(dls: DataLoaders, model: torch.nn.Module, settings: TrainSettings, task: Task,
                  path: str | Path = ".", progress: str = "log") -> Learner:
    """A fastai Learner over a Hugging Face classifier, split into layer groups, with the task's loss
    and fastai metrics.

    `progress`: "log" (plain lines, for log files), "bar" (fastprogress, for notebooks) or "none".

    `train_bn=False`: fastai would otherwise keep every LayerNorm trainable inside "frozen" groups,
    so a frozen body would still take gradients; here frozen means frozen.
    The optimizer is `fused_adamw`. `settings.mixed_precision` is resolved for the
    loaders' device (`fasthf.precision`): bf16 autocasts on CPU too, fp16 is fastai's `to_fp16`; the
    output layer computes in fp32 either way (`logits_in_fp32`).
    """
    model = SequenceClassifier(logits_in_fp32(model)).to(dls.device)
    learn = Learner(dls, model, loss_func=task.loss_func(settings.label_smoothing),
                    opt_func=fused_adamw, wd=settings.weight_decay,
                    metrics=task.fastai_metrics(), splitter=layer_groups, train_bn=False, path=path)
    if settings.ema_decay:
        learn.add_cb(WeightAverage(settings.ema_decay))
    if progress in ("log", "none"):
        learn.remove_cb(ProgressCallback)
    if progress == "log":
        learn.add_cb(LogProgress())
    precision = choose_precision(settings.mixed_precision, dls.device, "training")
    if precision.name == "fp16":
        learn.to_fp16()  # fastai's own, with the gradient scaler fp16 needs (CUDA only)
    elif precision.name == "bf16":
        learn.add_cb(Autocast(precision))
    learn.precision = precision
    return learn


class Autocast(Callback):
    """Autocast each forward pass and loss as `precision` (fasthf.precision) says, on any device.

    Like fastai's `MixedPrecision` without the gradient scaler, which bf16 does not need (its range is
    fp32's). Predictions are turned back to fp32 before the loss.
    """
    order = 10

    def __init__(self, precision: Precision):
        self.precision = precision
        self.context = None

    def before_batch(self):
        self.context = self.precision.autocast()
        self.context.__enter__()

    def after_pred(self):
        self.learn.pred = to_float(self.pred)

    def after_loss(self):
        self._leave()

    def after_batch(self):  # also after a cancelled batch, which skips after_loss
        self._leave()

    def _leave(self):
        if self.context is not None:
            self.context.__exit__(None, None, None)
            self.context = None


def warmed_ema(decay: float, count):
    """torch's EMA update for `AveragedModel`, with the usual warm-up (TensorFlow's `num_updates`):
    step n = `count()` keeps `min(decay, (1 + n) / (10 + n))` of the average, so the first steps, whose
    weights are far from the end (a freshly initialised head), fade out fast instead of lingering
    1/(1 - decay) steps. The count comes from the caller, not from the `n_averaged` torch passes: that is
    a copy on the weights' device, and reading a CUDA tensor would wait for the GPU at every step."""
    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], _n_averaged: torch.Tensor) -> None:
        n = count()
        torch._foreach_lerp_(averaged, current, 1 - min(decay, (1 + n) / (10 + n)))
    return update


class WeightAverage(Callback):
    """An exponential moving average of the weights (torch's `AveragedModel`), updated after every
    optimizer step. Each validation pass, and so the held-out outputs, and the checkpoint the stage
    saves are the average's; training itself goes on from the raw weights. `decay` 0.999 averages over
    roughly the last thousand steps."""
    order = 5  # before fastai's DistributedTrainer (11) wraps the model: the average copies the bare one

    def __init__(self, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.raw: list[torch.Tensor] = []

    def before_fit(self):
        from torch.optim.swa_utils import AveragedModel

        # torch keeps its count of updates on the CPU (its `device` argument is left unset here)
        self.average = AveragedModel(self.learn.model,
                                     multi_avg_fn=warmed_ema(self.decay, lambda: int(self.average.n_averaged)))
        self.average.update_parameters(self.learn.model)  # starts from the stage's starting weights

    def after_step(self):
        self.average.update_parameters(self.learn.model)

    def before_validate(self):
        self.raw = [p.detach().clone() for p in self.learn.model.parameters()]
        self._load(self.average.module.parameters())

    def after_validate(self):
        self._load(self.raw)
        self.raw = []

    def after_fit(self):
        self._load(self.average.module.parameters())  # what the stage saves

    @torch.no_grad()
    def _load(self, weights):
        for p, w in zip(self.learn.model.parameters(), weights, strict=True):
            p.copy_(w)


class ValidOutputs(Callback):
    """Keeps the last validation pass's outputs (`activation` of the logits), row i for the split's row i.

    A chain's last stage validates on the rows its fold holds out after its last epoch, with the weights
    it saves: those outputs are the chain's held-out predictions, so nothing predicts those rows again.
    """

    def __init__(self, activation):
        self.activation = activation
        self.batches, self.batch_order = [], []

    def before_validate(self):
        loader = getattr(self.dl, "dl", self.dl)  # a data-parallel run wraps the whole split's loader
        self.batches, self.batch_order = [], list(loader.get_idxs())  # split positions, longest first

    def after_batch(self):
        if not self.training:
            self.batches.append(self.activation(self.pred.detach()).float().cpu())

    def outputs(self) -> torch.Tensor:
        kept = torch.cat(self.batches)
        out = torch.empty_like(kept)
        out[self.batch_order] = kept
        return out


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class LogProgress(Callback):
    """Progress as plain log lines (a line every ~10% of an epoch with ETA, one per epoch with metrics)
    instead of a carriage-return bar per batch, which floods log files."""
    order = 65

    def __init__(self, every: float = 0.1, write=None):
        self.every, self.write = every, write or (lambda line: print(line, flush=True))
        self.epoch_seconds: list[float] = []

    def before_fit(self):
        self.epoch_seconds = []
        self.learn.logger = self._log_epoch
        names = self.recorder.metric_names
        self.write(" | ".join(names))

    def before_train(self):
        self.start = time.time()
        self.step = max(1, round(len(self.dl) * self.every))

    def after_batch(self):
        if not self.training:
            return
        done = self.iter + 1
        if done % self.step and done != self.n_iter:
            return
        elapsed = time.time() - self.start
        eta = elapsed / done * (self.n_iter - done)
        self.write(f"epoch {self.epoch + 1}/{self.n_epoch}  batch {done}/{self.n_iter} "
                   f"({100 * done / self.n_iter:3.0f}%)  loss {self.smooth_loss.item():.4f}  "
                   f"elapsed {_clock(elapsed)}  eta {_clock(eta)}")

    def after_epoch(self):
        self.epoch_seconds.append(time.time() - self.start)

    def _log_epoch(self, values):
        epoch, *rest = values  # fastai counts epochs from 0
        self.write(" | ".join([str(epoch + 1), *(f"{v:.4f}" if isinstance(v, float) else str(v) for v in rest)]))


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


def plot_losses(learn: Learner, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    learn.recorder.plot_loss(skip_start=0, show_epochs=True, ax=ax)
    ax.set_title(title)
    ax.legend()
    return fig


def stage_learner(stage: Stage, index: int, checkpoint: str | Path, data: FoldData,
                  out_dir: str | Path, settings: TrainSettings, task: Task) -> Learner:
    """A Learner over one fold of the cached tensors and `checkpoint`, frozen as `stage` says, seeded for it."""
    set_seed(settings.seed + index, reproducible=True)
    train, valid = data.load()
    model = load_checkpoint(checkpoint, n_labels=task.n_outputs,
                            max_token_id=max(train.max_token_id, valid.max_token_id))
    learn = build_learner(make_dataloaders(train, valid, settings), model, settings, task, path=out_dir)
    # lr_find (index 0) runs in the first stage's freezing state
    check_freeze_to(stage.freeze_to, len(layer_groups(learn.model)), f"stages[{max(index, 1) - 1}]")
    learn.freeze_to(stage.freeze_to)
    return learn


def find_lr(stage: Stage, checkpoint: str | Path, data: FoldData, out_dir: str | Path,
            settings: TrainSettings, task: Task, num_it: int = 100) -> dict:
    """fastai's `lr_find` in the first stage's freezing state; writes the plot and the suggestion."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    learn = stage_learner(stage, 0, checkpoint, data, out_dir, settings, task)
    learn.remove_cbs([cb for cb in learn.cbs if isinstance(cb, LogProgress)])
    suggestion = learn.lr_find(num_it=num_it, show_plot=True)
    fig = plt.gcf()
    fig.axes[0].set_title(f"lr_find, freeze_to({stage.freeze_to}): suggested lr {suggestion.valley:.2e}")
    save_figure(out_dir / "lr_find.png", fig)
    result = {"suggested_lr": float(suggestion.valley), "method": "valley", "freeze_to": stage.freeze_to,
              "lrs": [float(x) for x in learn.recorder.lrs], "losses": [float(x) for x in learn.recorder.losses]}
    write_json(out_dir / "lr_find.json", result)
    log.info("lr_find: suggested lr %.2e (valley)", result["suggested_lr"])
    return result


def train_stage(stage: Stage, index: int, previous_checkpoint: str | Path, data: FoldData,
                out_dir: str | Path, settings: TrainSettings, task: Task, torch_threads: int | None = None) -> None:
    """One stage in this process, or with `stage.devices > 1` data-parallel over that many processes."""
    if stage.devices <= 1:
        run_stage(stage, index, previous_checkpoint, data, out_dir, settings, task)
        return
    log.info("stage %d: data-parallel over %d processes (accelerate launch)", index, stage.devices)
    run_launched(stage.devices, {"stage": dataclasses.asdict(stage), "index": index,
                                 "previous": str(previous_checkpoint), "data": dataclasses.asdict(data),
                                 "out_dir": str(out_dir), "settings": dataclasses.asdict(settings),
                                 "task": task.describe(), "torch_threads": torch_threads})


def fit_distributed(learn: Learner, stage: Stage, lr) -> None:
    """`fit_one_cycle` inside fastai's `distrib_ctx`: training batches split between the ranks, the
    whole held-out split validated on every rank (see fasthf.distributed)."""
    from accelerate.utils import DistributedDataParallelKwargs

    if not is_main_process():
        learn.remove_cbs([cb for cb in learn.cbs if isinstance(cb, LogProgress)])
    plain = list(learn.dls.loaders)
    on_cpu = torch.device(learn.dls.device).type == "cpu"
    # A parameter that trains but feeds nothing this step (a pooler some heads skip) must not stall DDP.
    handlers = [DistributedDataParallelKwargs(find_unused_parameters=True)]
    with learn.distrib_ctx(cpu=on_cpu, kwargs_handlers=handlers):
        device = learn.dls.device
        learn.dls.loaders = [ShardedDL(plain[0], device=device), WholeSplitDL(plain[1], device=device)]
        print(f"data-parallel: rank {rank_distrib()} of {num_distrib()} over {torch.distributed.get_backend()} on "
              f"{device}, {len(learn.dls.loaders[0])} training batches each, {torch.get_num_threads()} threads",
              flush=True)
        learn.fit_one_cycle(stage.epochs, lr_max=lr, moms=stage.moms)
    learn.dls.loaders = plain


def run_stage(stage: Stage, index: int, previous_checkpoint: str | Path, data: FoldData,
              out_dir: str | Path, settings: TrainSettings, task: Task) -> dict:
    """Train one stage from `previous_checkpoint`; write its checkpoint, metrics, history, loss plot and
    the outputs of its last validation pass (`valid_outputs.csv`: row, one column per output).

    Seeded per stage, so a stage rerun after a crash repeats exactly what an uninterrupted run does.
    """
    out_dir = Path(out_dir)
    learn = stage_learner(stage, index, previous_checkpoint, data, out_dir, settings, task)
    groups = trainable_groups(learn)
    n_groups = len(groups)
    lr = stage.lr(n_groups)
    label = stage.name or f"stage {index}"
    log.info("%s: freeze_to(%d) -> %d of %d groups trainable (%d of %d parameters); "
             "fit_one_cycle(%d, lr_max=%s, moms=%s)", label, stage.freeze_to,
             sum(g["trainable"] for g in groups), n_groups,
             sum(g["parameters"] for g in groups if g["trainable"]), sum(g["parameters"] for g in groups),
             stage.epochs, lr, stage.moms)

    valid_outputs = ValidOutputs(task.activation)
    learn.add_cb(valid_outputs)
    started = time.time()
    if in_distributed_launch():
        fit_distributed(learn, stage, lr)
        if not is_main_process():
            return {}
    else:
        learn.fit_one_cycle(stage.epochs, lr_max=lr, moms=stage.moms)
    seconds = time.time() - started

    progress = next((cb for cb in learn.cbs if isinstance(cb, LogProgress)), None)
    history = epoch_history(learn, progress.epoch_seconds if progress else [])
    last = history.iloc[-1]
    metric_names = [n for n in history.columns if n not in ("epoch", "train_loss", "valid_loss", "seconds")]
    metrics = {
        "stage": index, "name": label, "freeze_to": stage.freeze_to, "epochs": stage.epochs,
        "lr": [lr.start, lr.stop] if isinstance(lr, slice) else lr, "moms": list(stage.moms),
        "n_groups": n_groups, "groups": groups,
        "train_rows": len(learn.dls.train.dataset), "valid_rows": len(learn.dls.valid.dataset),
        # A refit holds nothing out: its "valid" figures are of training rows, for watching the fit only.
        "validation": "held out" if data.holds_out else "training rows (refit: nothing held out)",
        "train_loss": float(last["train_loss"]), "valid_loss": float(last["valid_loss"]),
        **{name: float(last[name]) for name in metric_names}, "metrics": metric_names,
        "precision": learn.precision.name, "precision_reason": learn.precision.reason,
        "ema_decay": settings.ema_decay,
        "seconds": round(seconds, 2),
    }
    with atomic_dir(out_dir / "model") as tmp:
        learn.model.model.save_pretrained(tmp)
    valid = learn.dls.valid.dataset
    outputs = valid_outputs.outputs()
    metrics["collapsed"] = task.collapsed(valid.labels.numpy(), outputs.numpy())
    if metrics["collapsed"]:
        log.warning("%s: the model collapsed to one answer: %s. A peak rate of %s is likely too high for "
                    "the layers this stage trains; give a lower lr_max", label, metrics["collapsed"], metrics["lr"])
    write_csv(out_dir / "valid_outputs.csv", outputs_frame(valid.rows, outputs, task.output_columns))
    write_csv(out_dir / "history.csv", history)
    write_csv(out_dir / "groups.csv", pd.DataFrame(groups))
    write_json(out_dir / "metrics.json", metrics)
    first = metric_names[0]
    save_figure(out_dir / "loss.png", plot_losses(learn, f"{label}: freeze_to({stage.freeze_to}), "
                                                         f"valid {first} {metrics[first]:.4f}"))
    log.info("%s done in %s: valid %s %.4f, valid loss %.4f (%s)", label, _clock(seconds), first,
             metrics[first], metrics["valid_loss"], metrics["validation"])
    return metrics
