"""Snakemake entry point: upload the submission with the kaggle CLI, at most once per file."""
from fasthf import kaggle
from fasthf.io import read_json
from fasthf.logs import job_log

with job_log(snakemake.log[0], network=True):
    metrics = read_json(snakemake.input.metrics)
    message = snakemake.params.message.format(model=snakemake.params.model, accuracy=metrics["accuracy"])
    record = kaggle.submit(snakemake.params.competition, snakemake.input.submission, message,
                           snakemake.output.receipt, snakemake.params.ledger)
    print(f"submitted {record['file']} to {record['competition']} at {record['submitted_at']}: {message}")
