"""Memory of spans (fasthf.outputs.span_memory, through fasthf.outputs.output_forms.UnitOutputs): a test text found
verbatim in the training file, with the same pair, takes the training file's spans; every other text keeps the
model's."""
import io

import numpy as np
import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.inputs.span_labels import Span
from fasthf.outputs.output_forms import RowOutputs, UnitOutputs, outputs_form
from fasthf.outputs.span_ensemble import unit_table
from fasthf.outputs.token_table import TokenOutputs, decoded

NOTES = {"slug": "nbme", "id": "id", "text": "note", "text_pair": "feature", "target": "location", "task": "spans",
         "spans": {"form": "locations", "unit": "characters", "answer": "locations"}, "metric": "character_f1",
         "files": {"train": "train.csv", "test": "test.csv", "sample_submission": "sample_submission.csv"}}
NOTE = "pain in chest, no fever"  # chest: 8-13, fever: 18-23
TRAIN = pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "note": [NOTE, NOTE, NOTE, NOTE, "cough"],
                      "feature": ["Chest pain", "No fever", "No fever", "No fever", "Cough"],
                      # "No fever" is labelled three times: twice 15-23 ("no fever"), once 18-23 ("fever")
                      "location": ["['8 13']", "['15 23']", "['15 23']", "['18 23']", "['0 5']"]})
TEST = pd.DataFrame({"id": ["x", "y", "z"], "note": [NOTE, NOTE, NOTE + "!"],
                     "feature": ["Chest pain", "No fever", "Chest pain"]})


def model_units(task, texts) -> TokenOutputs:
    """The model's unit table: every character of every test text at 0.2 inside a span (no span decoded)."""
    tokens = [(row, [k, k + 1]) for row, text in enumerate(texts) for k in range(len(text))]
    inside = np.array([[0.8, 0.1, 0.1]] * len(tokens))
    return unit_table(task, texts, [TokenOutputs([r for r, _ in tokens], [t for _, t in tokens], inside)])


def remembered_through_a_file(form, competition, task):
    """The remembered table as an inference package keeps it: written to CSV and read back."""
    buffer = io.StringIO()
    form.remembered(competition, task, TRAIN).reset_index().to_csv(buffer, index=False)
    buffer.seek(0)
    return pd.read_csv(buffer, dtype={"key": str}, keep_default_na=False).set_index("key")


def test_a_remembered_text_and_pair_takes_the_training_spans_and_others_keep_the_models():
    competition = Competition.from_config(NOTES)
    task, _ = competition.fit(TRAIN)
    form = outputs_form(task)
    assert form is UnitOutputs and outputs_form(type("Rows", (), {"per_token": False})) is RowOutputs
    texts = task.texts(TEST)
    model = model_units(task, texts)
    final, from_memory, counts = form.with_memory(competition, task, TEST, model,
                                                  remembered_through_a_file(form, competition, task))
    assert from_memory.tolist() == [True, True, False]  # z's note differs by one character: not remembered
    spans = decoded(task, texts, final, range(3))
    assert spans[0] == [Span(8, 13)]
    assert spans[1] == [Span(15, 23)]  # two of three labellings say "no fever": its characters are inside at 2/3
    assert spans[2] == []  # the model's (nothing reaches the threshold)
    np.testing.assert_array_equal(final.outputs[final.rows == 2], model.outputs[model.rows == 2])
    assert counts == {"enabled": True, "test_texts": 3, "set_from_memory": 2, "changed_answer": 2}
    assert form.answers(task, TEST, final).tolist() == ["8 13", "15 23", ""]


def test_memory_off_keeps_the_models_spans_and_needs_no_training_file():
    competition = Competition.from_config(NOTES)
    task, _ = competition.fit(TRAIN)
    model = model_units(task, task.texts(TEST))
    final, from_memory, counts = UnitOutputs.with_memory(competition, task, TEST, model, None, enabled=False)
    np.testing.assert_array_equal(final.outputs, model.outputs)
    assert not from_memory.any() and counts["set_from_memory"] == counts["changed_answer"] == 0
