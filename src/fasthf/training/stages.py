"""Gradual unfreezing, one stage at a time, with fastai's Learner.

A stage is one `freeze_to` followed by one `fit_one_cycle`. Each stage starts from the previous
stage's saved weights with a fresh optimizer, so stages can run as separate, resumable jobs.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
import fastai.callback.schedule  # noqa: F401  (adds Learner.fit_one_cycle and lr_find)
from fastai.callback.progress import ProgressCallback
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.optimizer import OptimWrapper
from fastai.torch_core import default_device, num_distrib, rank_distrib, set_seed

from fasthf.config import check_freeze_to
from fasthf.encoding.loaders import TokenBatchDL
from fasthf.encoding.shared import GroupedSplit
from fasthf.encoding.tensors import TokenizedSplit
from fasthf.inputs.folds import FoldData
from fasthf.io import save_figure, write_json
from fasthf.models.architectures import CheckpointError, SequenceClassifier, layer_groups, load_checkpoint, logits_in_fp32
from fasthf.models.precision import choose_precision
from fasthf.models.shared_head import SpanModel, with_span_head
from fasthf.tasks import Task
from fasthf.training.callbacks import Autocast, Deadline, LogProgress, ValidOutputs, WeightAverage
from fasthf.training.distributed import ShardedDL, WholeSplitDL, in_distributed_launch, is_main_process, run_launched
from fasthf.training.evaluation import pyplot
from fasthf.training.recipe import Stage, TrainSettings
from fasthf.training.stage_report import trainable_groups, write_stage_files

log = logging.getLogger(__name__)


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
    loaders' device (`fasthf.models.precision`): bf16 autocasts on CPU too, fp16 is fastai's `to_fp16`; the
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


def with_head_for(split, model: torch.nn.Module, settings: TrainSettings, checkpoint) -> torch.nn.Module:
    """The model as the tensors need it: tensors encoded by group (`fasthf.encoding.shared`) are read by a span
    head, fresh on the first stage (drawn from the stage's seed); per-row tensors by the classifier's own."""
    grouped, reads_spans = isinstance(split, GroupedSplit), isinstance(model, SpanModel)
    if grouped and not reads_spans:
        return with_span_head(model, settings.span_pooling)
    if reads_spans and not grouped:
        raise CheckpointError(f"{checkpoint}: this model reads spans of shared encodings (encode: group), but the "
                              f"tensors were encoded row by row; rerun preprocess and the stages with one setting")
    return model


def stage_learner(stage: Stage, index: int, checkpoint: str | Path, data: FoldData,
                  out_dir: str | Path, settings: TrainSettings, task: Task) -> Learner:
    """A Learner over one fold of the cached tensors and `checkpoint`, frozen as `stage` says, seeded for it."""
    set_seed(settings.seed + index, reproducible=True)
    train, valid = data.load()
    model = with_head_for(train, load_checkpoint(checkpoint, n_labels=task.n_outputs,
                                                 max_token_id=max(train.max_token_id, valid.max_token_id),
                                                 head=train.head),
                          settings, checkpoint)
    learn = build_learner(make_dataloaders(train, valid, settings), model, settings, task, path=out_dir)
    # lr_find (index 0) runs in the first stage's freezing state
    check_freeze_to(stage.freeze_to, len(layer_groups(learn.model)), f"stages[{max(index, 1) - 1}]")
    learn.freeze_to(stage.freeze_to)
    return learn


def find_lr(stage: Stage, checkpoint: str | Path, data: FoldData, out_dir: str | Path,
            settings: TrainSettings, task: Task, num_it: int = 100) -> dict:
    """fastai's `lr_find` in the first stage's freezing state; writes the plot and the suggestion."""
    plt = pyplot()
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
                out_dir: str | Path, settings: TrainSettings, task: Task, torch_threads: int | None = None,
                deadline: Deadline | None = None) -> None:
    """One stage in this process, or with `stage.devices > 1` data-parallel over that many processes (which
    do not stop early: every rank would have to stop at the same batch)."""
    if stage.devices <= 1:
        run_stage(stage, index, previous_checkpoint, data, out_dir, settings, task, deadline)
        return
    if deadline is not None:
        log.warning("stage %d: data-parallel stages do not stop early at the time limit", index)
    log.info("stage %d: data-parallel over %d processes (accelerate launch)", index, stage.devices)
    run_launched(stage.devices, {"stage": dataclasses.asdict(stage), "index": index,
                                 "previous": str(previous_checkpoint), "data": dataclasses.asdict(data),
                                 "out_dir": str(out_dir), "settings": dataclasses.asdict(settings),
                                 "task": task.describe(), "torch_threads": torch_threads})


def fit_distributed(learn: Learner, stage: Stage, lr) -> None:
    """`fit_one_cycle` inside fastai's `distrib_ctx`: training batches split between the ranks, the
    whole held-out split validated on every rank (see fasthf.training.distributed)."""
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
              out_dir: str | Path, settings: TrainSettings, task: Task, deadline: Deadline | None = None) -> dict:
    """Train one stage from `previous_checkpoint`; write its files (`fasthf.training.stage_report`): checkpoint,
    metrics, history, layer groups, loss plot and the outputs of its last validation pass. With a `deadline`
    (config time_limit) the stage may end early, at a batch, validated and saved as after any epoch.

    Seeded per stage, so a stage rerun after a crash repeats exactly what an uninterrupted run does.
    """
    learn = stage_learner(stage, index, previous_checkpoint, data, out_dir, settings, task)
    groups = trainable_groups(learn)
    lr = stage.lr(len(groups))
    lr = np.array(lr) if isinstance(lr, list) else lr  # a rate per group: fit_one_cycle divides it
    label = stage.name or f"stage {index}"
    log.info("%s: freeze_to(%d) -> %d of %d groups trainable (%d of %d parameters); "
             "fit_one_cycle(%d, lr_max=%s, moms=%s)", label, stage.freeze_to,
             sum(g["trainable"] for g in groups), len(groups),
             sum(g["parameters"] for g in groups if g["trainable"]), sum(g["parameters"] for g in groups),
             stage.epochs, lr, stage.moms)
    valid_outputs = ValidOutputs(task.activation)
    learn.add_cbs([valid_outputs, *([deadline] if deadline else [])])
    started = time.time()
    if in_distributed_launch():
        fit_distributed(learn, stage, lr)
        if not is_main_process():
            return {}
    else:
        learn.fit_one_cycle(stage.epochs, lr_max=lr, moms=stage.moms)
    seconds = time.time() - started
    stopped = deadline.stopped if deadline else None
    if stopped:
        log.warning("%s: %s", label, stopped)
    return write_stage_files(Path(out_dir), learn, stage, index, lr, groups, valid_outputs.outputs(), seconds,
                             data.holds_out, settings, task, stopped, deadline.epochs_trained if stopped else None)
