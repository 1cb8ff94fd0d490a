"""Snakemake entry point: final test outputs, with test texts found verbatim in the training file taking what it says."""
import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.io import write_csv
from fasthf.logs import job_log
from fasthf.outputs.memory import apply_memory
from fasthf.outputs.table import Predictions, read_in_file_order

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    train, test = competition.read_train(snakemake.input.train), competition.read_test(snakemake.input.test)
    model = read_in_file_order(snakemake.input.outputs, len(test))
    outputs, from_memory, counts = apply_memory(competition.memory_keys(test), model, competition.memory_keys(train),
                                                task.encode(train), task, enabled=snakemake.params.enabled)
    Predictions(range(len(test)), outputs).write(snakemake.output.predictions, from_memory=from_memory)
    write_csv(snakemake.output.counts, pd.DataFrame([counts]))
