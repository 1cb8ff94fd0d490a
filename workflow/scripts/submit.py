"""Snakemake entry point: upload the submission with the kaggle CLI (at most once per file), then its public score."""
from fasthf.io import read_json
from fasthf.logs import job_log
from fasthf.routes import kaggle

with job_log(snakemake.log[0], network=True):
    metrics = read_json(snakemake.input.metrics)
    message = kaggle.submit_message(snakemake.params.message, snakemake.params.model, metrics)
    record = kaggle.submit(snakemake.params.competition, snakemake.input.submission, message, snakemake.output.receipt,
                           snakemake.params.ledger, **kaggle.scoring(metrics, snakemake.params.score_timeout_s,
                                                                     snakemake.params.score_poll_s))
    print(f"submitted {record['file']} to {record['competition']} at {record['submitted_at']}: {message}; "
          f"public score: {record.get('public_score')} ({record.get('score_status')})")
    print(kaggle.write_submissions_table(snakemake.params.ledger, snakemake.output.submissions).to_string(index=False))
