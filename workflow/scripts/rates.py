"""Snakemake entry point: a member's training and prediction speeds on its own tensors (config time_limit)."""
from dataclasses import asdict

from fasthf.inputs.competition import Competition
from fasthf.io import write_json
from fasthf.logs import job_log
from fasthf.threads import set_threads
from fasthf.training.rates import measure_rates
from fasthf.training.recipe import TrainSettings

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    _, task = Competition.load(snakemake.input.competition)
    rates = measure_rates(snakemake.input.pretrained, snakemake.input.train, snakemake.input.test,
                          TrainSettings(**snakemake.params.settings), task, snakemake.params.freeze_tos,
                          alone_tensors=(snakemake.input.train_alone, snakemake.input.test_alone)
                          if "train_alone" in snakemake.input.keys() else None)
    write_json(snakemake.output[0], asdict(rates))
