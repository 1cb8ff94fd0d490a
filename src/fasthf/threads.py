"""How many CPU threads a job's torch uses."""
from __future__ import annotations

import os


def set_threads(n: int | None) -> int:
    """Torch's CPU threads: `n`, or every core this process may run on."""
    import torch

    n = n or len(os.sched_getaffinity(0))
    torch.set_num_threads(int(n))
    return n
