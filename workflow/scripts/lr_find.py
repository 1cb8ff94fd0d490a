"""Snakemake entry point: fastai's lr_find before the first stage (plot and suggested learning rate)."""
from pathlib import Path

from fasthf.architectures import set_threads
from fasthf.logs import job_log
from fasthf.training import Stage, TrainSettings, find_lr

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    find_lr(Stage.from_config(snakemake.params.stage), snakemake.input.pretrained, Path(snakemake.input.train).parent,
            Path(snakemake.output.result).parent, TrainSettings(**snakemake.params.settings))
