"""Snakemake entry point: final test outputs, with test texts found verbatim in the training file taking what it says."""
import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.io import write_csv
from fasthf.logs import job_log
from fasthf.outputs.output_forms import outputs_form

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    form = outputs_form(task)  # a row of outputs per text, or a line per unit (span tasks: memory of spans)
    test, enabled = competition.read_test(snakemake.input.test), snakemake.params.enabled
    remembered = form.remembered(competition, task, competition.read_train(snakemake.input.train)) if enabled else None
    outputs, from_memory, counts = form.with_memory(competition, task, test, form.read(snakemake.input.outputs, test),
                                                    remembered, enabled=enabled)
    form.write(snakemake.output.predictions, outputs, from_memory)
    write_csv(snakemake.output.counts, pd.DataFrame([counts]))
