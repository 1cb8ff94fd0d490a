"""Span tasks through the whole chain, by their presets: made-up short posts in the real competition's layout
(tests/fixtures/tweet-sentiment-extraction.zip, tests/fixtures/make_span_fixtures.py), a tiny random BERT as
a token classifier over two folds, its outputs per token blended per word, decoded into one span per post,
scored by word Jaccard out of fold and written as the sample submission's answers; as a code competition, its
inference package answers a test file it never saw, offline."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import copy_workflow
from presets import ONE_STAGE, SMALL, preset_run
from fasthf.inputs.competition import Competition
from fasthf.outputs.metrics import METRICS
from fasthf.outputs.token_table import TokenOutputs, decoded

SLUG = "tweet-sentiment-extraction"
RESULTS = f"results/{SLUG}"


@pytest.fixture(scope="module")
def span_run(tmp_path_factory, tiny_model_folder):
    """The preset of the extraction competition on its fixture (tests/fixtures/make_span_fixtures.py), one stage a
    fold: the spans' files and decisions are under test here, the stages in every other preset's run."""
    workdir = copy_workflow(tmp_path_factory.mktemp("spans"), {"small.yaml": SMALL, "one-stage.yaml": ONE_STAGE})
    return workdir, preset_run(workdir, SLUG, tiny_model_folder("bert"), configs=["config/one-stage.yaml"])


def test_the_submission_answers_each_post_with_one_span_of_its_own_text(span_run):
    workdir, _ = span_run
    sample = pd.read_csv(workdir / "data" / SLUG / "sample_submission.csv", keep_default_na=False)
    test = pd.read_csv(workdir / "data" / SLUG / "test.csv", keep_default_na=False)
    submission = pd.read_csv(workdir / RESULTS / "submission.csv", keep_default_na=False)
    assert submission.columns.tolist() == ["textID", "selected_text"]
    assert submission.textID.tolist() == sample.textID.tolist()
    texts = test.set_index("textID").text.loc[submission.textID]
    for answer, text in zip(submission.selected_text, texts):
        assert answer and answer in text and answer == answer.strip()
    done = subprocess.run([sys.executable, "-m", "fasthf", "validate-submission", str(workdir / RESULTS / "submission.csv"),
                           "--sample", str(workdir / "data" / SLUG / "sample_submission.csv"),
                           "--competition", str(workdir / "data" / SLUG / "competition.json")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_out_of_fold_score_is_the_metric_of_the_decoded_held_out_words_over_every_row(span_run):
    workdir, _ = span_run
    competition, task = Competition.load(workdir / "data" / SLUG / "competition.json")
    train = competition.read_train(workdir / "data" / SLUG / "train.csv")
    truth = task.encode(train)
    texts = [text for text, _ in truth]
    metrics = json.loads((workdir / RESULTS / "ensemble" / "metrics.json").read_text())
    assert metrics["task"] == "spans" and metrics["metric"] == "jaccard" and metrics["folds"] == 2
    assert metrics["oof_rows"] == len(train)  # the post without text too: no span, scored
    units = TokenOutputs.read(workdir / RESULTS / "ensemble" / "oof_outputs.csv")
    members = pd.read_csv(workdir / RESULTS / "ensemble" / "members.csv").set_index("kind")
    decision = metrics["decision"]  # the threshold, fitted out of fold, used only where it scores better
    assert decision["rule"] == "threshold" and decision["without"] == pytest.approx(members.jaccard["ensemble"])
    assert metrics["jaccard"] == pytest.approx(decision["with"] if decision["used"] else decision["without"])
    # the handed-on table decodes (at the task's threshold) as the blend did at the threshold used
    used = decision["fitted"] if decision["used"] else task.settings.threshold
    shift = used - task.settings.threshold
    plain = TokenOutputs(units.rows, units.ranges, units.outputs - np.array([shift, 0, 0]))
    rows = np.arange(len(train))
    assert METRICS["jaccard"].score(truth, decoded(task, texts, plain, rows)) == pytest.approx(decision["without"])
    # a line per word of each text with words: the unit the metric counts
    assert len(units.rows) == sum(len(text.split()) for text in texts)


def test_each_folds_held_out_outputs_cover_every_character_of_its_texts(span_run):
    workdir, _ = span_run
    competition, task = Competition.load(workdir / "data" / SLUG / "competition.json")
    train = competition.read_train(workdir / "data" / SLUG / "train.csv")
    folds = pd.read_csv(workdir / RESULTS / "folds.csv")
    for fold in (0, 1):
        chain = next((workdir / RESULTS).glob(f"*/seed42/fold{fold}"))
        table = TokenOutputs.read(chain / "stages" / "1" / "valid_outputs.csv").by_row()
        held = folds.row[folds.fold == fold].tolist()
        assert set(table) == {row for row in held if train.text[row].strip()}
        for row, (ranges, outputs) in table.items():
            covered = np.zeros(len(train.text[row]), bool)
            for start, end in ranges:
                covered[start:end] = True
            assert covered.sum() == sum(not c.isspace() for c in train.text[row])
            assert np.allclose(outputs.sum(axis=1), 1, atol=1e-5)


def test_a_rerun_has_nothing_to_do(span_run):
    workdir, command = span_run
    done = subprocess.run([*command, "--dry-run"], cwd=workdir, capture_output=True, text=True)
    assert "Nothing to be done" in done.stdout + done.stderr


def test_the_package_answers_the_public_test_as_the_pipeline_and_a_test_file_it_never_saw(span_run, tmp_path):
    workdir, _ = span_run
    data, package = workdir / "data" / SLUG, workdir / RESULTS / "package"
    assert (workdir / RESULTS / "kernel").is_dir()

    def apply(test_path, out):
        done = subprocess.run([sys.executable, "-m", "fasthf", "apply-package", str(package), "--test", str(test_path),
                               "--sample", str(data / "sample_submission.csv"), "--out", str(out)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        return pd.read_csv(out, keep_default_na=False)

    pd.testing.assert_frame_equal(apply(data / "test.csv", tmp_path / "public.csv"),
                                  pd.read_csv(workdir / RESULTS / "submission.csv", keep_default_na=False))
    hidden = pd.DataFrame({"textID": ["h1", "h2", "h3"], "sentiment": ["positive", "negative", "neutral"],
                           "text": ["what a great day at the beach", " so sad about my exam :(", "going home now"]})
    hidden.to_csv(tmp_path / "hidden.csv", index=False)
    answered = apply(tmp_path / "hidden.csv", tmp_path / "hidden_submission.csv")
    assert answered.textID.tolist() == ["h1", "h2", "h3"]
    for answer, text in zip(answered.selected_text, hidden.text):
        assert answer and answer in text


NOTES = "nbme-score-clinical-patient-notes"


def test_the_notes_preset_blends_two_tokenizers_per_character_and_answers_with_locations_in_each_note(
        tmp_path, tiny_model_folder):
    """Notes and features joined from their files, none, one or several spans per pair; two members whose
    tokenizers differ (WordPiece, byte-level BPE) blended per character, decoded per character. (The threshold
    fitted out of fold is the extraction preset's, checked above; its package too.)"""
    from fasthf.inputs.span_labels import parse_locations

    members = "".join(f"  - {{name: {arch}, model: {tiny_model_folder(arch)}}}\n" for arch in ("bert", "roberta"))
    workdir = copy_workflow(tmp_path, {"small.yaml": SMALL, "one-stage.yaml": ONE_STAGE,
                                       "two-members.yaml": f"members:\n{members}"})
    results, data = workdir / "results" / NOTES, workdir / "data" / NOTES
    preset_run(workdir, NOTES, tiny_model_folder("bert"), "max_length=48", "folds=1",  # a feature beside the note
               targets=[f"results/{NOTES}/submission.csv"], configs=["config/one-stage.yaml", "config/two-members.yaml"])
    metrics = json.loads((results / "ensemble" / "metrics.json").read_text())
    assert metrics["metric"] == "character_f1" and set(metrics["weights"]) == {"bert", "roberta"}
    assert sum(metrics["weights"].values()) == pytest.approx(1.0)
    competition, task = Competition.load(data / "competition.json")
    train = competition.read_train(data / "train.csv")
    held = pd.read_csv(results / "folds.csv").query("fold >= 0").row
    blend = TokenOutputs.read(results / "ensemble" / "oof_outputs.csv")
    for arch in ("bert", "roberta"):  # each member read its own tokens; the blend has one line per character
        tokens = TokenOutputs.read(next((results / arch).glob("seed*/fold0/stages/*/valid_outputs.csv")))
        assert set(tokens.rows) <= set(held)
    for row, (ranges, _) in blend.by_row().items():
        assert ranges.tolist() == [[k, k + 1] for k in range(len(task.texts(train.iloc[[row]])[0]))]
    test = competition.read_test(data / "test.csv")
    submission = pd.read_csv(results / "submission.csv", keep_default_na=False)
    assert submission.id.tolist() == pd.read_csv(data / "sample_submission.csv").id.tolist()
    notes = test.set_index("id").pn_history
    for key, cell in zip(submission.id, submission.location):
        for start, end in parse_locations(cell):
            assert 0 <= start < end <= len(notes[key])



CHAII = "chaii-hindi-and-tamil-question-answering"


def test_the_question_answering_preset_answers_each_question_with_words_of_its_context_and_its_bundle_too(
        tmp_path, tiny_model_folder):
    """Hindi and Tamil contexts read in windows beside their question, one answer each, never empty; one chain,
    so the run ends in an inference bundle, whose `fasthf predict` prints each answer in its context."""
    workdir = copy_workflow(tmp_path, {"small.yaml": SMALL, "one-stage.yaml": ONE_STAGE})
    results, data = workdir / "results" / CHAII, workdir / "data" / CHAII
    preset_run(workdir, CHAII, tiny_model_folder("bert"), "max_length=40", "folds=1",  # a question beside each window
               targets=[f"results/{CHAII}/submission.csv", f"results/{CHAII}/bundle"], configs=["config/one-stage.yaml"])
    assert "moved to the nearest occurrence" in (data / "download.log").read_text()
    metrics = json.loads((results / "ensemble" / "metrics.json").read_text())
    assert metrics["metric"] == "jaccard" and 0 < metrics["oof_rows"] < 40  # the held-out share
    test = pd.read_csv(data / "test.csv", dtype=str, keep_default_na=False)
    submission = pd.read_csv(results / "submission.csv", dtype=str, keep_default_na=False)
    assert submission.columns.tolist() == ["id", "PredictionString"] and submission.id.tolist() == test.id.tolist()
    for answer, context in zip(submission.PredictionString, test.context):
        assert answer and answer in context
    asked = [f"{context}\t{question}" for context, question in zip(test.context[:2], test.question[:2])]
    done = subprocess.run([sys.executable, "-m", "fasthf", "predict", "--bundle", str(results / "bundle"), "--json",
                           *asked], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [p["pair"] for p in printed] == test.question[:2].tolist()
    for p, answer in zip(printed, submission.PredictionString):  # one span each, the submission's own answer
        assert len(p["spans"]) == 1 and p["spans"][0]["text"] == answer
    done = subprocess.run([sys.executable, "-m", "fasthf", "predict", "--bundle", str(results / "bundle"), asked[0]],
                          capture_output=True, text=True)
    assert done.returncode == 0 and f"[{submission.PredictionString[0]}]" in done.stdout, done.stdout + done.stderr
