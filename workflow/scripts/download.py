"""Snakemake entry point: competition files from Kaggle or a local archive, unpacked, checked, task inferred."""
from pathlib import Path

from fasthf.inputs.archive import extract_competition
from fasthf.inputs.competition import Competition
from fasthf.logs import job_log
from fasthf.routes import kaggle

with job_log(snakemake.log[0], network=True):
    competition = Competition.from_config(snakemake.params.competition)
    data_dir = Path(snakemake.output.train).parent
    archive = snakemake.input.archive or kaggle.download_competition(competition.slug, data_dir)
    kaggle.check_route(competition.slug, competition.route)  # asks Kaggle only where a token is set
    paths = extract_competition(archive, data_dir, competition)
    print(f"competition files from {archive}: " + ", ".join(str(p) for p in paths.values()))
