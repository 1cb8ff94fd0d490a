"""Snakemake entry point: `kaggle kernels push`, once per kernel folder and package."""
from fasthf.io import read_json, write_json
from fasthf.logs import job_log
from fasthf.routes.kernels import push_kernel

with job_log(snakemake.log[0], network=True):
    record = push_kernel(snakemake.input.kernel, read_json(snakemake.input.upload)["digest"], snakemake.params.ledger)
    write_json(snakemake.output[0], record)
    print(f"{record['kernel']} version {record['version']}")
