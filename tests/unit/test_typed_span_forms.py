"""Typed span forms whose answers are rows of their own (fasthf.tasks.spans). PII Data Detection's (form bio,
unit tokens, answer token_rows): records of tokens read from JSON, typed spans as classes, decoding per given
token that splits two names side by side, a row per labelled token, checked, scored by micro F5. Feedback Prize
2021's (form segments, answer segment_rows): essays read from a folder, their segment rows joined many to one,
a row per span with its words, checked, scored by the overlap F1."""
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from fasthf.inputs.archive import extract_competition
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
    assert "does not number the rows" in problems and "['B-PHONE', 'O']" in problems and "1 rows repeat an earlier one" in problems


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


# -- Feedback Prize 2021's form: essays in a folder, segment rows joined many to one, a row per span ------------

SEGMENTED = {"slug": "feedback", "id": "id", "text": "text", "task": "spans",
             "target": ["discourse_start", "discourse_end", "discourse_type"],
             "files": {"train": "train/", "test": "test/", "sample_submission": "sample_submission.csv",
                       "segments": "train.csv"},
             "joins": [{"file": "segments", "on": "id", "columns": ["discourse_start", "discourse_end",
                                                                   "discourse_type"], "many": True}],
             "spans": {"form": "segments", "unit": "words", "answer": "segment_rows"}, "metric": "overlap_f1"}
ESSAY = "Phones\n\nMany students use phones.\n\nI believe phones help.\n"


def write_essays(folder, segments="id,discourse_start,discourse_end,discourse_type\n"
                                  "A1,8.0,33.0,Lead\nA1,35.0,57.0,Position\nB2,8.0,33.0,Lead\n"):
    (folder / "train").mkdir(exist_ok=True)
    for essay in ("A1", "B2", "C3"):
        (folder / "train" / f"{essay}.txt").write_text(ESSAY)
    (folder / "notes.md").write_text("not an essay")
    (folder / "train.csv").write_text(segments)
    return Competition.from_config(SEGMENTED).read_train(folder / "train")


def test_a_folder_of_essays_is_read_a_row_per_file_and_its_segment_rows_joined_as_lists(tmp_path):
    train = write_essays(tmp_path)
    assert train.id.tolist() == ["A1", "B2", "C3"] and train.text[0] == ESSAY
    assert json.loads(train.discourse_type[0]) == ["Lead", "Position"] and train.discourse_type[2] == "[]"
    task, _ = Competition.from_config(SEGMENTED).fit(train)
    assert task.types == ["Lead", "Position"] and task.answers_in_rows
    (text, spans), _, (_, none) = task.encode(train)
    assert [(text[s.start:s.end], s.type) for s in spans] == [("Many students use phones.", "Lead"),
                                                               ("I believe phones help.", "Position")]
    assert none == []
    assert task.answer(text, spans) == [("Lead", "1 2 3 4"), ("Position", "5 6 7 8")]


def test_a_segment_past_the_end_of_its_essay_is_refused_naming_the_segment_and_the_file(tmp_path):
    train = write_essays(tmp_path, "id,discourse_start,discourse_end,discourse_type\nA1,8.0,33.0,Lead\nA1,35.0,99.0,"
                                   "Position\n")
    with pytest.raises(DataError, match=r"train: segment 2 of file A1.txt: column 'discourse_end': 99 is past the "
                                        r"end of the text"):
        Competition.from_config(SEGMENTED).fit(train)


def test_a_row_per_span_is_written_for_each_essay_and_checked():
    competition = Competition.from_config(SEGMENTED)
    task = task_from({"kind": "spans", "targets": SEGMENTED["target"], "classes": ["Lead", "Position"],
                      "label_names": None, "text": "text", "settings": SEGMENTED["spans"]})
    sample = pd.DataFrame({"id": ["A1"], "class": ["Lead"], "predictionstring": ["1 2 3"]})
    outputs = np.empty(2, dtype=object)
    outputs[:] = [[("Lead", "1 2 3 4"), ("Position", "5 6 7 8")], [("Lead", "0 1")]]
    submission = make_submission(["A1", "B2"], outputs, sample, competition, task)
    assert submission.values.tolist() == [["A1", "Lead", "1 2 3 4"], ["A1", "Position", "5 6 7 8"], ["B2", "Lead", "0 1"]]
    assert submission_problems(submission, sample, competition, task) == []
    broken = pd.concat([submission, submission.iloc[[0]]], ignore_index=True)
    broken.loc[1, ["class", "predictionstring"]] = ["Claim", "5 six"]
    problems = " ".join(submission_problems(broken, sample, competition, task))
    assert "not indices" in problems and "['Claim']" in problems and "1 rows repeat" in problems


def test_overlap_f1_of_spans_matches_segments_of_words_covering_half_of_each_other(tmp_path):
    task, _ = Competition.from_config(SEGMENTED).fit(write_essays(tmp_path))
    truth = task.encode(write_essays(tmp_path))
    metric = METRICS["overlap_f1"]
    assert metric.score(truth, [s for _, s in truth]) == 1.0
    text, (lead, position) = truth[0]
    half = Span(lead.start, lead.start + len("Many students"), "Lead")  # 2 of the 4 words: a match
    less = Span(position.start, position.start + 1, "Position")         # 1 of 4: no match
    # Lead: 2 TP (essays A1, B2), Position: TP 0, FN 1, FP 1 -> (1 + 0) / 2
    assert metric.score(truth, [[half, less], [truth[1][1][0]], []]) == pytest.approx(0.5)


def essays_archive(path, sample_ids):
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("train/A1.txt", "train/B2.txt", "test/T1.txt", "test/T2.txt"):
            archive.writestr(name, ESSAY)
        archive.writestr("train.csv", "id,discourse_start,discourse_end,discourse_type\nA1,8.0,33.0,Lead\n"
                                      "B2,35.0,57.0,Position\n")
        archive.writestr("sample_submission.csv", "id,class,predictionstring\n" + "".join(f"{i},Lead,1 2\n"
                                                                                        for i in sample_ids))
    return path


def test_an_archive_of_essay_folders_unpacks_them_and_its_sample_may_list_some_essays_twice(tmp_path):
    paths = extract_competition(essays_archive(tmp_path / "a.zip", ["T1", "T1"]), tmp_path / "data",
                                Competition.from_config(SEGMENTED))
    assert sorted(p.name for p in paths["test"].glob("*.txt")) == ["T1.txt", "T2.txt"]
    with pytest.raises(DataError, match=r"sample_submission.csv names 1 id\(s\) that test/ lacks \(e.g. .X9.\)"):
        extract_competition(essays_archive(tmp_path / "b.zip", ["T1", "X9"]), tmp_path / "other",
                            Competition.from_config(SEGMENTED))


def test_a_folder_without_texts_is_refused(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError, match=r"train: holds no .txt files"):
        Competition.from_config(SEGMENTED).read_train(tmp_path / "train")
