"""`encode: group` through the whole workflow on the committed fixture (a tiny random BERT, one stage of two epochs):
a run killed with SIGKILL mid-stage resumes, and its stage is what a fresh run of that stage gives; every
phrase is answered in file order through held-out outputs, test outputs and submission; the bundle reads a
single text as its own group; read_alone turned on for the finished run reads its phrases again alone, without
training again; a competition without a group column is refused in one sentence."""
import json
import os
import shutil
import signal
import subprocess

import pandas as pd
import pytest

from helpers import ONE_CORE_JOBS, chain_paths, copy_workflow, wait_for

SHARED = """\
encode: group
batch_size: 8
lr_find: false
stages:
  - {freeze_to: 0, epochs: 2, lr_max: 1.0e-4, head_lr_mult: 10}
"""
COMMAND = ["snakemake", "--cores", "2", "--configfile", "config/demo.yaml", "config/one-core-jobs.yaml",
           "config/shared.yaml", "--config", "results_dir=results/shared"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tiny_model_folder):
    """The workflow with shared.yaml reading a tiny random BERT: the rules are under test, not what MiniLM learns."""
    model = f"model: {tiny_model_folder('bert')}\n"
    return copy_workflow(tmp_path_factory.mktemp("shared"),
                         {"shared.yaml": SHARED + model, "one-core-jobs.yaml": ONE_CORE_JOBS})


def model_of(workdir) -> str:
    return next(line.split(": ", 1)[1] for line in (workdir / "config" / "shared.yaml").read_text().splitlines()
                if line.startswith("model: "))


def run(workdir, *extra):
    done = subprocess.run([*COMMAND, *extra], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-5000:]
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def shared_run(workdir):
    """The run killed (SIGKILL) while its stage trains, then run again to the end; then that stage alone run
    afresh. (results, chain, the rerun's output, the resumed stage's files as bytes)."""
    results = workdir / "results" / "shared"
    _, chain, logs = chain_paths(results, model_of(workdir))
    process = subprocess.Popen(COMMAND, cwd=workdir, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_for(logs / "stage_1.log", process, text="epoch 1/2  batch")  # the stage is training
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (chain / "stages" / "1" / "metrics.json").exists()
    output = run(workdir)
    stage = chain / "stages" / "1"
    resumed = {name: (stage / name).read_bytes() for name in ("valid_outputs.csv", "model/model.safetensors",
                                                             "model/span_head.safetensors")}
    target = str(stage.relative_to(workdir) / "metrics.json")
    run(workdir, "--forcerun", target, "--until", target)
    fresh = {name: (stage / name).read_bytes() for name in resumed}
    return results, chain, output, resumed, fresh


def test_sigkill_mid_stage_resumes_to_what_a_fresh_run_of_the_stage_gives(shared_run):
    _, _, output, resumed, fresh = shared_run
    assert "train_stage" in output and "predict" in output
    assert resumed == fresh  # seeded per stage: the same held-out outputs, weights and span head


def test_every_phrase_is_answered_in_file_order_from_one_encoding_per_sentence(workdir, shared_run):
    results, chain, *_ = shared_run
    summary = json.loads((chain.parents[1] / "tensors" / "summary.json").read_text())
    train = pd.read_csv(workdir / "data" / "demo" / "train.tsv", sep="\t", keep_default_na=False, quoting=3)
    split = summary["splits"]["train"]
    assert summary["encode"] == "group" and split["texts"] == len(train)
    assert split["found_as_spans"] + split["encoded_alone"] == len(train) and split["found_as_spans"] > 0.95 * len(train)
    assert split["units"] <= split["groups"] + split["encoded_alone"]
    metrics = json.loads((chain / "stages" / "1" / "metrics.json").read_text())
    assert metrics["train_sequences"] < metrics["train_rows"] / 5  # sentences, not phrases, are encoded
    held_out = pd.read_csv(chain / "stages" / "1" / "valid_outputs.csv")
    assert held_out.row.is_monotonic_increasing and held_out.row.is_unique
    test_outputs = pd.read_csv(chain / "test_outputs.csv")
    test = pd.read_csv(workdir / "data" / "demo" / "test.tsv", sep="\t", keep_default_na=False, quoting=3)
    assert test_outputs.row.tolist() == list(range(len(test)))
    assert test_outputs.drop(columns="row").notna().all().all()
    sample = pd.read_csv(workdir / "data" / "demo" / "sampleSubmission.csv")
    assert pd.read_csv(results / "submission.csv").PhraseId.tolist() == sample.PhraseId.tolist()


def test_the_bundle_reads_one_text_as_its_own_group(shared_run):
    from fasthf.models.shared_head import SpanModel
    from fasthf.routes.bundle import Predictor

    predictor = Predictor(shared_run[0] / "bundle", precision="no")
    assert isinstance(predictor.model, SpanModel)
    one = predictor.predict_one("a gorgeous , witty film")
    many = predictor.predict(["dull", "a gorgeous , witty film"])
    assert one.probs == pytest.approx(many[1].probs, abs=1e-5) and abs(sum(one.probs) - 1) < 1e-4


def test_read_alone_turned_on_for_a_finished_run_averages_both_readings_without_training_again(workdir, shared_run):
    from fasthf.encoding.shared import read_inside

    results, chain, *_ = shared_run
    shutil.copytree(results, workdir / "results" / "alone")  # the finished run, its files' times kept
    alone_chain = workdir / "results" / "alone" / chain.relative_to(results)
    output = run(workdir, "--config", "results_dir=results/alone", "read_alone=true")
    assert "rule alone_tensors" in output and "rule held_out" in output and "rule predict" in output
    assert "rule train_stage" not in output  # the stages stand: training reads the spans only
    train = pd.read_csv(workdir / "data" / "demo" / "train.tsv", sep="\t", keep_default_na=False, quoting=3)
    inside = read_inside(train.Phrase.tolist(), train.SentenceId.tolist())
    summary = json.loads((alone_chain.parents[1] / "tensors" / "alone.json").read_text())
    assert summary["splits"]["train"] == {"rows": len(train), "read_alone": len(inside),
                                          "tokens_encoded": summary["splits"]["train"]["tokens_encoded"]}
    stage = pd.read_csv(alone_chain / "stages" / "1" / "valid_outputs.csv").set_index("row")
    both = pd.read_csv(alone_chain / "valid_outputs.csv").set_index("row")
    assert both.index.tolist() == stage.index.tolist()
    again = stage.index.isin(inside)
    assert 0 < again.sum() < len(stage)
    assert (both[~again] - stage[~again]).abs().max().max() < 1e-6  # a sentence read once keeps its outputs
    assert (both[again] - stage[again]).abs().max(axis=1).gt(1e-4).mean() > 0.5  # the rest: two readings averaged
    oof = pd.read_csv(workdir / "results" / "alone" / "ensemble" / "oof_outputs.csv").set_index("row")
    assert (oof.filter(like="out_") - both.loc[oof.index]).abs().max().max() < 1e-6  # scored on both readings
    test_outputs = pd.read_csv(alone_chain / "test_outputs.csv")
    before = pd.read_csv(chain / "test_outputs.csv")
    assert test_outputs.row.tolist() == before.row.tolist()
    assert (test_outputs.drop(columns="row") - before.drop(columns="row")).abs().max(axis=1).gt(1e-4).any()


def test_a_time_limits_plan_buys_read_alone_at_the_lone_readings_measured_rate(workdir):
    """An allocation with read_alone: the rates measure the lone readings, the plan counts them and chooses it,
    and the chain's held-out rows are read both ways."""
    (workdir / "config" / "alone-plan.yaml").write_text(
        "time_limit: 30m\ntime_plan:\n  margin: 0.1\n  allocations:\n"
        "    - {folds: 1, seeds: 1, epochs: 1}\n    - {folds: 1, seeds: 1, epochs: 1, read_alone: true}\n")
    done = subprocess.run([*COMMAND[:7], "config/alone-plan.yaml", "--config", "results_dir=results/alone-plan"],
                          cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-5000:]
    output = done.stdout + done.stderr
    results = workdir / "results" / "alone-plan"
    _, chain, _ = chain_paths(results, model_of(workdir))
    rates = json.loads((chain.parents[1] / "rates.json").read_text())
    assert rates["alone_per_s"] > 0 and rates["alone_sequences"] > 0 and rates["alone_test_sequences"] > 0
    plan = json.loads((results / "plan.json").read_text())
    assert plan["chosen"]["read_alone"] is True and "rows read alone too" in plan["why"]
    first, second = (c["seconds"]["prediction"] for c in plan["candidates"])
    assert second > first  # the lone readings counted
    assert "rule held_out" in output
    assert (chain / "valid_outputs.csv").exists() and (chain / "held_out.json").exists()


def test_encode_group_without_a_group_column_stops_the_run_in_one_sentence(workdir):
    done = subprocess.run(["snakemake", "-n", "--configfile", "config/demo.yaml", "--config", "encode=group",
                           "competition=spooky-author-identification"], cwd=workdir, capture_output=True, text=True)
    assert done.returncode != 0
    assert "encode: group needs competition.group, the column naming the text each row is a piece of" in \
        done.stdout + done.stderr
