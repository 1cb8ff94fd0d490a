"""An ensemble run on the fixture (config/demo-ensemble.yaml: 2 members x 2 folds), killed and rerun, as a user runs it,
with a tiny random BERT for each member's MiniLM: the ensemble's plumbing is under test, not what MiniLM learns
(RESULTS.md gives the demo's own figures)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import PATIENCE_S, copy_workflow

COMMAND = ["snakemake", "--cores", "2", "--configfile", "config/demo-ensemble.yaml", "tiny-members.yaml"]
RESULTS = Path("results/demo-ensemble")
MEMBERS = ["minilm-gradual", "minilm-top"]
CHAINS = [RESULTS / member / "seed42" / f"fold{fold}" for member in MEMBERS for fold in (0, 1)]


def finished_stages(workdir):
    """{metrics.json: mtime} of the stages Snakemake has finished: those whose chain has started the next
    job (the next stage, or predict after the last), which Snakemake does only after it recorded this one."""
    finished = {}
    for log in (workdir / RESULTS / "logs").glob("*/seed*/fold*/*.log"):
        stage = int(log.stem.removeprefix("stage_")) - 1 if log.stem.startswith("stage_") else None
        chain = workdir / RESULTS / log.parent.relative_to(workdir / RESULTS / "logs")
        if log.stem == "predict":
            stage = max(int(p.name) for p in (chain / "stages").iterdir())
        if stage:
            metrics = chain / "stages" / str(stage) / "metrics.json"
            finished[metrics] = metrics.stat().st_mtime_ns
    return finished


def tiny_members(workdir, model) -> None:
    """tiny-members.yaml: the demo's members and stages, each reading `model` (128 positions)."""
    members = yaml.safe_load((workdir / "config" / "demo-ensemble.yaml").read_text())["members"]
    (workdir / "tiny-members.yaml").write_text(yaml.safe_dump(
        {"members": [{**member, "model": str(model)} for member in members], "max_length": 128}))


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory, tiny_model_folder):
    """Start the ensemble, kill every job hard once some stage has finished, rerun; (workdir, finished, rerun log).

    A stage whose files are all written but whose job Snakemake had not yet recorded as done when the
    kill came is rightly trained again (`rerun-incomplete`); only recorded ones must survive."""
    workdir = copy_workflow(tmp_path_factory.mktemp("ensemble"))
    tiny_members(workdir, tiny_model_folder("bert"))
    run = subprocess.Popen(COMMAND, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.time() + PATIENCE_S
    while not finished_stages(workdir):
        assert run.poll() is None and time.time() < deadline, "no stage finished"
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)  # a lost machine: no clean-up
    run.wait()
    finished = finished_stages(workdir)
    done = subprocess.run(COMMAND, cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return workdir, finished, done.stdout + done.stderr


def test_a_killed_ensemble_rerun_retrains_nothing_that_finished(ensemble_run):
    workdir, finished, rerun = ensemble_run
    assert finished
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, path
        assert f"output: {path.parent.relative_to(workdir)}/model" not in rerun  # its job did not run again
    assert "Nothing to be done" in subprocess.run([*COMMAND, "--dry-run"], cwd=workdir, capture_output=True,
                                                  text=True).stdout


def test_every_chain_trained_and_every_training_phrase_is_predicted_out_of_fold_once(ensemble_run):
    workdir, _, _ = ensemble_run
    train = pd.read_csv(workdir / "data" / "demo" / "train.tsv", sep="\t", keep_default_na=False, quoting=3)
    folds = pd.read_csv(workdir / RESULTS / "folds.csv")
    for chain in CHAINS:
        last_stage = max((workdir / chain / "stages").iterdir(), key=lambda p: int(p.name))
        held_out = pd.read_csv(last_stage / "valid_outputs.csv")  # the chain's held-out prediction
        fold = int(chain.name.removeprefix("fold"))
        assert set(held_out.row) == set(folds.row[folds.fold == fold])
        assert (workdir / chain / "stages.csv").exists()
    assert folds.id.tolist() == train.PhraseId.tolist() and folds.row.tolist() == list(range(len(train)))
    oof = pd.read_csv(workdir / RESULTS / "ensemble" / "oof_outputs.csv")
    assert sorted(oof.row) == list(range(len(train)))


def test_the_members_table_scores_each_member_and_the_blend(ensemble_run):
    workdir, _, _ = ensemble_run
    table = pd.read_csv(workdir / RESULTS / "ensemble" / "members.csv")
    assert table.name.tolist() == [f"{m} seed 42" for m in MEMBERS] + ["ensemble", "ensemble + class offsets"]
    assert table.rows.tolist() == [2971] * 4
    assert table.weight.iloc[:2].sum() == pytest.approx(1) and (table.seconds > 0).all()
    train = pd.read_csv(workdir / "data" / "demo" / "train.tsv", sep="\t", keep_default_na=False, quoting=3)
    oof = pd.read_csv(workdir / RESULTS / "ensemble" / "oof_outputs.csv")
    answers = oof.filter(like="out_").to_numpy().argmax(axis=1)
    # oof_outputs.csv holds what the submission's figure describes: the blend, cross-fitted offsets if used
    metrics = json.loads((workdir / RESULTS / "ensemble" / "metrics.json").read_text())
    final = table.accuracy.iloc[-1 if metrics["decision"]["used"] else -2]
    assert metrics["accuracy"] == final == pytest.approx((answers == train.Sentiment.to_numpy()[oof.row]).mean())
    for column in ("accuracy negative", "accuracy neutral", "accuracy positive", "log_loss"):
        assert table[column].notna().all()


def test_phrase_memory_sets_the_verbatim_test_phrases_and_leaves_out_of_fold_predictions_alone(ensemble_run):
    workdir, _, _ = ensemble_run
    train = pd.read_csv(workdir / "data" / "demo" / "train.tsv", sep="\t", keep_default_na=False, quoting=3)
    test = pd.read_csv(workdir / "data" / "demo" / "test.tsv", sep="\t", keep_default_na=False, quoting=3)
    predictions = pd.read_csv(workdir / RESULTS / "predictions.csv")
    known = test.Phrase.isin(set(train.Phrase))
    assert predictions.from_memory.tolist() == known.tolist() and known.any()
    label_of = train.set_index("Phrase").Sentiment
    final = predictions.filter(like="out_").to_numpy().argmax(axis=1)
    assert final[known].tolist() == test.Phrase[known].map(label_of).tolist()
    blended = pd.read_csv(workdir / RESULTS / "ensemble" / "test_outputs.csv").set_index("row")
    model = blended.loc[predictions.row].to_numpy().argmax(axis=1)
    counts = pd.read_csv(workdir / RESULTS / "memory.csv").iloc[0]
    assert counts.set_from_memory == known.sum()
    assert counts.changed_answer == (final != model).sum()
    assert (final[~known] == model[~known]).all()
    # the submission holds the final answers, memory included
    submission = pd.read_csv(workdir / RESULTS / "submission.csv").set_index("PhraseId")
    assert submission.Sentiment.loc[test.PhraseId].tolist() == final.tolist()


def test_the_ensemble_submission_validates(ensemble_run):
    workdir, _, _ = ensemble_run
    done = subprocess.run([sys.executable, "-m", "fasthf", "validate-submission", str(RESULTS / "submission.csv"),
                           "--sample", "data/demo/sampleSubmission.csv"], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (workdir / RESULTS / "bundle").exists()  # a bundle holds one model; this ensemble has four
