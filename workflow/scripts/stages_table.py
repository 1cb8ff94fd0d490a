"""Snakemake entry point: one row per stage (validation metrics, time)."""
import pandas as pd

from fasthf.io import read_json, write_csv
from fasthf.logs import job_log

COLUMNS = ["stage", "name", "freeze_to", "epochs", "train_loss", "valid_loss", "accuracy", "error_rate", "seconds"]

with job_log(snakemake.log[0]):
    table = pd.DataFrame([read_json(path) for path in snakemake.input])[COLUMNS]
    write_csv(snakemake.output[0], table)
    print(table.to_string(index=False))
