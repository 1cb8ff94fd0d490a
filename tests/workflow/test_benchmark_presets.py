"""The presets of MLE-bench's and MLE-Dojo's text competitions, each run once on its fixture to a validated
submission in its competition's form: JSON and Parquet files, JSON cells, a sample id named otherwise, rows
matched by position, one-hot classes, soft labels with the bias metric, ranked answers, essays in windows;
a code competition's package answers a test file it never saw, offline."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import ONE_CORE_JOBS, copy_workflow
from presets import BENCHMARK_SLUGS, EXPECTED, ONE_EPOCH, preset, preset_command




@pytest.fixture(scope="module")
def benchmark_runs(tmp_path_factory, tiny_model_folder):
    """Each preset's chain on its fixture to its submission (and a code competition's package and kernel) with a
    tiny random BERT (128 positions), one stage, two presets at a time, a core each: {slug: (workdir, results
    folder)}. The forms are under test here, not the stages, the bundle or the summary, which the other
    presets' whole runs check."""
    from concurrent.futures import ThreadPoolExecutor

    model = tiny_model_folder("bert")

    def run(slug):
        workdir = copy_workflow(tmp_path_factory.mktemp(slug))
        (workdir / "config" / "one-core-jobs.yaml").write_text(ONE_CORE_JOBS + ONE_EPOCH)
        results = f"results/{slug}"  # what the forms make: the submission, and a code competition's folders
        targets = [f"{results}/submission.csv", *([f"{results}/package", f"{results}/kernel"]
                                                   if preset(slug).route == "notebook" else [])]
        command = preset_command(slug, model)  # targets before --config, which takes every word after it
        done = subprocess.run([command[0], *targets, *command[1:]], cwd=workdir, capture_output=True, text=True)
        assert done.returncode == 0, slug + "\n" + done.stdout[-3000:] + done.stderr[-5000:]
        return workdir, workdir / "results" / slug

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(BENCHMARK_SLUGS, pool.map(run, BENCHMARK_SLUGS)))


def submission_of(runs, slug) -> pd.DataFrame:
    return pd.read_csv(runs[slug][1] / "submission.csv", dtype=str, keep_default_na=False)


def sample_of(runs, slug) -> pd.DataFrame:
    competition = preset(slug)
    return competition.read_sample(runs[slug][0] / "data" / slug / competition.files["sample_submission"])


@pytest.mark.parametrize("slug", BENCHMARK_SLUGS)
def test_each_benchmark_preset_ends_in_a_valid_submission_scored_by_its_metric(benchmark_runs, slug):
    workdir, results = benchmark_runs[slug]
    competition = preset(slug)
    sample = workdir / "data" / slug / competition.files["sample_submission"]
    done = subprocess.run([sys.executable, "-m", "fasthf", "validate-submission", str(results / "submission.csv"),
                           "--sample", str(sample)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((results / "ensemble" / "metrics.json").read_text())
    kind, metric, _ = EXPECTED[slug]
    assert (metrics["task"], metrics["metric"]) == (kind, metric) and np.isfinite(metrics["score"])
    if competition.route == "notebook":
        assert (results / "kernel" / "fasthf-submission.py").is_file()
        assert (results / "package" / "fasthf-package.json").is_file()


def test_each_answer_has_its_competitions_form(benchmark_runs):
    arena = submission_of(benchmark_runs, "lmsys-chatbot-arena")
    winners = arena[["winner_model_a", "winner_model_b", "winner_tie"]].astype(float)
    assert np.allclose(winners.sum(axis=1), 1, atol=1e-6)
    pairs = submission_of(benchmark_runs, "quora-question-pairs")
    assert list(pairs.columns) == ["test_id", "is_duplicate"]
    assert pairs.test_id.tolist() == sample_of(benchmark_runs, "quora-question-pairs").test_id.tolist()
    insults, sample = (submission_of(benchmark_runs, "detecting-insults-in-social-commentary"),
                       sample_of(benchmark_runs, "detecting-insults-in-social-commentary"))
    assert list(insults.columns) == ["Insult", "Date", "Comment"]
    assert insults[["Date", "Comment"]].equals(sample[["Date", "Comment"]].reset_index(drop=True))
    assert insults.Insult.astype(float).between(0, 1).all()
    exam = submission_of(benchmark_runs, "kaggle-llm-science-exam")
    ranked = exam.iloc[:, 1].str.split()
    assert ranked.map(len).eq(3).all() and ranked.map(lambda r: len(set(r)) == 3 and set(r) <= set("ABCDE")).all()
    bias = submission_of(benchmark_runs, "jigsaw-unintended-bias-in-toxicity-classification")
    assert list(bias.columns) == ["id", "prediction"] and bias.prediction.astype(float).between(0, 1).all()
    essays = submission_of(benchmark_runs, "learning-agency-lab-automated-essay-scoring-2")
    assert set(essays.score) <= set("123456")
    duel = submission_of(benchmark_runs, "wsdm-cup-multilingual-chatbot-arena")
    assert set(duel.winner) <= {"model_a", "model_b"}
    patents = submission_of(benchmark_runs, "us-patent-phrase-to-phrase-matching")
    assert patents.score.astype(float).std() > 0


def test_long_essays_are_read_in_windows_and_said_so(benchmark_runs):
    workdir, results = benchmark_runs["learning-agency-lab-automated-essay-scoring-2"]
    summary = next(results.glob("*/tensors/summary.json"))
    splits = json.loads(summary.read_text())["splits"]
    assert splits["train"]["windowed"] > 0 and splits["train"]["windows"] > splits["train"]["windowed"]
    logs = "".join(p.read_text() for p in results.glob("logs/**/preprocess*.log"))
    assert "read in" in logs and "windows" in logs


def test_a_code_competitions_package_answers_a_test_file_it_never_saw_in_its_order(benchmark_runs, tmp_path):
    """Essays in windows through the package (as a kernel applies it): a hidden test of other essays, ids and
    size, answered in the test file's order."""
    slug = "learning-agency-lab-automated-essay-scoring-2"
    workdir, results = benchmark_runs[slug]
    data = workdir / "data" / slug
    train = pd.read_csv(data / "train.csv", dtype=str, keep_default_na=False)
    hidden = train.sample(n=len(train) // 2, random_state=1)[["essay_id", "full_text"]]
    hidden["essay_id"] = [f"h{i:06x}" for i in range(len(hidden))]
    hidden.to_csv(tmp_path / "test.csv", index=False)
    done = subprocess.run([sys.executable, "-m", "fasthf", "apply-package", str(results / "package"), "--test",
                           str(tmp_path / "test.csv"), "--sample", str(data / "sample_submission.csv"), "--out",
                           str(tmp_path / "submission.csv")], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    answers = pd.read_csv(tmp_path / "submission.csv", dtype=str)
    assert answers.essay_id.tolist() == hidden.essay_id.tolist() and set(answers.score) <= set("123456")
