"""Mixed precision on whatever the machine has: bf16 autocast on CPUs and GPUs that run it natively.

fastai 2.8's `MixedPrecision` autocasts on CUDA only, yet a CPU with `avx512_bf16` or AMX multiplies
bf16 matrices about twice as fast as fp32. Training's `Autocast` callback (fasthf.training.stages) autocasts
as a `Precision` says on any device; weights, optimizer state and checkpoints stay fp32 (autocast casts
only the inputs of matrix products), so nothing saved depends on the precision used. The output layer
computes in fp32 even so (`Fp32Linear`, swapped in by `architectures.logits_in_fp32`). No fastai
here: prediction imports this module and starts seconds sooner without it.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch
from torch import nn

from fasthf.config import PRECISION_SETTINGS

log = logging.getLogger(__name__)

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """What a job computes in (`no` = fp32, `bf16`, `fp16`) on which device type, and why."""
    name: str
    device_type: str
    reason: str

    @property
    def dtype(self) -> torch.dtype | None:
        return DTYPES.get(self.name)

    def autocast(self):
        """The autocast context for a forward pass (a no-op in fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def __str__(self) -> str:
        return f"{'fp32' if self.name == 'no' else self.name} on {self.device_type} ({self.reason})"


def cpu_native_bf16() -> str | None:
    """The instruction set that runs bf16 natively on this CPU (`avx512_bf16`, `amx`), or None."""
    checks = (("amx", "_is_amx_tile_supported"), ("avx512_bf16", "_is_avx512_bf16_supported"))
    for name, check in checks:
        supported = getattr(torch.cpu, check, None)  # private in torch; absent in old releases
        if supported is not None and supported():
            return name
    return None


def resolve_precision(setting: str, device) -> Precision:
    """Turn the `mixed_precision` setting into what a job on `device` will compute in.

    `auto`: bf16 where the hardware runs it natively (a CUDA device with bf16, a CPU with
    `avx512_bf16` or AMX), fp32 elsewhere. `bf16` is honoured anywhere (emulated, slower, where not
    native). `fp16` needs CUDA (on a CPU it is slower than fp32 and needs loss scaling): fp32 elsewhere.
    """
    if setting not in PRECISION_SETTINGS:
        raise ValueError(f"mixed_precision {setting!r} is not one of {list(PRECISION_SETTINGS)}")
    device_type = torch.device(device).type
    if device_type == "cuda":
        native = torch.cuda.is_bf16_supported()
        if setting == "auto":
            return (Precision("bf16", "cuda", "the CUDA device supports bf16") if native else
                    Precision("no", "cuda", "the CUDA device has no bf16: auto falls back to fp32"))
        if setting == "bf16" and not native:
            raise ValueError("mixed_precision bf16: this CUDA device does not support bf16; use fp16 or auto")
        return Precision(setting, "cuda", "set in the config")
    native = cpu_native_bf16() if device_type == "cpu" else None
    if setting == "auto":
        if native:
            return Precision("bf16", device_type, f"the CPU runs bf16 natively ({native})")
        return Precision("no", device_type, f"no native bf16 on {device_type} (no avx512_bf16 or AMX)")
    if setting == "fp16":
        return Precision("no", device_type, f"fp16 needs a CUDA device; fp32 on {device_type}")
    if setting == "bf16":
        why = f"set in the config; native ({native})" if native else "set in the config; emulated, slower than fp32"
        return Precision("bf16", device_type, why)
    return Precision("no", device_type, "set in the config")


def choose_precision(setting: str, device, job: str) -> Precision:
    """`resolve_precision`, said in the job's log: which precision and why; a warning if the setting
    asked for one this device cannot give."""
    precision = resolve_precision(setting, device)
    overridden = setting not in ("auto", precision.name)
    (log.warning if overridden else log.info)("%s precision: %s", job, precision)
    return precision


class Fp32Linear(nn.Linear):
    """An `nn.Linear` that computes in fp32 inside autocast too; its weights and state dict are a Linear's."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())
