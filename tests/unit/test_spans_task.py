"""The span task kind (fasthf.tasks.spans): described by config, its spans read from the training file, its texts
cached as tagged tokens, a stage of a token classifier trained on them (loss over the text's tokens only), the
held-out outputs written per token and decoded per unit into the submission's answers, scored by the metric."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from fasthf.encoding.span_tokens import IGNORE
from fasthf.encoding.tensor_cache import load_split, prepare_tensors
from fasthf.inputs.competition import Competition
from fasthf.inputs.data import DataError
from fasthf.inputs.span_labels import Span
from fasthf.outputs.metrics import METRICS
from fasthf.outputs.token_table import TokenOutputs
from fasthf.tasks import Spans, task_from
from fasthf.tasks.spans import SpanSettings

TWEETS = {"slug": "tweet-sentiment-extraction", "id": "textID", "text": "text", "text_pair": "sentiment",
          "target": "selected_text", "task": "spans", "spans": {"form": "substring", "one": True},
          "metric": "jaccard", "files": {"train": "train.csv", "test": "test.csv",
                                         "sample_submission": "sample_submission.csv"}}
NOTES = {**TWEETS, "slug": "nbme", "id": "id", "text": "note", "text_pair": "feature", "target": "location",
         "spans": {"form": "locations", "unit": "characters", "answer": "locations"}, "metric": "character_f1"}
POSTS = [(" Sooo SAD I will miss you here in San Diego!!!", "Sooo SAD", "negative"),
         ("my boss is bullying me...", "bullying me", "negative"),
         ("what interview! leave me alone", "leave me alone", "negative"),
         ("I really really like the song Love Story by Taylor Swift", "like", "positive"),
         ("Journey!? Wow... u just became cooler.", "Wow... u just became cooler.", "positive"),
         ("is back home now      gonna miss every one", "miss", "negative")]


def tweets(n=24) -> pd.DataFrame:
    rows = [POSTS[i % len(POSTS)] for i in range(n)]
    return pd.DataFrame({"textID": [f"t{i}" for i in range(n)], "text": [r[0] for r in rows],
                         "selected_text": [r[1] for r in rows], "sentiment": [r[2] for r in rows]})


# -- the description ----------------------------------------------------------------------------------------

def test_a_spans_block_makes_the_task_and_reads_each_rows_span_from_its_text():
    competition = Competition.from_config(TWEETS)
    task, why = competition.fit(tweets(6))
    assert competition.head == "token" and task.kind == "spans" and "competition.spans" in why
    assert task.tag_names == ["O", "B", "I"] and task.n_outputs == 3
    truth = task.encode(tweets(6))
    text, spans = truth[0]
    assert [text[s.start:s.end] for s in spans] == ["Sooo SAD"] and spans == [Span(1, 9)]
    assert task_from(json.loads(json.dumps(task.describe()))).describe() == task.describe()
    assert Competition.from_description(json.loads(json.dumps(competition.describe()))) == competition


@pytest.mark.parametrize("changes, message", [
    ({"text": ["text", "sentiment"], "text_pair": None}, "needs one text column"),
    ({"task": "regression"}, "competition.task is regression"),
    ({"spans": {"form": "offsets"}}, r"competition.spans.form: 'offsets'; use one of"),
    ({"spans": {"form": "substring", "units": "words"}}, r"unknown key\(s\) \['units'\]"),
    ({"spans": {"threshold": 1.5}}, "a probability between 0 and 1"),
])
def test_a_span_description_that_cannot_work_is_refused_in_one_sentence(changes, message):
    with pytest.raises(ValueError, match=message):
        Competition.from_config({**TWEETS, **changes})


def test_a_selected_text_not_in_its_text_is_refused_naming_the_row():
    frame = tweets(3)
    frame.loc[1, "selected_text"] = "not there"
    with pytest.raises(DataError, match=r"row 2: column 'selected_text': 'not there' is not in column 'text'"):
        Competition.from_config(TWEETS).fit(frame)


def test_several_spans_where_the_description_says_one_are_refused():
    frame = pd.DataFrame({"id": ["a"], "note": ["pain in chest and leg"], "feature": ["pain"],
                          "location": ["['0 4', '18 21']"]})
    task, _ = Competition.from_config(NOTES).fit(frame)
    assert [span for _, spans in task.encode(frame) for span in spans] == [Span(0, 4), Span(18, 21)]
    with pytest.raises(DataError, match="row 1 has 2 spans, but competition.spans.one is true"):
        Competition.from_config({**NOTES, "spans": {**NOTES["spans"], "one": True}}).fit(frame)


# -- the model's side -----------------------------------------------------------------------------------------

def test_the_loss_reads_only_the_texts_tokens():
    task = Spans(["selected_text"])
    logits = torch.randn(2, 5, 3)
    tags = torch.tensor([[IGNORE, 0, 1, 2, IGNORE], [IGNORE, 1, IGNORE, IGNORE, IGNORE]])
    kept = tags != IGNORE
    expected = torch.nn.functional.cross_entropy(logits[kept], tags[kept])
    assert torch.allclose(task.loss_func()(logits, tags), expected)
    accuracy = task.fastai_metrics()[0](logits, tags)
    assert accuracy == (logits.argmax(-1)[kept] == tags[kept]).float().mean()


def test_units_probabilities_decode_to_the_answer_in_the_submissions_form():
    text = "my boss is bullying me..."
    task = Spans(["selected_text"], settings=SpanSettings(one=True))
    tokens = np.array([[0, 2], [3, 7], [8, 10], [11, 19], [20, 22], [22, 25]])
    probs = np.array([[.9, .05, .05], [.8, .1, .1], [.6, .2, .2], [.2, .7, .1], [.3, .1, .6], [.45, .1, .45]])
    units, unit_probs = task.unit_probs(text, [(tokens, probs)])
    assert units.tolist() == [[0, 2], [3, 7], [8, 10], [11, 19], [20, 25]]
    assert np.allclose(unit_probs[4], (2 * probs[4] + 3 * probs[5]) / 5)  # "me..." is two tokens: its characters' mean
    spans = task.decode_text(text, unit_probs, units)
    assert spans == [Span(11, 25)] and task.answer(text, spans) == "bullying me..."
    located = Spans(["location"], settings=SpanSettings(form="locations", unit="characters", answer="locations"))
    units, unit_probs = located.unit_probs(text, [(tokens, probs)])
    assert len(units) == len(text) and located.answer(text, located.decode_text(text, unit_probs, units)) == "11 25"  # across the space


def test_span_metrics_score_decoded_spans_against_the_truth():
    truth = np.empty(2, dtype=object)
    truth[:] = [("my boss is bullying me", [Span(11, 22)]), ("leave me alone", [Span(0, 5)])]
    assert METRICS["jaccard"].score(truth, [[Span(11, 19)], [Span(0, 5)]]) == pytest.approx((0.5 + 1) / 2)
    assert METRICS["character_f1"].score(truth, [[Span(11, 19)], [Span(0, 5)]]) == pytest.approx(2 * 13 / (2 * 13 + 3))


# -- the pipeline's steps on a tiny model ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def cached(tiny_model_folder, tmp_path_factory):
    """The tweets' files, their tensors (a tiny random BERT token classifier's tokenizer) and its start."""
    from fasthf.models.architectures import fetch_pretrained, load_pretrained

    folder = tmp_path_factory.mktemp("spans")
    train, test = tweets(24), tweets(6).drop(columns="selected_text")
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    competition = Competition.from_config(TWEETS)
    task, _ = competition.fit(train)
    fetch_pretrained(str(tiny_model_folder("bert")), task.output_names, folder / "start", 0, head="token")
    tokenizer = load_pretrained(str(folder / "start"), task.output_names, head="token")[1]
    summary = prepare_tensors(folder / "train.csv", folder / "test.csv", tokenizer, folder, 12, competition, task)
    return folder, competition, task, summary


def test_the_tensors_hold_a_tag_per_token_and_long_texts_in_windows(cached):
    folder, _, task, summary = cached
    train, test = load_split(folder / "train.safetensors"), load_split(folder / "test.safetensors")
    assert train.head == test.head == "token"
    assert summary["splits"]["train"]["windowed"] > 0 and summary["splits"]["train"]["truncated"] == 0
    assert summary["splits"]["train"]["spans"] == 24 and "label_counts" not in summary["splits"]["train"]
    assert set(train.tags.unique().tolist()) <= {IGNORE, 0, 1, 2} and (train.tags == 1).sum() >= 24
    assert (test.tags == IGNORE).all() and set(test.rows.tolist()) == set(range(6))


@pytest.fixture(scope="module")
def trained(cached):
    """One stage of the token classifier on a fold holding out every fourth tweet: the stage's metrics."""
    from fasthf.inputs.folds import FoldData
    from fasthf.training.recipe import Stage, TrainSettings
    from fasthf.training.stages import run_stage

    folder, _, task, _ = cached
    held = np.arange(24) % 4 == 0
    pd.DataFrame({"row": range(24), "id": range(24), "group": range(24),
                  "fold": np.where(held, 0, -1)}).to_csv(folder / "folds.csv", index=False)
    data = FoldData(str(folder / "train.safetensors"), str(folder / "folds.csv"), 0)
    return run_stage(Stage(freeze_to=0, epochs=1, lr_max=1e-3, name="all"), 1, folder / "start", data,
                     folder / "stage", TrainSettings(batch_size=8), task)


def test_a_stage_trains_the_token_classifier_and_writes_held_out_outputs_per_token(cached, trained):
    folder, _, task, _ = cached
    metrics, held = trained, np.arange(24) % 4 == 0
    assert metrics["valid_rows"] == 6 and "token_accuracy" in metrics["metrics"] and metrics["collapsed"] is None
    held_out = TokenOutputs.read(folder / "stage" / "valid_outputs.csv")
    assert sorted(set(held_out.rows.tolist())) == np.flatnonzero(held).tolist()
    assert np.allclose(held_out.outputs.sum(axis=1), 1, atol=1e-5) and held_out.outputs.shape[1] == 3
    assert (held_out.ranges[:, 0] >= 0).all() and (held_out.ranges[:, 1] > held_out.ranges[:, 0]).all()
    train = tweets(24)
    answers = []
    for row, windows in held_out.by_row().items():
        text = train.text[row]
        covered = np.zeros(len(text), bool)
        for start, end in windows[0]:
            covered[start:end] = True
        assert covered.sum() == sum(not c.isspace() for c in text)  # every character read, across the windows
        units, probs = task.unit_probs(text, [windows])
        spans = task.decode_text(text, probs, units)
        assert len(spans) == 1  # one: true, whatever a barely trained model says
        answers.append(task.answer(text, spans))
    assert all(answer and answer in train.text[row] for answer, row in zip(answers, np.flatnonzero(held)))


def test_the_trained_model_predicts_the_held_out_tokens_as_its_last_validation_pass_and_the_test_rows(cached, trained):
    from fasthf.inputs.folds import FoldData
    from fasthf.models.architectures import load_checkpoint
    from fasthf.outputs.prediction import outputs_table, predict_probs

    folder, _, task, _ = cached
    model = load_checkpoint(folder / "stage" / "model", n_labels=task.n_outputs, head="token")
    held_out = FoldData(str(folder / "train.safetensors"), str(folder / "folds.csv"), 0).held_out()
    again = outputs_table(held_out, predict_probs(model, held_out, batch_size=4, activation=task.activation))
    saved = TokenOutputs.read(folder / "stage" / "valid_outputs.csv")
    assert np.array_equal(again.rows, saved.rows) and np.array_equal(again.ranges, saved.ranges)
    assert np.allclose(again.outputs, saved.outputs, atol=1e-4)
    test = load_split(folder / "test.safetensors")
    predicted = outputs_table(test, predict_probs(model, test, batch_size=4, activation=task.activation))
    assert isinstance(predicted, TokenOutputs) and sorted(predicted.by_row()) == list(range(6))


def test_a_bundle_of_the_trained_model_gives_each_text_its_spans_as_the_pipeline_decodes_them(cached, trained,
                                                                                              tmp_path):
    from fasthf.models.architectures import load_checkpoint
    from fasthf.outputs.prediction import outputs_table, predict_probs
    from fasthf.outputs.span_ensemble import unit_table
    from fasthf.outputs.token_table import decoded
    from fasthf.routes.bundle import Predictor, export_bundle

    folder, _, task, summary = cached
    export_bundle(folder / "stage" / "model", folder / "start", tmp_path / "bundle",
                  {"max_length": summary["max_length"], "window_stride": summary.get("window_stride"),
                   "task": task.describe(), "pair": "sentiment"})
    test = tweets(6)
    spans = Predictor(tmp_path / "bundle").spans(test.text.tolist(), test.sentiment.tolist())
    model = load_checkpoint(folder / "stage" / "model", n_labels=task.n_outputs, head="token")
    split = load_split(folder / "test.safetensors")  # the same texts, cached by the pipeline
    table = outputs_table(split, predict_probs(model, split, batch_size=4, activation=task.activation))
    texts = test.text.tolist()
    assert spans == decoded(task, texts, unit_table(task, texts, [table]), range(6))
    assert all(len(found) == 1 for found in spans)
    with pytest.raises(ValueError, match="reads each text beside its sentiment"):
        Predictor(tmp_path / "bundle").spans(texts)


NBME = {"slug": "nbme-score-clinical-patient-notes",
        "files": {"train": "train.csv", "test": "test.csv", "sample_submission": "sample_submission.csv",
                  "notes": "patient_notes.csv", "features": "features.csv"},
        "joins": [{"file": "notes", "on": ["pn_num", "case_num"], "columns": ["pn_history"]},
                  {"file": "features", "on": ["feature_num", "case_num"], "columns": ["feature_text"]}],
        "id": "id", "text": "pn_history", "text_pair": "feature_text", "target": "location", "group": "pn_num",
        "task": "spans", "spans": {"form": "locations", "unit": "characters", "answer": "locations"},
        "metric": "character_f1"}


def test_notes_joined_from_their_files_give_each_pairs_spans_and_their_answers_give_the_locations_back(tmp_path):
    """The NBME-layout fixture (tests/fixtures/make_span_fixtures.py): the note and the feature joined by key,
    none, one or several spans per pair, a location cell with ';'-joined pieces."""
    from fasthf.inputs.archive import extract_competition
    from fasthf.inputs.span_labels import parse_locations
    from helpers import REPO

    competition = Competition.from_config(NBME)
    paths = extract_competition(REPO / "tests" / "fixtures" / f"{NBME['slug']}.zip", tmp_path, competition)
    competition, task = Competition.load(paths["competition"])
    train = competition.read_train(paths["train"])
    truth = task.encode(train)
    counts = [len(spans) for _, spans in truth]
    assert task.kind == "spans" and min(counts) == 0 and max(counts) >= 2
    assert any(";" in cell for cell in train.location)
    for (text, spans), cell in zip(truth, train.location):
        assert [text[s.start:s.end] for s in spans] == [text[s:e] for s, e in sorted(parse_locations(cell))]
        assert task.answer(text, spans) == ";".join(f"{s} {e}" for s, e in sorted(parse_locations(cell)))
    assert set(competition.read_test(paths["test"]).columns) >= {"pn_history", "feature_text"}


def test_answers_given_by_their_start_are_read_as_the_question_answering_competitions_give_them():
    """chaii's form: `answer_start` and `answer_text`; a start off by a few characters moves to the answer."""
    block = {**TWEETS, "slug": "chaii", "id": "id", "text": "context", "text_pair": "question",
             "target": ["answer_start", "answer_text"], "spans": {"form": "answer_start", "one": True}}
    frame = pd.DataFrame({"id": ["a", "b"], "context": ["the capital is Paris.", "born in 1912 in Leeds"],
                          "question": ["capital?", "born when?"], "answer_start": [15, 7],
                          "answer_text": ["Paris", "1912"]})
    task, _ = Competition.from_config(block).fit(frame)
    assert [[text[s.start:s.end] for s in spans] for text, spans in task.encode(frame)] == [["Paris"], ["1912"]]
    with pytest.raises(ValueError, match=r"read from 2 column\(s\)"):
        Competition.from_config({**block, "target": "answer_text"}).fit(frame)
