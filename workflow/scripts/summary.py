"""Snakemake entry point: the report's front page, one row per fact."""
import pandas as pd

from fasthf.competition import Competition
from fasthf.io import read_json, write_csv
from fasthf.logs import job_log

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    metrics = read_json(snakemake.input.metrics)
    members = pd.read_csv(snakemake.input.members)
    memory = pd.read_csv(snakemake.input.memory).iloc[0]
    receipt = read_json(snakemake.input.receipt) if snakemake.input.receipt else {}
    decision = metrics.get("decision")

    def decided(row):
        if row.kind != "decision":
            return ""
        return " (cross-fitted; used on test)" if decision["used"] else " (cross-fitted; not used: no better)"

    better = "higher" if metrics["greater_is_better"] else "lower"
    rows = [("competition", competition.slug), ("task", f"{task.kind}: {', '.join(task.output_names[:10])}"),
            ("metric", f"{metrics['metric']} ({better} is better), out of fold over {metrics['oof_rows']} rows"),
            *((f"out of fold: {row['name']}", f"{row[metrics['metric']]:.4f}{decided(row)}") for _, row in members.iterrows()),
            ("test outputs", metrics.get("test_outputs", "the mean of the folds' models")),
            ("memory", f"{int(memory.set_from_memory)} of {int(memory.test_texts)} test texts set, "
                       f"{int(memory.changed_answer)} answers changed" if memory.enabled else "off"),
            ("public score", receipt.get("public_score") if receipt.get("public_score") is not None
             else ("not scored yet" if receipt else "not submitted"))]
    table = pd.DataFrame(rows, columns=["what", "value"])
    write_csv(snakemake.output[0], table)
    print(table.to_string(index=False))
