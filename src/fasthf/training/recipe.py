"""A chain's recipe: its training stages and settings, as the config states them.

No torch or fastai here: the workflow reads these fields (which settings a chain takes) and the stage jobs
build from them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


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
    head_lr_mult: float = 1.0  # the head group's rate is this times the last layer's (a fresh head learns faster)

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

    def lr(self, n_groups: int) -> float | slice | list[float]:
        """What `fit_one_cycle` takes as `lr_max`: one rate, fastai's slice, or (with `head_lr_mult`) a rate per group."""
        if not isinstance(self.lr_max, (int, float)):
            raise ValueError(f"lr_max is {self.lr_max!r}: resolve 'auto' with the lr_find result first")
        if self.head_lr_mult == 1:
            return self.lr_max if self.lr_decay is None else slice(self.lr_max * self.lr_decay ** n_groups, self.lr_max)
        # fastai's slice spreads the rates geometrically from the first group to the last: the same, by hand
        low = self.lr_max if self.lr_decay is None else self.lr_max * self.lr_decay ** n_groups
        rates = [low * (self.lr_max / low) ** (i / max(n_groups - 1, 1)) for i in range(n_groups)]
        return [*rates[:-1], rates[-1] * self.head_lr_mult]


@dataclass(frozen=True)
class TrainSettings:
    batch_size: int = 64
    eval_batch_size: int = 256
    weight_decay: float = 0.01
    seed: int = 42
    mixed_precision: str = "auto"  # "auto", "no", "bf16" or "fp16": see fasthf.models.precision
    label_smoothing: float = 0.0  # > 0: fastai's LabelSmoothingCrossEntropyFlat(eps=label_smoothing), single-label
    ema_decay: float = 0.0  # > 0: validate and save an exponential moving average of the weights (WeightAverage)
    span_pooling: str = "mean_ends"  # encode: group: how the span head pools a span (fasthf.models.shared_head.POOLINGS)
