"""Span tasks through the whole chain, by their presets: made-up short posts in the real competition's layout
(tests/fixtures/tweet-sentiment-extraction.zip, tests/fixtures/make_span_fixtures.py), a tiny random BERT as
a token classifier over two folds, its outputs per token blended per word, decoded into one span per post,
scored by word Jaccard out of fold and written as the sample submission's answers; as a code competition, its
inference package answers a test file it never saw, offline."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import NO_NETWORK, copy_workflow
from fasthf.inputs.competition import Competition
from fasthf.outputs.metrics import METRICS
from fasthf.outputs.span_ensemble import decoded
from fasthf.outputs.token_table import TokenOutputs

SLUG = "tweet-sentiment-extraction"
RESULTS = f"results/{SLUG}"
# The preset's run, smaller: two folds, two short stages, short windows (a long post is read in several)
SMALL = """\
max_length: 16
folds: 2
torch_threads: 1
stages:
  - {name: head, freeze_to: -1, epochs: 1, lr_max: 2.0e-3}
  - {name: all, freeze_to: 0, epochs: 2, lr_max: 1.0e-3}
"""


def preset_run(workdir, slug, model, *config, targets=(), configs=()):
    command = ["snakemake", *targets, "--cores", "2", "--configfile", f"config/competitions/{slug}.yaml",
               "config/small.yaml", *configs, "--config", f"model={model}", f"archive=tests/fixtures/{slug}.zip", *config]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return command


@pytest.fixture(scope="module")
def span_run(tmp_path_factory, tiny_model_folder):
    """The preset of the extraction competition on its fixture (tests/fixtures/make_span_fixtures.py)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("spans"), {"small.yaml": SMALL})
    return workdir, preset_run(workdir, SLUG, tiny_model_folder("bert"))


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
        table = TokenOutputs.read(chain / "stages" / "2" / "valid_outputs.csv").by_row()
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
ONE_STAGE = "stages:\n  - {name: all, freeze_to: 0, epochs: 2, lr_max: 2.0e-3}\n"


def test_the_notes_preset_answers_each_pair_with_character_locations_in_its_note(tmp_path, tiny_model_folder):
    """Notes and features joined from their files, none, one or several spans per pair, decoded per character at
    a threshold fitted out of fold. (Its package is the extraction preset's code path, checked above.)"""
    from fasthf.inputs.span_labels import parse_locations

    workdir = copy_workflow(tmp_path, {"small.yaml": SMALL, "one-stage.yaml": ONE_STAGE})
    results, data = workdir / "results" / NOTES, workdir / "data" / NOTES
    preset_run(workdir, NOTES, tiny_model_folder("bert"), "max_length=48",  # a feature's text beside the note
               targets=[f"results/{NOTES}/submission.csv"], configs=["config/one-stage.yaml"])
    metrics = json.loads((results / "ensemble" / "metrics.json").read_text())
    assert metrics["metric"] == "character_f1" and metrics["decision"]["rule"] == "threshold"
    competition, task = Competition.load(data / "competition.json")
    test = competition.read_test(data / "test.csv")
    submission = pd.read_csv(results / "submission.csv", keep_default_na=False)
    assert submission.id.tolist() == pd.read_csv(data / "sample_submission.csv").id.tolist()
    notes = test.set_index("id").pn_history
    for key, cell in zip(submission.id, submission.location):
        for start, end in parse_locations(cell):
            assert 0 <= start < end <= len(notes[key])


PII = "pii-detection-removal-from-educational-data"


def test_the_essays_preset_answers_typed_spans_a_row_per_labelled_token_and_its_package_answers_unseen_essays(
        tmp_path, tiny_model_folder):
    """Records of given tokens read from JSON, typed BIO spans (names, emails, URLs, ids), essays past
    max_length read in windows, decoded per given token, scored by micro F5 and written a row per labelled
    token; the package answers essays it never saw, offline, in the test file's order."""
    from fasthf.outputs.submission import validate_submission_file

    (tmp_path / "work").mkdir()
    workdir = copy_workflow(tmp_path / "work", {"small.yaml": SMALL, "one-stage.yaml": ONE_STAGE})
    results, data = workdir / "results" / PII, workdir / "data" / PII
    preset_run(workdir, PII, tiny_model_folder("bert"), "max_length=64", configs=["config/one-stage.yaml"])
    metrics = json.loads((results / "ensemble" / "metrics.json").read_text())
    assert metrics["metric"] == "micro_f5" and metrics["task"] == "spans" and metrics["decision"]["rule"] == "threshold"
    preprocessed = next(results.glob("logs/*/preprocess.log")).read_text()
    assert '"windowed": 0' not in preprocessed  # the long essay, at least, was read in windows
    competition, task = Competition.load(data / "competition.json")
    assert task.types == ["EMAIL", "ID_NUM", "NAME_STUDENT", "URL_PERSONAL"]
    test = competition.read_test(data / "test.json")
    texts = dict(zip(test.document, task.texts(test)))
    submission = pd.read_csv(results / "submission.csv", dtype=str, keep_default_na=False)
    assert submission.columns.tolist() == ["row_id", "document", "token", "label"]
    assert submission.row_id.tolist() == [str(k) for k in range(len(submission))]
    assert set(submission.document) <= set(test.document) and set(submission.label) <= set(task.tag_names[1:])
    for document, token in zip(submission.document, submission.token):
        assert 0 <= int(token) < len(texts[document].units)
    assert validate_submission_file(results / "submission.csv", data / "sample_submission.csv", competition, task) == []

    unseen = pd.read_json(data / "test.json").iloc[::-1].assign(document=lambda f: f.document + 1000)
    unseen.to_json(tmp_path / "unseen.json", orient="records")
    done = subprocess.run([sys.executable, "-m", "fasthf", "apply-package", str(results / "package"), "--test",
                           str(tmp_path / "unseen.json"), "--sample", str(data / "sample_submission.csv"), "--out",
                           str(tmp_path / "unseen.csv")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    answered = pd.read_csv(tmp_path / "unseen.csv", dtype=str, keep_default_na=False)
    order = [d for d in answered.document.drop_duplicates()]
    assert order == [d for d in unseen.document.astype(str) if d in set(order)]  # the test file's order
    expected = submission.assign(document=lambda f: (f.document.astype(int) + 1000).astype(str))
    by_document = lambda f: {d: g[["token", "label"]].values.tolist() for d, g in f.groupby("document")}  # noqa: E731
    assert by_document(answered) == by_document(expected)  # the same answers as the pipeline's


ESSAYS = "feedback-prize-2021"


def test_the_segments_preset_reads_essays_from_folders_and_answers_a_row_per_typed_span_in_words(
        tmp_path, tiny_model_folder):
    """Essays read from the folders train/ and test/, their segment rows brought from train.csv by a join with
    many: true, typed spans decoded per word, scored by the overlap F1 and written a row per span with its
    words; the kernel script, offline, answers a folder of essays the package never saw."""
    (tmp_path / "work").mkdir()
    workdir = copy_workflow(tmp_path / "work", {"small.yaml": SMALL, "one-stage.yaml": ONE_STAGE})
    results, data = workdir / "results" / ESSAYS, workdir / "data" / ESSAYS
    preset_run(workdir, ESSAYS, tiny_model_folder("bert"), "max_length=48", configs=["config/one-stage.yaml"])
    assert (data / "train").is_dir() and (data / "train.csv").is_file()
    metrics = json.loads((results / "ensemble" / "metrics.json").read_text())
    assert metrics["metric"] == "overlap_f1" and metrics["oof_rows"] == len(list((data / "train").glob("*.txt")))
    competition, task = Competition.load(data / "competition.json")
    assert len(task.types) == 7 and "Concluding Statement" in task.types
    submission = pd.read_csv(results / "submission.csv", dtype=str, keep_default_na=False)
    assert submission.columns.tolist() == ["id", "class", "predictionstring"] and len(submission)
    essays = {path.stem: path.read_text() for path in (data / "test").glob("*.txt")}
    assert set(submission.id) <= set(essays) and set(submission["class"]) <= set(task.types)
    for essay, words in zip(submission.id, submission.predictionstring):
        indices = [int(w) for w in words.split()]
        assert indices == sorted(indices) and indices[-1] < len(essays[essay].split())

    # the kernel script as Kaggle runs it, offline, on a test folder of essays the package never saw
    root = tmp_path / "input"
    mounted = root / "competitions" / ESSAYS
    (mounted / "test").mkdir(parents=True)
    for essay, text in essays.items():
        (mounted / "test" / f"U{essay}.txt").write_text(text)
    for name in ("sample_submission.csv", "train.csv"):
        shutil.copy(data / name, mounted)
    shutil.copytree(results / "package", root / "datasets" / "someone" / f"fasthf-{ESSAYS}-package")
    (tmp_path / "offline").mkdir()
    (tmp_path / "offline" / "sitecustomize.py").write_text(NO_NETWORK)
    env = {**os.environ, "FASTHF_KAGGLE_INPUT": str(root), "FASTHF_KAGGLE_WORKING": str(tmp_path / "working"),
           "PYTHONPATH": str(tmp_path / "offline"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(results / "kernel" / "fasthf-submission.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    answered = pd.read_csv(tmp_path / "working" / "submission.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(answered.assign(id=answered.id.str[1:]).sort_values(["id", "predictionstring"],
                                                                                     ignore_index=True),
                                  submission.sort_values(["id", "predictionstring"], ignore_index=True))
