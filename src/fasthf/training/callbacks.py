"""fastai callbacks of a training stage: autocast on any device, a moving average of the weights, the
held-out outputs of the last validation pass, progress as log lines, and a stop in time (config time_limit)."""
from __future__ import annotations

import time

import torch
from fastai.callback.core import Callback, CancelFitException, CancelTrainException
from fastai.torch_core import to_float

from fasthf.models.precision import Precision


class Autocast(Callback):
    """Autocast each forward pass and loss as `precision` (fasthf.models.precision) says, on any device.

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
    A token classifier's (a span task's) are per token: each sequence's own tokens (its attention mask's),
    a list of (tokens, outputs) arrays in the split's order.
    """

    def __init__(self, activation):
        self.activation = activation
        self.batches, self.batch_order = [], []

    def before_validate(self):
        loader = getattr(self.dl, "dl", self.dl)  # a data-parallel run wraps the whole split's loader
        # where each output goes: the split's rows of its items (texts, or units), longest first
        self.batches, self.batch_order = [], loader.dataset.positions(list(loader.get_idxs()))

    def after_batch(self):
        if self.training:
            return
        outputs = self.activation(self.pred.detach()).float().cpu()
        if outputs.ndim == 3:  # per token: each sequence's tokens, its padding left out
            mask = self.xb[1].bool().cpu()
            self.batches.append([seq[keep] for seq, keep in zip(outputs, mask)])
        else:
            self.batches.append(outputs)

    def outputs(self) -> torch.Tensor | list[torch.Tensor]:
        if self.batches and isinstance(self.batches[0], list):
            kept = [seq for batch in self.batches for seq in batch]
            out = [None] * len(kept)
            for position, seq in zip(self.batch_order.tolist(), kept):
                out[position] = seq
            return out
        kept = torch.cat(self.batches)
        out = torch.empty_like(kept)
        out[self.batch_order] = kept
        return out


def clock(seconds: float) -> str:
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
                   f"elapsed {clock(elapsed)}  eta {clock(eta)}")

    def after_epoch(self):
        self.epoch_seconds.append(time.time() - self.start)

    def _log_epoch(self, values):
        epoch, *rest = values  # fastai counts epochs from 0
        self.write(" | ".join([str(epoch + 1), *(f"{v:.4f}" if isinstance(v, float) else str(v) for v in rest)]))


class Deadline(Callback):
    """Ends a stage in time (config `time_limit`): before each training batch, when that batch (at the mean time
    of this stage's batches so far, `batch_s` before the first) and a validation pass (`validate_s`) would end
    past `deadline` (a `time.time()`), the epoch's training ends there; fastai then validates as after any epoch
    (so the held-out outputs are those of the weights saved) and the fit ends. `stopped` says where and why."""
    order = 5

    def __init__(self, deadline: float, batch_s: float, validate_s: float, now=time.time):
        self.deadline, self.batch_s, self.validate_s, self.now = deadline, batch_s, validate_s, now
        self.stopped: str | None = None

    def before_fit(self):
        self.stopped, self.batches, self.seconds, self.per_epoch = None, 0, 0.0, 0

    @property
    def epochs_trained(self) -> float:
        """The epochs the fit trained before it stopped: its training batches over an epoch's."""
        return self.batches / self.per_epoch if self.per_epoch else 0.0

    def before_epoch(self):
        if self.stopped:
            raise CancelFitException()

    def before_batch(self):
        if not self.training:
            return
        now = self.now()
        self.started, self.per_epoch = now, self.n_iter
        mean = self.seconds / self.batches if self.batches else self.batch_s
        if now + mean + self.validate_s > self.deadline:
            left = max(self.deadline - now, 0)
            self.stopped = (f"stopped early at epoch {self.epoch + 1} of {self.n_epoch}, batch {self.iter + 1} of "
                            f"{self.n_iter}: {left:.0f} s left before the time limit's training deadline, a batch "
                            f"takes {mean:.1f} s and a validation pass {self.validate_s:.0f} s")
            raise CancelTrainException()

    def after_batch(self):
        if self.training:
            self.batches += 1
            self.seconds += self.now() - self.started
