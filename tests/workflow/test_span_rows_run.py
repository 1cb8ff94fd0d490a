"""Span tasks whose answers are rows of their own, through the whole chain by their presets (made-up data in the
real competitions' layouts: tests/fixtures/make_span_fixtures.py): PII Data Detection's records of given tokens
(a row per labelled token) and Feedback Prize 2021's essays in folders (a row per typed span), each with a tiny
random BERT over two folds; their packages and kernels answer test files they never saw, offline."""
import json
import os
import shutil
import subprocess
import sys

import pandas as pd

from fasthf.inputs.competition import Competition
from helpers import NO_NETWORK, copy_workflow
from presets import ONE_STAGE, SMALL, preset_run

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
    preset_run(workdir, ESSAYS, tiny_model_folder("bert"), "max_length=48", "folds=1",  # one chain: PII's has two
               configs=["config/one-stage.yaml"])
    assert (data / "train").is_dir() and (data / "train.csv").is_file()
    metrics = json.loads((results / "ensemble" / "metrics.json").read_text())
    assert metrics["metric"] == "overlap_f1" and 0 < metrics["oof_rows"] < len(list((data / "train").glob("*.txt")))
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
