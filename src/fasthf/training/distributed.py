"""Data-parallel training of one stage over several processes: `accelerate launch` starts them,
fastai's `distrib_ctx` wraps the model in DistributedDataParallel.

Two adjustments to fastai's `DistributedDL` make it right for this pipeline on any device:
- training batches are split between the ranks, and the batch order that rank 0 draws is broadcast
  with a tensor on the process group's own device (fastai's goes through `.cuda()`, which gloo on a
  CPU cannot take);
- every rank validates on the whole held-out split, each row exactly once (fastai's would give
  each rank a padded shard and report rank 0's shard only).
Only rank 0 writes the checkpoint, metrics and plots.
"""
from __future__ import annotations

import json
import subprocess
import sys

import torch
from fastai.distributed import DistributedDL
from fastai.torch_core import num_distrib, rank_distrib


def is_main_process() -> bool:
    return rank_distrib() == 0


def in_distributed_launch() -> bool:
    return num_distrib() > 1


class ShardedDL(DistributedDL):
    """fastai's DistributedDL, broadcasting the batch order on the process group's device."""

    def _broadcast(self, t, rank):
        device = "cuda" if torch.distributed.get_backend() == "nccl" else "cpu"
        t = torch.tensor(t, dtype=torch.long, device=device)
        torch.distributed.broadcast(t, rank)
        return t.cpu().tolist()


class WholeSplitDL(DistributedDL):
    """The whole split on every rank, as one process would see it: nothing split, padded or broadcast."""

    def __init__(self, dl, device=None):
        super().__init__(dl, rank=0, world_size=1, device=device)

    def _broadcast(self, t, rank):
        return t


def launch_command(n_processes: int, worker_args: dict) -> list[str]:
    """`accelerate launch` of `n_processes` copies of the stage worker.

    `--multi_gpu` is accelerate's multi-process launcher; on a machine without CUDA the workers then
    train on the CPU over gloo (the worker passes `cpu=True` to the Accelerator). Mixed precision is
    fastai's (the Autocast callback), so accelerate's own is off: two autocast layers would stack.
    """
    return ["accelerate", "launch", "--multi_gpu", "--num_processes", str(n_processes),
            "--num_machines", "1", "--main_process_port", "0", "--mixed_precision", "no",
            "-m", "fasthf.training.stage_worker", json.dumps(worker_args)]


def run_launched(n_processes: int, worker_args: dict) -> None:
    """Run the stage on `n_processes` processes; their output goes to this job's log."""
    done = subprocess.run(launch_command(n_processes, worker_args), stdout=sys.stdout, stderr=sys.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"the {n_processes}-process training stage failed (exit {done.returncode}); its ranks' "
                           f"output is above")
