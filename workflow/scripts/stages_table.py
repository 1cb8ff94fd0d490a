"""Snakemake entry point: one row per stage (validation metrics of the task, time)."""
import pandas as pd

from fasthf.io import read_json, write_csv
from fasthf.logs import job_log

with job_log(snakemake.log[0]):
    stages = [read_json(path) for path in snakemake.input]
    columns = ["stage", "name", "freeze_to", "epochs", "train_loss", "valid_loss", *stages[0]["metrics"], "seconds"]
    table = pd.DataFrame(stages)[columns]
    write_csv(snakemake.output[0], table)
    print(table.to_string(index=False))
