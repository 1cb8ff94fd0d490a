"""One rank of a data-parallel training stage, started by `accelerate launch` (see fasthf.training.distributed).

    accelerate launch --multi_gpu --num_processes 2 -m fasthf.training.stage_worker '{"stage": {...}, ...}'
"""
from __future__ import annotations

import json
import logging
import sys


def main(argv: list[str] | None = None) -> None:
    import os

    from fastai.torch_core import num_distrib

    from fasthf.inputs.folds import FoldData
    from fasthf.tasks import task_from
    from fasthf.threads import set_threads
    from fasthf.training.distributed import is_main_process
    from fasthf.training.recipe import Stage, TrainSettings
    from fasthf.training.stages import run_stage

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
