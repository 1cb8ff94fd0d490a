"""How many CPU threads a job's torch uses."""
from __future__ import annotations

import os


def default_threads() -> int:
    """OMP_NUM_THREADS where it is set (as torch itself reads it), else every core this process may run on."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else len(os.sched_getaffinity(0))


def set_threads(n: int | None) -> int:
    """Torch's CPU threads: `n` (the config's torch_threads), or `default_threads()`."""
    import torch

    n = n or default_threads()
    torch.set_num_threads(int(n))
    return n
