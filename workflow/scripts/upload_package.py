"""Snakemake entry point: the package as a new version of its Kaggle dataset, once per content."""
from fasthf.io import folder_digest, write_json
from fasthf.logs import job_log
from fasthf.routes.kernels import upload_package

with job_log(snakemake.log[0], network=True):
    package = snakemake.input.package
    record = upload_package(package, folder_digest(package), snakemake.params.ledger, snakemake.params.max_bytes)
    write_json(snakemake.output[0], record)
    print(f"package {record['digest'][:12]} is {record['dataset']} (uploaded at {record['at']})")
