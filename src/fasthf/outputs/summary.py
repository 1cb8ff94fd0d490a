"""The run at a glance: competition, task, metric, every member's and the blend's out-of-fold score, what
memory set, the public score. One table, written as summary.csv and as the report's front page."""
from __future__ import annotations

import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.tasks import Task
from fasthf.training.time_plan import format_duration


def summary_rows(competition: Competition, task: Task, metrics: dict, members: pd.DataFrame, memory: pd.Series,
                 receipt: dict | None) -> list[tuple[str, str]]:
    """(what, value) pairs, every value as a person reads it."""
    metric, decision = metrics["metric"], metrics.get("decision")

    def score(row) -> str:
        text = f"{row[metric]:.4f}"
        if row.kind == "decision":  # a span task's second decision, its minimum lengths, is nested in the first
            made = decision["lengths"] if row["name"].endswith("minimum lengths") else decision
            text += " (cross-fitted; used on test)" if made["used"] else \
                f" (cross-fitted; not used: {made.get('why', 'no better')})"
        return text

    better = "higher" if metrics["greater_is_better"] else "lower"
    if receipt is None:
        public = "not submitted"
    elif receipt.get("public_score") is None:
        public = f"not scored yet ({receipt.get('score_status', 'not asked')})"
    else:
        public = f"{receipt['public_score']:.5f}"
    changed = int(memory.changed_answer)
    memory_text = (f"{int(memory.set_from_memory)} of {int(memory.test_texts)} test texts set from the training "
                   f"file, {changed} answer{'' if changed == 1 else 's'} changed" if bool(memory.enabled) else "off")
    return [("competition", competition.slug),
            ("task", f"{task.kind}: {', '.join(task.output_names[:10])}"),
            ("metric", f"{metric} ({better} is better), out of fold over {metrics['oof_rows']} rows"),
            *((f"out of fold: {row['name']}", score(row)) for _, row in members.iterrows()),
            ("test outputs", metrics.get("test_outputs", "the mean of the folds' models")),
            ("memory", memory_text),
            ("public score", public)]


def plan_rows(plan: dict, spent_s: float, stopped: list[str]) -> list[tuple[str, str]]:
    """With a time limit: what the plan chose and why, its predicted end against the time spent, and the stages
    the limit stopped early."""
    return [("time limit", f"{format_duration(plan['time_limit_s'])}: {plan['why']}"),
            ("time, planned and spent", f"predicted to end at {format_duration(plan['predicted_end_s'])}; "
                                        f"{format_duration(spent_s)} spent when this summary was written"),
            ("stages stopped early", "; ".join(stopped) if stopped else "none")]


def front_page_rst(rows: list[tuple[str, str]]) -> str:
    """The rows as a reStructuredText table, for the report's first page."""
    def cell(text: str) -> str:
        return str(text).replace("\n", " ").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|")

    lines = [".. list-table::", "   :header-rows: 1", "", "   * - what", "     - value"]
    for what, value in rows:
        lines += [f"   * - {cell(what)}", f"     - {cell(value)}"]
    return "\n".join(lines) + "\n"
