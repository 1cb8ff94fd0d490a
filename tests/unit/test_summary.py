"""The run at a glance: every value as a person reads it, and the table on the report's first page."""
import pandas as pd
from docutils.core import publish_parts

from fasthf.inputs.competition import Competition
from fasthf.outputs.summary import front_page_rst, summary_rows
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
