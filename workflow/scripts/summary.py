"""Snakemake entry point: the report's front page, one row per fact (summary.csv, and summary.rst for the page)."""
from pathlib import Path

import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.io import atomic_path, read_json, write_csv
from fasthf.logs import job_log
from fasthf.outputs.summary import front_page_rst, plan_rows, summary_rows
from fasthf.training.time_plan import spent_seconds

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    rows = summary_rows(competition, task, read_json(snakemake.input.metrics), pd.read_csv(snakemake.input.members),
                        pd.read_csv(snakemake.input.memory).iloc[0],
                        read_json(snakemake.input.receipt) if snakemake.input.receipt else None)
    if snakemake.input.plan:  # time_limit
        stopped = ["/".join(Path(path).parts[-6:-3]) + f" stage {metrics['stage']}"  # member/seed/split
                   for path in snakemake.input.stage_metrics if (metrics := read_json(path))["stopped_early"]]
        rows += plan_rows(read_json(snakemake.input.plan[0]), spent_seconds(snakemake.params.clock), stopped)
    table = pd.DataFrame(rows, columns=["what", "value"])
    write_csv(snakemake.output.table, table)
    with atomic_path(snakemake.output.page) as tmp:
        tmp.write_text(front_page_rst(rows))
    print(table.to_string(index=False))
