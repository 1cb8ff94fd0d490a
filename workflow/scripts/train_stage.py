"""Snakemake entry point: one training stage of one chain from the previous stage's checkpoint."""
from pathlib import Path

from fasthf.inputs.competition import Competition
from fasthf.inputs.folds import FoldData, fold_number
from fasthf.io import read_json
from fasthf.logs import job_log
from fasthf.threads import set_threads
from fasthf.training.callbacks import Deadline
from fasthf.training.recipe import Stage, TrainSettings
from fasthf.training.stages import train_stage
from fasthf.training.time_plan import stage_deadline

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    _, task = Competition.load(snakemake.input.competition)
    stage = Stage.from_config(snakemake.params.stage)
    if snakemake.input.lr_find:
        stage = stage.with_found_lr(read_json(snakemake.input.lr_find))
    data = FoldData(snakemake.input.tensors, snakemake.input.folds, fold_number(snakemake.wildcards.split))
    settings = TrainSettings(**snakemake.params.settings)
    deadline = None
    if snakemake.params.clock:  # time_limit: stop early rather than run past the plan's training deadline
        deadline = Deadline(*stage_deadline(read_json(snakemake.input.plan[0]), snakemake.params.clock,
                                            snakemake.wildcards.member, settings.batch_size))
    train_stage(stage, int(snakemake.wildcards.stage), snakemake.input.previous, data,
                Path(snakemake.output.metrics).parent, settings, task, snakemake.params.torch_threads, deadline)
