"""The run at a glance: every value as a person reads it, and the table on the report's first page."""
import pandas as pd
from docutils.core import publish_parts

from fasthf.inputs.competition import Competition
from fasthf.outputs.summary import front_page_rst, plan_rows, summary_rows
from fasthf.tasks import Classification

COMPETITION = Competition.from_config({"slug": "some-competition", "target": "label", "metric": "accuracy"})
TASK = Classification(["label"], ["no", "yes"])
METRICS = {"metric": "accuracy", "greater_is_better": True, "oof_rows": 120,
           "decision": {"used": False}, "test_outputs": "the mean of the folds' models"}
MEMBERS = pd.DataFrame({"name": ["m seed 1", "ensemble", "ensemble + class offsets"],
                        "kind": ["member", "ensemble", "decision"], "accuracy": [0.61234, 0.63, 0.6299]})


def rows(memory_enabled=True, receipt=None):
    memory = pd.Series({"enabled": memory_enabled, "test_texts": 40, "set_from_memory": 3, "changed_answer": 1})
    return dict(summary_rows(COMPETITION, TASK, METRICS, MEMBERS, memory, receipt))


def test_every_value_reads_as_text_not_as_python():
    summary = rows()
    assert summary["out of fold: ensemble"] == "0.6300"
    assert summary["out of fold: ensemble + class offsets"] == "0.6299 (cross-fitted; not used: no better)"
    assert summary["memory"] == "3 of 40 test texts set from the training file, 1 answer changed"
    assert summary["public score"] == "not submitted"
    assert rows(memory_enabled=False)["memory"] == "off"
    assert rows(receipt={"public_score": 0.71234})["public score"] == "0.71234"
    assert rows(receipt={"public_score": None, "score_status": "error"})["public score"] == "not scored yet (error)"
    assert not any(value in ("True", "False", "None", "nan") for value in summary.values())


def test_the_front_page_is_a_table_of_every_row():
    html = publish_parts(front_page_rst(list(rows().items())), writer_name="html")["html_body"]
    assert html.count("<tr") == len(rows()) + 1  # the header and every row
    assert "out of fold: ensemble" in html and "0.6300" in html


def test_with_a_time_limit_the_page_shows_the_plan_against_the_time_spent():
    plan = {"time_limit_s": 3600.0, "why": "the last of the allocations that fits: 3 folds, 1 seed, last stage 2 epochs",
            "predicted_end_s": 3100.0}
    shown = dict(plan_rows(plan, 2950.4, ["mpnet/seed42/fold2 stage 1"]))
    assert shown["time limit"] == "1h 00m: the last of the allocations that fits: 3 folds, 1 seed, last stage 2 epochs"
    assert shown["time, planned and spent"] == "predicted to end at 51m 40s; 49m 10s spent when this summary was written"
    assert shown["stages stopped early"] == "mpnet/seed42/fold2 stage 1"
    assert dict(plan_rows(plan, 10.0, []))["stages stopped early"] == "none"
