"""Any Kaggle text competition by config: task kinds, metrics, submission forms, refusals in each
competition's own column names, and each preset's whole chain on its fixture, killed and resumed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ONE_CORE_JOBS, PATIENCE_S, REPO, copy_workflow
from fasthf import kaggle
from fasthf.competition import Competition
from fasthf.data import DataError
from fasthf.metrics import METRICS
from fasthf.submission import make_submission, submission_problems
from fasthf.tasks import Binary, Classification, MultiLabel, Regression, infer_task

PRESETS = REPO / "config" / "competitions"
FIXTURES = REPO / "tests" / "fixtures"
SLUGS = ["sentiment-analysis-on-movie-reviews", "nlp-getting-started", "spooky-author-identification",
         "jigsaw-toxic-comment-classification-challenge", "commonlitreadabilityprize"]
FIXTURE = {slug: FIXTURES / f"{slug}.zip" for slug in SLUGS}
FIXTURE["sentiment-analysis-on-movie-reviews"] = FIXTURES / "sentiment-analysis-on-movie-reviews-mini.zip"
EXPECTED = {  # slug: (task, metric, submission form)
    "sentiment-analysis-on-movie-reviews": ("multiclass", "accuracy", "labels"),
    "nlp-getting-started": ("binary", "f1", "labels"),
    "spooky-author-identification": ("multiclass", "log_loss", "probabilities"),
    "jigsaw-toxic-comment-classification-challenge": ("multilabel", "roc_auc", "probabilities"),
    "commonlitreadabilityprize": ("regression", "rmse", "probabilities"),
}


def preset(slug) -> Competition:
    return Competition.from_config(slug, PRESETS)


# -- the presets' files, task and metric --------------------------------------------------------------

@pytest.mark.parametrize("slug", SLUGS)
def test_each_fixture_fits_its_preset_and_the_task_is_as_expected(slug, tmp_path):
    competition = preset(slug)
    paths = kaggle.extract_competition(FIXTURE[slug], tmp_path, competition)
    described = json.loads(paths["competition"].read_text())
    kind, metric, form = EXPECTED[slug]
    assert (described["task"]["kind"], described["metric"]) == (kind, metric)
    _, task = Competition.load(paths["competition"])
    assert competition.submission_form(task) == form
    assert described["inferred"]  # what was inferred, or that the config said so


def test_string_labels_are_classes_in_sorted_order_and_the_sample_gives_their_columns(tmp_path):
    competition = preset("spooky-author-identification")
    paths = kaggle.extract_competition(FIXTURE["spooky-author-identification"], tmp_path, competition)
    _, task = Competition.load(paths["competition"])
    assert isinstance(task, Classification) and task.classes == ["EAP", "HPL", "MWS"]
    assert json.loads(paths["competition"].read_text())["inferred"].startswith("task auto: multiclass, because "
                                                                               "'author' holds text: 3 distinct")


@pytest.mark.parametrize("values, targets, answers, kind", [
    (["a", "b", "a"], ["y"], None, "binary"),
    (["EAP", "HPL", "MWS"], ["y"], None, "multiclass"),
    (["0", "1", "1"], ["y"], None, "binary"),
    (["0", "3", "4", "2"], ["y"], None, "multiclass"),
    (["0.5", "-1.25", "2"], ["y"], None, "regression"),
    ([str(v) for v in range(40)], ["y"], None, "regression"),
    ([str(v) for v in range(40)], ["y"], [str(v) for v in range(40)], "multiclass"),
])
def test_auto_infers_the_task_from_the_target_and_the_sample(values, targets, answers, kind):
    assert infer_task(pd.DataFrame({"y": values}), targets, None, answers)[0] == kind


def test_several_zero_one_targets_are_multilabel_and_several_numbers_regression():
    frame = pd.DataFrame({"a": ["0", "1"], "b": ["1", "1"], "c": ["0.5", "2"]})
    assert infer_task(frame, ["a", "b"])[0] == "multilabel"
    assert infer_task(frame, ["a", "c"])[0] == "regression"


# -- metrics and blends -------------------------------------------------------------------------------

def test_metrics_agree_with_scikit_learn():
    from sklearn import metrics as sk

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(y * 0.6 + rng.random(200) * 0.5, 0, 1)
    outputs = np.stack([1 - p, p], axis=1)
    assert METRICS["f1"].score(y, outputs) == pytest.approx(sk.f1_score(y, p >= 0.5))
    assert METRICS["roc_auc"].score(y, outputs) == pytest.approx(sk.roc_auc_score(y, p))
    assert METRICS["log_loss"].score(y, outputs) == pytest.approx(sk.log_loss(y, outputs))
    labels = rng.integers(0, 2, (200, 3)).astype(float)
    scores = np.clip(labels * 0.5 + rng.random((200, 3)) * 0.6, 0, 1)
    mean_auc = np.mean([sk.roc_auc_score(labels[:, k], scores[:, k]) for k in range(3)])
    assert METRICS["roc_auc"].score(labels, scores) == pytest.approx(mean_auc)
    values = rng.normal(size=(50, 1))
    assert METRICS["rmse"].score(values, values + 0.5) == pytest.approx(0.5)
    classes = rng.integers(0, 5, 300)
    assert METRICS["quadratic_kappa"].score(classes, np.eye(5)[classes]) == pytest.approx(1.0)


@pytest.mark.parametrize("task, y", [
    (MultiLabel(["a", "b"]), np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 50, dtype=float)),
    (Regression(["v"]), np.linspace(-2, 2, 200)[:, None]),
])
def test_blend_weights_favour_the_better_member_for_every_task(task, y):
    from fasthf.ensemble import fit_weights

    rng = np.random.default_rng(1)
    good = np.clip(y + rng.normal(0, 0.1, y.shape), 0, 1) if isinstance(task, MultiLabel) else y + rng.normal(0, 0.1, y.shape)
    poor = np.clip(y + rng.normal(0, 0.8, y.shape), 0, 1) if isinstance(task, MultiLabel) else y + rng.normal(0, 0.8, y.shape)
    weights = fit_weights([good, poor], y, task)
    assert weights[0] > 0.7 and weights.sum() == pytest.approx(1)


# -- submission forms ---------------------------------------------------------------------------------

def test_probability_columns_follow_the_samples_order_not_the_classes():
    competition = Competition.from_config({"slug": "x", "target": "author", "metric": "log_loss"})
    task = Classification(["author"], ["EAP", "HPL", "MWS"])
    sample = pd.DataFrame({"id": ["b", "a"], "MWS": [0.3, 0.3], "EAP": [0.4, 0.4], "HPL": [0.3, 0.3]})
    outputs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])  # rows: ids a, b
    submission = make_submission(["a", "b"], outputs, sample, competition, task)
    assert list(submission.columns) == ["id", "MWS", "EAP", "HPL"]
    assert submission.values.tolist() == [["b", 0.6, 0.1, 0.3], ["a", 0.1, 0.7, 0.2]]
    assert not submission_problems(submission.astype(str), sample, competition, task)


def test_binary_probability_is_the_positive_class_and_labels_are_the_training_values():
    task = Binary(["target"], [0, 1])
    sample = pd.DataFrame({"id": [1, 2], "target": [0, 0]})
    outputs = np.array([[0.2, 0.8], [0.9, 0.1]])
    scored = Competition.from_config({"slug": "x", "metric": "roc_auc"})
    assert make_submission([1, 2], outputs, sample, scored, task).target.tolist() == [0.8, 0.1]
    labelled = Competition.from_config({"slug": "x", "metric": "f1"})
    assert make_submission([1, 2], outputs, sample, labelled, task).target.tolist() == [1, 0]


def test_a_model_that_gives_every_text_one_answer_is_called_collapsed():
    task = Classification(["Sentiment"], [0, 1, 2, 3, 4], ["negative", "somewhat negative", "neutral",
                                                            "somewhat positive", "positive"])
    y = np.array([2] * 51 + [0, 1, 3, 4] * 12 + [1])  # 51% neutral, as the real held-out split
    one_answer = np.tile([0.1, 0.1, 0.5, 0.2, 0.1], (100, 1))
    assert task.collapsed(y, one_answer) == ("100.0% of the held-out texts are answered 'neutral', "
                                             "which is the label of 51.0% of them")
    assert task.collapsed(y, np.eye(5)[y] * 0.5 + 0.1) is None  # each text its own label
    # where one class is nearly every label, answering it nearly everywhere is no collapse
    assert Binary(["target"], [0, 1]).collapsed(np.array([0] * 99 + [1]), np.tile([0.9, 0.1], (100, 1))) is None


@pytest.mark.parametrize("damage, message", [
    (lambda s: s.assign(toxic=s.toxic.where(s.index != 1, 1.5)), "toxic values are not probabilities from 0 to 1, first at row 3"),
    (lambda s: s.drop(columns="threat"), "columns are"),
    (lambda s: s.assign(id=s.id.where(s.index != 0, "zzz")), "ids are not in the sample submission"),
])
def test_a_wrong_multilabel_submission_names_the_column(damage, message):
    competition = preset("jigsaw-toxic-comment-classification-challenge")
    task = MultiLabel(list(competition.target))
    sample = pd.DataFrame({"id": ["a", "b", "c"], **{t: [0.5] * 3 for t in competition.target}})
    submission = make_submission(["a", "b", "c"], np.full((3, 6), 0.25), sample, competition, task)
    assert not submission_problems(submission, sample, competition, task)
    assert any(message in p for p in submission_problems(damage(submission), sample, competition, task))


# -- bad input, in each competition's own names ------------------------------------------------------

def rezip(archive: Path, out: Path, change) -> Path:
    """The fixture with one member's text changed (inner zips opened and closed again as they were)."""
    def rewrite(data: bytes) -> bytes:
        import io

        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buffer, "w") as zout:
            for item in zin.infolist():
                content = zin.read(item.filename)
                if item.filename.endswith(".zip"):
                    content = rewrite(content)
                elif item.filename.endswith(".csv"):
                    content = change(item.filename, content.decode()).encode()
                zout.writestr(item.filename, content)
        return buffer.getvalue()

    out.write_bytes(rewrite(archive.read_bytes()))
    return out


BAD_INPUTS = [
    ("nlp-getting-started", lambda name, text: text.replace("id,keyword,location,text,target", "id,keyword,location,tweet,target")
     if name == "train.csv" else text, "missing column(s) ['text'] (competition.text: 'text')", "train.csv"),
    ("nlp-getting-started", lambda name, text: text.replace(",0\n", ",2\n", 1) if name == "train.csv" else text,
     "column 'target' holds 3 distinct labels [0, 1, 2], but competition.task is binary", "train.csv"),
    ("spooky-author-identification", lambda name, text: text.replace('"id","text","author"', '"id","text","writer"')
     if name == "train.csv" else text, "missing column(s) ['author'] (competition.target: 'author')", "train.csv"),
    ("jigsaw-toxic-comment-classification-challenge", lambda name, text: text.replace(",1\n", ",7\n", 1)
     if name == "train.csv" else text, "is not 0 or 1", "train.csv"),
    ("commonlitreadabilityprize", lambda name, text: text.replace("\n", "\n" + text.splitlines()[1].split(",")[0] + ",0.0\n", 1)
     if name == "sample_submission.csv" else text, "appears twice", "sample_submission.csv"),
    ("commonlitreadabilityprize", lambda name, text: text.replace("id,url_legal,license,excerpt\n", "id,url_legal,license,excerpt,author\n")
     .replace("\n\n", "\n") if name == "test.csv" else text, "has column(s) ['author'] that train.csv lacks", "commonlitreadabilityprize"),
    ("spooky-author-identification", lambda name, text: "\n".join(text.splitlines()[:-1]) + "\n" if name == "sample_submission.csv" else text,
     "test.csv and sample_submission.csv list different ids", "spooky"),
]


@pytest.mark.parametrize("slug, change, message, names", BAD_INPUTS, ids=[m for _, _, m, _ in BAD_INPUTS])
def test_bad_input_is_one_sentence_in_the_competitions_names_and_nothing_is_written(slug, change, message, names, tmp_path):
    archive = rezip(FIXTURE[slug], tmp_path / f"{slug}.zip", change)
    dest = tmp_path / "data"
    with pytest.raises(DataError) as error:
        kaggle.extract_competition(archive, dest, preset(slug))
    text = str(error.value)
    assert message in text and names in text and "\n" not in text, text
    assert not dest.exists() or not any(dest.iterdir())


def test_a_metric_the_task_cannot_take_is_refused_naming_the_key(tmp_path):
    competition = Competition.from_config({**yaml.safe_load((PRESETS / "commonlitreadabilityprize.yaml").read_text())
                                           ["competition"], "metric": "f1"})
    with pytest.raises(ValueError, match="competition.metric: f1 does not score a regression task"):
        kaggle.extract_competition(FIXTURE["commonlitreadabilityprize"], tmp_path / "data", competition)
    assert not (tmp_path / "data" / "competition.json").exists()


# -- whole chains ---------------------------------------------------------------------------------------

def stage_one_recorded(workdir: Path, results: Path) -> bool:
    """Stage 1 finished and Snakemake recorded it: the chain's stage 2 job has started."""
    return any((workdir / results / "logs").glob("*/seed*/fold*/stage_2.log"))


def run_preset_killed_and_resumed(workdir: Path, slug: str, model: Path) -> tuple:
    """`slug`'s preset on its fixture, killed (SIGKILL) once stage 1 is recorded, then run again to the end."""
    (workdir / "config" / "one-core-jobs.yaml").write_text(ONE_CORE_JOBS)
    command = ["snakemake", "--cores", "1", "--configfile", f"config/competitions/{slug}.yaml", "config/one-core-jobs.yaml",
               "--config", f"archive={FIXTURE[slug]}", f"model={model}", "max_length=128"]  # the tiny model has 128 positions
    results = Path("results") / slug
    run = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.time() + PATIENCE_S
    while not stage_one_recorded(workdir, results):
        assert run.poll() is None and time.time() < deadline, f"{slug}: stage 1 never finished"
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    stage_one = next((workdir / results).glob("*/seed*/fold0/stages/1/metrics.json"))
    mtime = stage_one.stat().st_mtime_ns
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return workdir, workdir / results, stage_one, mtime, done.stdout + done.stderr


@pytest.fixture(scope="module")
def preset_runs(tmp_path_factory, tiny_model_folder):
    """Each preset on its fixture, killed once and resumed; two presets at a time, a core each.

    The model is a tiny random BERT (`--config model=`, as a user picks another model): the chain, its
    files and forms are under test here, and MiniLM would take CI about two minutes a preset (the README
    gives each preset's time with its own model)."""
    from concurrent.futures import ThreadPoolExecutor

    model = tiny_model_folder("bert")
    workdirs = {slug: copy_workflow(tmp_path_factory.mktemp(slug)) for slug in SLUGS}
    with ThreadPoolExecutor(2) as pool:
        runs = pool.map(lambda slug: run_preset_killed_and_resumed(workdirs[slug], slug, model), SLUGS)
        return dict(zip(SLUGS, runs))


@pytest.mark.parametrize("slug", SLUGS)
def test_each_preset_resumes_after_a_kill_and_writes_a_valid_submission(preset_runs, slug):
    workdir, results, stage_one, mtime, rerun = preset_runs[slug]
    assert stage_one.stat().st_mtime_ns == mtime and "stage=1" not in rerun  # stage 1 was not trained again
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


def test_a_competition_no_preset_names_runs_by_config_alone(tmp_path, tiny_model_folder):
    workdir = copy_workflow(tmp_path)
    archive = write_unnamed_competition(tmp_path)
    (workdir / "reviews.yaml").write_text(yaml.safe_dump({
        "competition": {"slug": "product-reviews",
                        "files": {"train": "reviews_train.csv", "test": "reviews_test.csv",
                                  "sample_submission": "example_submission.csv"},
                        "id": "review_id", "text": ["body", "title"], "target": "verdict", "group": "product",
                        "task": "auto", "metric": "accuracy"},
        "archive": str(archive), "data_dir": "data/reviews", "results_dir": "results/reviews",
        "model": str(tiny_model_folder("bert")), "submit": False, "phrase_memory": False, "folds": 1,
        "valid_fraction": 0.25,
        "stages": [{"freeze_to": -1, "epochs": 1, "lr_max": 1e-3}, {"freeze_to": 0, "epochs": 1, "lr_max": 1e-3}],
    }))
    done = subprocess.run(["snakemake", "--cores", "2", "--configfile", "reviews.yaml"], cwd=workdir,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    described = json.loads((workdir / "data/reviews/competition.json").read_text())
    assert described["task"]["classes"] == ["awful", "fine", "great"]
    assert "task auto: multiclass, because 'verdict' holds text: 3 distinct labels" in \
        (workdir / "data/reviews/download.log").read_text()
    folds = pd.read_csv(workdir / "results/reviews/folds.csv")
    assert (folds.groupby("group").fold.nunique() == 1).all() and sorted(folds.fold.unique()) == [-1, 0]
    submission = pd.read_csv(workdir / "results/reviews/submission.csv")
    assert list(submission.columns) == ["review_id", "verdict"] and set(submission.verdict) <= {"awful", "fine", "great"}
    bundle_info = json.loads((workdir / "results/reviews/bundle/fasthf.json").read_text())
    assert bundle_info["task"]["classes"] == ["awful", "fine", "great"]
    one = subprocess.run([sys.executable, "-m", "fasthf", "predict", "--bundle", str(workdir / "results/reviews/bundle"),
                          "it was broken, refund"], capture_output=True, text=True, check=True).stdout
    assert one.split("\t")[0] in {"awful", "fine", "great"}
