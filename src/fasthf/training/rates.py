"""A member's speeds, measured before any training (config `time_limit`): a few warmed-up training batches
(every layer trainable) and prediction batches on a sample of the run's own cached tensors, at the configured
batch sizes and precision, and how long a job takes to start. What `fasthf.training.time_plan` plans from."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import torch
from fastai.callback.core import Callback, CancelValidException

from fasthf.encoding.loaders import TokenBatchDL
from fasthf.encoding.tensor_cache import load_split
from fasthf.models.architectures import load_checkpoint
from fasthf.tasks import Task
from fasthf.training.recipe import TrainSettings
from fasthf.training.stages import build_learner, make_dataloaders, with_head_for
from fasthf.training.time_plan import Rates

log = logging.getLogger(__name__)


def process_age() -> float | None:
    """Seconds since this process started (Linux: /proc), or None where that cannot be read."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return uptime - ticks / os.sysconf("SC_CLK_TCK")


class BatchTimes(Callback):
    """When each training and each validation batch ended (data loading included)."""
    order = 100

    def before_fit(self):
        self.training_ends, self.validation_ends = [], []

    def before_train(self):
        self.training_ends.append(time.perf_counter())

    def before_validate(self):
        self.validation_ends.append(time.perf_counter())

    def after_batch(self):
        (self.training_ends if self.training else self.validation_ends).append(time.perf_counter())


class NoValidation(Callback):
    def before_validate(self):
        raise CancelValidException()


def per_second(stamps: list[float], batch_size: int, warmup: int) -> float:
    """Sequences a second over the batches after the first `warmup` (the last batch may be short: left out)."""
    timed = np.diff(stamps)[warmup:-1] if len(stamps) > warmup + 2 else np.diff(stamps)
    return batch_size / float(np.mean(timed))


def measure_rates(checkpoint: str | Path, train_tensors: str | Path, test_tensors: str | Path,
                  settings: TrainSettings, task: Task, freeze_tos: list[int] = (0,), batches: int = 10,
                  warmup: int = 2, alone_tensors: tuple[str | Path, str | Path] | None = None) -> Rates:
    """Train `warmup + batches + 1` batches of a random sample (every layer trainable, the weights thrown away)
    and validate `batches + 2` batches of another; then, for each other state of `freeze_tos` (the member's
    stages'), train a few batches in it. A job's start is this process's age once the model and tensors are
    loaded (where /proc does not say, the loading alone). With `alone_tensors` (read_alone: the training and test
    rows' lone readings) it validates `batches + 2` batches of those too: short texts, a rate of their own."""
    began = time.perf_counter()
    split, test = load_split(train_tensors), load_split(test_tensors)
    rng = np.random.default_rng(settings.seed)
    sample = lambda size: split.subset(np.sort(rng.choice(len(split), min(size, len(split)), replace=False)))  # noqa: E731
    train = sample((warmup + batches + 1) * settings.batch_size)
    valid = sample((batches + 2) * settings.eval_batch_size)
    model = with_head_for(train, load_checkpoint(checkpoint, n_labels=task.n_outputs, max_token_id=split.max_token_id,
                                                 head=train.head), settings, checkpoint)
    learn = build_learner(make_dataloaders(train, valid, settings), model, settings, task, progress="none")
    age = process_age()
    startup = age if age is not None else time.perf_counter() - began
    learn.unfreeze()
    learn.logger = lambda values: None  # the throwaway epoch's figures mean nothing
    times = BatchTimes()
    learn.fit(1, lr=1e-7, cbs=[times])
    full, predict = (per_second(times.training_ends, settings.batch_size, warmup),
                     per_second(times.validation_ends, settings.eval_batch_size, 1))
    frozen = {}
    for freeze_to in sorted(set(freeze_tos) - {0}):  # a frozen body takes no backward pass: faster
        learn.freeze_to(freeze_to)
        learn.fit(1, lr=1e-7, cbs=[times, NoValidation()])
        frozen[str(freeze_to)] = per_second(times.training_ends, settings.batch_size, warmup)
    alone = {}
    if alone_tensors is not None:
        train_alone, test_alone = (load_split(path) for path in alone_tensors)
        picked = np.sort(rng.choice(len(train_alone), min((batches + 2) * settings.eval_batch_size, len(train_alone)),
                                    replace=False))
        times.validation_ends = []
        learn.validate(dl=TokenBatchDL(train_alone.subset(picked), bs=settings.eval_batch_size, device=learn.dls.device),
                       cbs=[times])
        alone = {"alone_per_s": per_second(times.validation_ends, settings.eval_batch_size, 1),
                 "alone_sequences": len(train_alone), "alone_test_sequences": len(test_alone)}
    rates = Rates(train_per_s=full, predict_per_s=predict, startup_s=round(startup, 2), sequences=len(split),
                  test_sequences=len(test), batch_size=settings.batch_size, frozen_per_s=frozen or None, **alone)
    log.info("rates: %.1f training sequences a second with every layer trainable%s, %.1f predicted (%s, %d torch "
             "threads); a job starts in %.1f s; %d training and %d test sequences", rates.train_per_s,
             "".join(f", {rate:.1f} at freeze_to({f})" for f, rate in frozen.items()), rates.predict_per_s,
             learn.precision.name, torch.get_num_threads(), rates.startup_s, rates.sequences, rates.test_sequences)
    if alone:
        log.info("rates: %.1f rows read alone predicted a second; %d training and %d test rows read alone too",
                 rates.alone_per_s, rates.alone_sequences, rates.alone_test_sequences)
    return rates
