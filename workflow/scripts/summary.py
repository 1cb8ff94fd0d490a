"""Snakemake entry point: the report's front page, one row per fact (summary.csv, and summary.rst for the page)."""
import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.io import atomic_path, read_json, write_csv
from fasthf.logs import job_log
from fasthf.outputs.summary import front_page_rst, summary_rows

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    rows = summary_rows(competition, task, read_json(snakemake.input.metrics), pd.read_csv(snakemake.input.members),
                        pd.read_csv(snakemake.input.memory).iloc[0],
                        read_json(snakemake.input.receipt) if snakemake.input.receipt else None)
    table = pd.DataFrame(rows, columns=["what", "value"])
    write_csv(snakemake.output.table, table)
    with atomic_path(snakemake.output.page) as tmp:
        tmp.write_text(front_page_rst(rows))
    print(table.to_string(index=False))
