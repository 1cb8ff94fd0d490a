"""Snakemake entry point: submit the kernel version's submission.csv (once per version), then its public score."""
from fasthf.io import read_json
from fasthf.logs import job_log
from fasthf.routes import kaggle
from fasthf.routes.kernels import submit_kernel

with job_log(snakemake.log[0], network=True):
    metrics, run = read_json(snakemake.input.metrics), read_json(snakemake.input.run)
    message = kaggle.submit_message(snakemake.params.message, snakemake.params.model, metrics)
    record = submit_kernel(snakemake.params.competition, run["kernel"], run["version"], message, snakemake.output.receipt,
                           snakemake.params.ledger, **kaggle.scoring(metrics, snakemake.params.score_timeout_s,
                                                                     snakemake.params.score_poll_s))
    print(f"submitted {record['kernel']} version {record['version']} to {record['competition']}: {message}; "
          f"public score: {record.get('public_score')} ({record.get('score_status')})")
    print(kaggle.write_submissions_table(snakemake.params.ledger, snakemake.output.submissions).to_string(index=False))
