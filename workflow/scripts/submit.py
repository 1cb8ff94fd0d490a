"""Snakemake entry point: upload the submission with the kaggle CLI (at most once per file), then its public score."""
from fasthf import kaggle
from fasthf.io import read_json, write_csv
from fasthf.logs import job_log

with job_log(snakemake.log[0], network=True):
    metrics = read_json(snakemake.input.metrics)
    message = kaggle.submit_message(snakemake.params.message, snakemake.params.model, metrics)
    record = kaggle.submit(snakemake.params.competition, snakemake.input.submission, message,
                           snakemake.output.receipt, snakemake.params.ledger, oof_score=metrics["score"],
                           metric=metrics["metric"], score_timeout_s=snakemake.params.score_timeout_s,
                           poll_s=snakemake.params.score_poll_s)
    print(f"submitted {record['file']} to {record['competition']} at {record['submitted_at']}: {message}; "
          f"public score: {record.get('public_score')} ({record.get('score_status')})")
    table = kaggle.submissions_table(snakemake.params.ledger)
    write_csv(snakemake.output.submissions, table)
    print(table.to_string(index=False))
