"""Snakemake entry point: wait for the pushed kernel version's run on Kaggle."""
from fasthf.io import read_json, write_json
from fasthf.logs import job_log
from fasthf.routes.kernels import wait_for_kernel

with job_log(snakemake.log[0], network=True):
    pushed = read_json(snakemake.input[0])
    record = wait_for_kernel(pushed["kernel"], pushed["version"], snakemake.params.ledger,
                             snakemake.params.timeout_s, snakemake.params.poll_s)
    write_json(snakemake.output[0], record)
    print(f"{record['kernel']} version {record['version']}: {record['status']}")
