"""`encode: group` through the whole workflow on the committed fixture (MiniLM-L6, two stages): every
phrase answered in file order through held-out outputs, blend, memory and submission; the bundle reads a
single text as its own group; and a run killed with SIGKILL mid-stage resumes to the same predictions."""
import json
import os
import signal
import subprocess

import pandas as pd
import pytest

from helpers import MINILM, ONE_CORE_JOBS, chain_paths, copy_workflow, wait_for

STAGES = """\
encode: group
batch_size: 8
lr_find: false
stages:
  - {freeze_to: -1, epochs: 1, lr_max: 2.0e-3}
  - {freeze_to: 0, epochs: 2, lr_max: 1.0e-3, head_lr_mult: 3}
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("shared"), {"shared.yaml": STAGES, "one-core-jobs.yaml": ONE_CORE_JOBS})


def command(results_dir):
    return ["snakemake", "--cores", "2", "--configfile", "config/demo.yaml", "config/one-core-jobs.yaml",
            "config/shared.yaml", "--config", f"results_dir={results_dir}"]


def run(workdir, results_dir):
    done = subprocess.run(command(results_dir), cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-5000:]
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def shared_run(workdir):
    run(workdir, "results/shared")
    return workdir / "results" / "shared", MINILM


def test_every_phrase_is_answered_in_file_order_from_one_encoding_per_sentence(workdir, shared_run):
    results, model = shared_run
    member, chain, _ = chain_paths(results, model)
    summary = json.loads((member / "tensors" / "summary.json").read_text())
    train = pd.read_csv(workdir / "data" / "demo" / "train.tsv", sep="\t", keep_default_na=False, quoting=3)
    split = summary["splits"]["train"]
    assert summary["encode"] == "group" and split["texts"] == len(train)
    assert split["found_as_spans"] + split["encoded_alone"] == len(train)
    assert split["units"] <= split["groups"] + split["encoded_alone"]
    assert split["found_as_spans"] > 0.95 * len(train)
    metrics = json.loads((chain / "stages" / "2" / "metrics.json").read_text())
    assert metrics["train_sequences"] < metrics["train_rows"] / 5  # sentences, not phrases, are encoded
    held_out = pd.read_csv(chain / "stages" / "2" / "valid_outputs.csv")
    assert held_out.row.is_monotonic_increasing and held_out.row.is_unique
    test_outputs = pd.read_csv(chain / "test_outputs.csv")
    test = pd.read_csv(workdir / "data" / "demo" / "test.tsv", sep="\t", keep_default_na=False, quoting=3)
    assert test_outputs.row.tolist() == list(range(len(test)))
    assert test_outputs.drop(columns="row").notna().all().all()
    sample = pd.read_csv(workdir / "data" / "demo" / "sampleSubmission.csv")
    assert pd.read_csv(results / "submission.csv").PhraseId.tolist() == sample.PhraseId.tolist()


def test_the_bundle_reads_one_text_as_its_own_group(shared_run):
    from fasthf.bundle import Predictor
    from fasthf.span_head import SpanModel

    results, _ = shared_run
    predictor = Predictor(results / "bundle", precision="no")
    assert isinstance(predictor.model, SpanModel)
    one = predictor.predict_one("a gorgeous , witty film")
    many = predictor.predict(["dull", "a gorgeous , witty film"])
    assert one.probs == pytest.approx(many[1].probs, abs=1e-5) and abs(sum(one.probs) - 1) < 1e-4


def test_sigkill_mid_stage_with_shared_encoding_resumes_to_the_same_predictions(workdir, shared_run):
    results, model = shared_run
    _, killed_chain, killed_logs = chain_paths(workdir / "results" / "shared-killed", model)
    process = subprocess.Popen(command("results/shared-killed"), cwd=workdir, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(killed_logs / "stage_2.log", process, text="epoch 1/2  batch")  # stage 2 is training
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed_chain / "stages" / "2" / "metrics.json").exists()

    output = run(workdir, "results/shared-killed")

    assert "stage=2" in output and "stage=1" not in output
    _, chain, _ = chain_paths(results, model)
    assert (killed_chain / "test_outputs.csv").read_bytes() == (chain / "test_outputs.csv").read_bytes()
    assert (killed_chain / "stages" / "2" / "valid_outputs.csv").read_bytes() == \
        (chain / "stages" / "2" / "valid_outputs.csv").read_bytes()


def test_encode_group_without_a_group_column_stops_the_run_in_one_sentence(workdir):
    done = subprocess.run(["snakemake", "-n", "--configfile", "config/demo.yaml", "--config", "encode=group",
                           "competition=spooky-author-identification"], cwd=workdir, capture_output=True, text=True)
    assert done.returncode != 0
    assert "encode: group needs competition.group, the column naming the text each row is a piece of" in done.stdout + done.stderr
