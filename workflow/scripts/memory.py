"""Snakemake entry point: final test outputs, with test texts found verbatim in the training file taking what it says."""
import shutil

import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.io import write_csv
from fasthf.logs import job_log
from fasthf.outputs.memory import apply_memory
from fasthf.outputs.table import Predictions, read_in_file_order

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    if task.per_token:  # a span task's outputs per unit go on as they are: memory of spans is still to come
        shutil.copyfile(snakemake.input.outputs, snakemake.output.predictions)
        write_csv(snakemake.output.counts, pd.DataFrame([{"enabled": False, "test_texts": None, "set_from_memory": 0,
                                                          "changed_answer": 0}]))
        print("memory: not applied to a span task; every answer is the model's")
    else:
        train, test = competition.read_train(snakemake.input.train), competition.read_test(snakemake.input.test)
        model = read_in_file_order(snakemake.input.outputs, len(test))
        outputs, from_memory, counts = apply_memory(competition.memory_keys(test), model,
                                                    competition.memory_keys(train), task.encode(train), task,
                                                    enabled=snakemake.params.enabled)
        Predictions(range(len(test)), outputs).write(snakemake.output.predictions, from_memory=from_memory)
        write_csv(snakemake.output.counts, pd.DataFrame([counts]))
