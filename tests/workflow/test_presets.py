"""Each preset's whole chain on its fixture (one of them killed once and resumed), and a competition no preset
names run by config alone beside the default competition's folders."""
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers import copy_workflow
from presets import EXPECTED, KILLED, SLUGS, preset


def test_a_preset_killed_after_its_first_stage_resumes_without_training_it_again(preset_runs):
    workdir, results, stage_one, mtime, rerun = preset_runs[KILLED]
    assert stage_one.stat().st_mtime_ns == mtime and "stage=1" not in rerun


@pytest.mark.parametrize("slug", SLUGS)
def test_each_preset_writes_a_valid_submission(preset_runs, slug):
    workdir, results, *_ = preset_runs[slug]
    competition = preset(slug)
    data = workdir / "data" / slug
    sample = competition.read_sample(data / competition.files["sample_submission"])
    submission = pd.read_csv(results / "submission.csv", dtype=str, keep_default_na=False)
    assert list(submission.columns) == list(sample.columns)
    assert submission[competition.id].tolist() == sample[competition.id].astype(str).tolist()
    done = subprocess.run([sys.executable, "-m", "fasthf", "validate-submission", str(results / "submission.csv"),
                           "--sample", str(data / competition.files["sample_submission"])], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((results / "ensemble" / "metrics.json").read_text())
    kind, metric, _ = EXPECTED[slug]
    assert metrics["metric"] == metric and metrics["task"] == kind and np.isfinite(metrics["score"])
    members = pd.read_csv(results / "ensemble" / "members.csv")
    offsets = metric in ("accuracy", "f1")  # labels of one class each: per-class offsets are fitted
    assert members[metric].notna().all()
    assert members.kind.tolist() == ["member", "ensemble"] + ["decision"] * offsets
    assert (metrics["decision"] is not None) == offsets
    assert (results / "ensemble" / "diagnostics.png").read_bytes()[:4] == b"\x89PNG"
    memory = pd.read_csv(results / "memory.csv").iloc[0]
    assert bool(memory.enabled) == (slug == "sentiment-analysis-on-movie-reviews")


def test_the_preset_answers_have_each_competitions_form(preset_runs):
    spooky = pd.read_csv(preset_runs["spooky-author-identification"][1] / "submission.csv")
    assert np.allclose(spooky[["EAP", "HPL", "MWS"]].sum(axis=1), 1, atol=1e-6)
    tweets = pd.read_csv(preset_runs["nlp-getting-started"][1] / "submission.csv")
    assert set(tweets.target) <= {0, 1} and tweets.target.dtype.kind == "i"
    toxic = pd.read_csv(preset_runs["jigsaw-toxic-comment-classification-challenge"][1] / "submission.csv")
    assert toxic.iloc[:, 1:].apply(lambda c: c.between(0, 1).all()).all()
    readability = pd.read_csv(preset_runs["commonlitreadabilityprize"][1] / "submission.csv")
    assert readability.target.dtype.kind == "f" and readability.target.std() > 0
    essays = pd.read_csv(preset_runs["feedback-prize-english-language-learning"][1] / "submission.csv")
    measures = ["cohesion", "syntax", "vocabulary", "phraseology", "grammar", "conventions"]
    assert list(essays.columns) == ["text_id", *measures] and (essays[measures].dtypes.map(lambda d: d.kind) == "f").all()
    for slug in ("commonlitreadabilityprize", "feedback-prize-english-language-learning"):  # code competitions
        assert (preset_runs[slug][1] / "kernel" / "fasthf-submission.py").is_file()
        assert (preset_runs[slug][1] / "package" / "fasthf-package.json").is_file()


# -- a competition no preset names, by config alone ----------------------------------------------------

def write_unnamed_competition(folder: Path) -> Path:
    """Reviews of products: new file and column names, a title and a body, string labels, a group column."""
    rng = np.random.default_rng(3)
    cues = {"great": ("wonderful", "sturdy", "recommend"), "awful": ("broken", "refund", "useless"),
            "fine": ("okay", "average", "decent")}

    def rows(n, labelled):
        out = []
        for i in range(n):
            verdict = str(rng.choice(list(cues)))
            body = " ".join(rng.choice(["the", "item", "it", "was", "box", *cues[verdict]], size=8))
            row = {"review_id": f"r{i:04d}", "product": f"p{i % 17}", "title": f"Review {i}", "body": body}
            out.append({**row, "verdict": verdict} if labelled else row)
        return pd.DataFrame(out)

    train, test = rows(150, True), rows(30, False)
    test["review_id"] = [f"t{i:04d}" for i in range(len(test))]
    sample = pd.DataFrame({"review_id": test.review_id, "verdict": "fine"})
    archive = folder / "product-reviews.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("reviews_train.csv", train.to_csv(index=False))
        zf.writestr("reviews_test.csv", test.to_csv(index=False))
        zf.writestr("example_submission.csv", sample.to_csv(index=False))
    return archive


def test_a_competition_no_preset_names_runs_by_config_alone_beside_the_default_ones_folders(tmp_path, tiny_model_folder):
    """The block as the README shows it, with no data_dir or results_dir: its own folders, data/<slug> and
    results/<slug>, while the default competition's folders stay as they were."""
    workdir = copy_workflow(tmp_path)
    default = {"data": workdir / "data/sentiment-analysis-on-movie-reviews",
               "results": workdir / "results/sentiment-analysis-on-movie-reviews"}
    for folder in default.values():  # what an earlier run of the default competition left
        folder.mkdir(parents=True)
        (folder / "competition.json").write_text('{"from": "the default competition"}')
    before = {path: path.read_bytes() for folder in default.values() for path in folder.rglob("*")}
    archive = write_unnamed_competition(tmp_path)
    (workdir / "reviews.yaml").write_text(yaml.safe_dump({
        "competition": {"slug": "product-reviews",
                        "files": {"train": "reviews_train.csv", "test": "reviews_test.csv",
                                  "sample_submission": "example_submission.csv"},
                        "id": "review_id", "text": ["body", "title"], "target": "verdict", "group": "product",
                        "task": "auto", "metric": "accuracy"},
        "archive": str(archive), "model": str(tiny_model_folder("bert")), "submit": False, "memory": False,
        "folds": 1, "valid_fraction": 0.25,
        "stages": [{"freeze_to": -1, "epochs": 1, "lr_max": 1e-3}, {"freeze_to": 0, "epochs": 1, "lr_max": 1e-3}],
    }))
    done = subprocess.run(["snakemake", "--cores", "2", "--configfile", "reviews.yaml"], cwd=workdir,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert {path: path.read_bytes() for folder in default.values() for path in folder.rglob("*")} == before
    assert sorted(p.name for p in (workdir / "data").iterdir()) == ["product-reviews", "sentiment-analysis-on-movie-reviews"]
    assert sorted(p.name for p in (workdir / "results").iterdir()) == ["product-reviews",
                                                                         "sentiment-analysis-on-movie-reviews"]
    data, results = workdir / "data/product-reviews", workdir / "results/product-reviews"
    described = json.loads((data / "competition.json").read_text())
    assert described["task"]["classes"] == ["awful", "fine", "great"]
    assert "task auto: multiclass, because 'verdict' holds text: 3 distinct labels" in (data / "download.log").read_text()
    folds = pd.read_csv(results / "folds.csv")
    assert (folds.groupby("group").fold.nunique() == 1).all() and sorted(folds.fold.unique()) == [-1, 0]
    submission = pd.read_csv(results / "submission.csv")
    assert list(submission.columns) == ["review_id", "verdict"] and set(submission.verdict) <= {"awful", "fine", "great"}
    bundle_info = json.loads((results / "bundle/fasthf.json").read_text())
    assert bundle_info["task"]["classes"] == ["awful", "fine", "great"]
    one = subprocess.run([sys.executable, "-m", "fasthf", "predict", "--bundle", str(results / "bundle"),
                          "it was broken, refund"], capture_output=True, text=True, check=True).stdout
    assert one.split("\t")[0] in {"awful", "fine", "great"}
