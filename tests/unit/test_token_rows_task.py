"""A span task over given tokens (PII Data Detection's form, fasthf.tasks.spans with form bio, unit tokens,
answer token_rows): records of tokens read from JSON, typed spans as classes, decoding per given token that
splits two names side by side, answers a row per labelled token, checked, and scored by micro F5."""
import json

import numpy as np
import pandas as pd
import pytest

from fasthf.inputs.competition import Competition
from fasthf.inputs.data import DataError
from fasthf.inputs.span_labels import Span
from fasthf.inputs.token_records import TokenizedText
from fasthf.outputs.metrics import METRICS
from fasthf.outputs.span_metrics import micro_fbeta
from fasthf.outputs.submission import make_submission, submission_problems
from fasthf.tasks import task_from

ESSAYS = {"slug": "pii", "id": "document", "text": "full_text", "target": "labels", "task": "spans",
          "spans": {"form": "bio", "unit": "tokens", "answer": "token_rows"}, "metric": "micro_f5",
          "files": {"train": "train.json", "test": "test.json", "sample_submission": "sample_submission.csv"}}
# document 7 of the real train.json begins so (../shared/research/span-competitions.md)
TOKENS = ["Design", "Thinking", "for", "innovation", "reflexion", "-", "Avril", "2021", "-", "Nathalie", "Sylla",
          "\n\n", "Write", "to", "nathalie@mail.com", "."]
SPACES = [True, True, True, True, False, False, False, False, False, True, False, False, True, True, False, False]
LABELS = ["O"] * 9 + ["B-NAME_STUDENT", "I-NAME_STUDENT", "O", "O", "O", "B-EMAIL", "O"]


def record(document, tokens=TOKENS, spaces=SPACES, labels=LABELS):
    text = "".join(t + (" " if s else "") for t, s in zip(tokens, spaces))
    return {"document": document, "full_text": text, "tokens": tokens, "trailing_whitespace": spaces,
            "labels": labels}


def read(tmp_path, records, name="train.json"):
    (tmp_path / name).write_text(json.dumps(records))
    return Competition.from_config(ESSAYS).read_train(tmp_path / name)


def test_records_of_tokens_give_typed_spans_whose_types_are_the_classes(tmp_path):
    competition = Competition.from_config(ESSAYS)
    task, _ = competition.fit(read(tmp_path, [record(7), record(10)]))
    assert task.types == ["EMAIL", "NAME_STUDENT"] and task.answers_in_rows
    assert task.tag_names == ["O", "B-EMAIL", "I-EMAIL", "B-NAME_STUDENT", "I-NAME_STUDENT"]
    text, spans = task.encode(read(tmp_path, [record(7)]))[0]
    assert isinstance(text, TokenizedText) and len(text.units) == len(TOKENS)
    assert [text[s.start:s.end] for s in spans] == ["Nathalie Sylla", "nathalie@mail.com"]
    assert task_from(json.loads(json.dumps(task.describe()))).describe() == task.describe()


@pytest.mark.parametrize("spans, message", [({"form": "bio"}, "set unit: tokens"),
                                            ({"answer": "token_rows"}, "set unit: tokens")])
def test_given_tokens_forms_without_unit_tokens_are_refused(spans, message):
    with pytest.raises(ValueError, match=message):
        Competition.from_config({**ESSAYS, "spans": spans}).fit(pd.DataFrame({"full_text": ["a"], "labels": ["[]"]}))


def test_tokens_that_do_not_spell_the_text_are_refused_naming_the_record(tmp_path):
    bad = record(7)
    bad["full_text"] = bad["full_text"].replace("Avril", "April")
    with pytest.raises(DataError, match=r"train.json: record 1: column 'full_text' differs at character"):
        Competition.from_config(ESSAYS).fit(read(tmp_path, [bad]))


def probs_of(task, units, tags):
    """Unit probabilities that put each unit's mass on its tag."""
    probs = np.full((len(units), task.n_outputs), 0.01)
    for k, tag in enumerate(tags):
        probs[k, task.tag_names.index(tag)] = 1.0
    return probs / probs.sum(axis=1, keepdims=True)


def test_two_names_side_by_side_decode_as_two_spans_and_answer_a_row_per_labelled_token(tmp_path):
    task, _ = Competition.from_config(ESSAYS).fit(read(tmp_path, [record(7)]))
    tokens = ["Ana", "Lima", "Bo", "Chen", "wrote", "it"]
    text = task.texts(read(tmp_path, [record(1, tokens, [True] * 6, ["O"] * 6)], "test.json"))[0]
    tags = ["B-NAME_STUDENT", "I-NAME_STUDENT", "B-NAME_STUDENT", "I-NAME_STUDENT", "O", "O"]
    spans = task.decode_text(text, probs_of(task, text.units, tags), text.units)
    assert [(text[s.start:s.end], s.type) for s in spans] == [("Ana Lima", "NAME_STUDENT"), ("Bo Chen", "NAME_STUDENT")]
    assert task.answer(text, spans) == [(0, "B-NAME_STUDENT"), (1, "I-NAME_STUDENT"), (2, "B-NAME_STUDENT"),
                                        (3, "I-NAME_STUDENT")]


def test_the_submission_is_a_numbered_row_per_labelled_token_in_the_test_files_order_and_is_checked():
    competition = Competition.from_config(ESSAYS)
    task = task_from({"kind": "spans", "targets": ["labels"], "classes": ["EMAIL", "NAME_STUDENT"],
                      "label_names": None, "text": "full_text", "settings": ESSAYS["spans"]})
    sample = pd.DataFrame({"row_id": ["0"], "document": ["7"], "token": ["9"], "label": ["B-NAME_STUDENT"]})
    outputs = np.empty(3, dtype=object)
    outputs[:] = [[(9, "B-NAME_STUDENT"), (10, "I-NAME_STUDENT")], [], [(0, "B-EMAIL")]]
    submission = make_submission(["7", "16", "10"], outputs, sample, competition, task)
    assert submission.astype(str).values.tolist() == [["0", "7", "9", "B-NAME_STUDENT"], ["1", "7", "10", "I-NAME_STUDENT"],
                                                      ["2", "10", "0", "B-EMAIL"]]
    assert submission_problems(submission, sample, competition, task) == []
    broken = submission.assign(row_id=[0, 2, 3], label=["B-NAME_STUDENT", "O", "B-PHONE"])
    broken.loc[2, ["document", "token"]] = ["7", 9]
    problems = " ".join(submission_problems(broken, sample, competition, task))
    assert "does not number the rows" in problems and "['B-PHONE', 'O']" in problems and "labelled twice" in problems


def test_micro_f5_of_spans_is_the_metric_of_their_rows_of_labelled_tokens(tmp_path):
    task, _ = Competition.from_config(ESSAYS).fit(read(tmp_path, [record(7)]))
    truth = task.encode(read(tmp_path, [record(7), record(10)]))
    text = truth[0][0]
    name, email = truth[0][1]
    metric = METRICS["micro_f5"]
    assert metric.score(truth, [[name, email], [name, email]]) == 1.0
    # a miss costs 25 times a false alarm: the email missed in one essay, a token called a name in the other
    wrong = [Span(text.units[3][0], text.units[3][1], "NAME_STUDENT")]
    truth_rows = {(d, 9, "B-NAME_STUDENT") for d in (0, 1)} | {(d, 10, "I-NAME_STUDENT") for d in (0, 1)} | \
        {(d, 14, "B-EMAIL") for d in (0, 1)}
    predicted_rows = truth_rows - {(0, 14, "B-EMAIL")} | {(1, 3, "B-NAME_STUDENT")}
    score = metric.score(truth, [[name], [name, email, *wrong]])
    assert score == pytest.approx(micro_fbeta(truth_rows, predicted_rows, beta=5))
    assert score == pytest.approx(26 * 5 / (26 * 5 + 25 * 1 + 1))
