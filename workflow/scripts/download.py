"""Snakemake entry point: competition files from Kaggle or a local archive, unpacked and checked."""
from pathlib import Path

from fasthf import kaggle
from fasthf.logs import job_log

with job_log(snakemake.log[0], network=True):
    data_dir = Path(snakemake.output.train).parent
    archive = snakemake.input.archive or kaggle.download_competition(snakemake.params.competition, data_dir)
    paths = kaggle.extract_competition(archive, data_dir)
    print(f"competition files from {archive}: " + ", ".join(str(p) for p in paths.values()))
