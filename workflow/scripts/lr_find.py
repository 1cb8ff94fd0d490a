"""Snakemake entry point: fastai's lr_find before a member's first stage (plot and suggested learning rate)."""
from pathlib import Path

from fasthf.inputs.competition import Competition
from fasthf.inputs.folds import FoldData
from fasthf.logs import job_log
from fasthf.threads import set_threads
from fasthf.training.recipe import Stage, TrainSettings
from fasthf.training.stages import find_lr

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    _, task = Competition.load(snakemake.input.competition)
    find_lr(Stage.from_config(snakemake.params.stage), snakemake.input.pretrained,
            FoldData(snakemake.input.tensors, snakemake.input.folds, 0), Path(snakemake.output.result).parent,
            TrainSettings(**snakemake.params.settings), task, snakemake.params.num_it)
