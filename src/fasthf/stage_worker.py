"""One rank of a data-parallel training stage, started by `accelerate launch` (see fasthf.distributed).

    accelerate launch --multi_gpu --num_processes 2 -m fasthf.stage_worker '{"stage": {...}, ...}'
"""
from __future__ import annotations

import json
import logging
import sys


def main(argv: list[str] | None = None) -> None:
    import os

    from fastai.torch_core import num_distrib

    from .threads import set_threads
    from .distributed import is_main_process
    from .folds import FoldData
    from .tasks import task_from
    from .recipe import Stage, TrainSettings
    from .training import run_stage

    args = json.loads((argv or sys.argv[1:])[0])
    import torch

    if torch.cuda.is_available():  # one GPU per rank: fastai's default_device() follows the current one
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    logging.basicConfig(level=logging.INFO if is_main_process() else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # The ranks share this machine's cores unless torch_threads says otherwise.
    set_threads(args.get("torch_threads") or max(1, len(os.sched_getaffinity(0)) // max(1, num_distrib())))
    run_stage(Stage.from_config(args["stage"]), args["index"], args["previous"], FoldData(**args["data"]),
              args["out_dir"], TrainSettings(**args["settings"]), task_from(args["task"]))


if __name__ == "__main__":
    main()
