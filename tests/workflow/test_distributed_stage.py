"""A data-parallel stage: 2 processes on the CPU over gloo, launched by `accelerate launch` through
fastai's distrib_ctx, on the committed fixture (a whole stage in processes of its own: marked workflow)."""
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from fasthf.models.architectures import load_checkpoint
from fasthf.encoding.tensor_cache import prepare_tensors
from fasthf.inputs.folds import FoldData, assign_folds
from fasthf.outputs.prediction import predict_probs
from fasthf.training.recipe import Stage, TrainSettings
from helpers import SENTIMENT_TASK, label_names, read_train, sentiment


@pytest.fixture(scope="module")
def two_process_stage(tmp_path_factory, tiny_model_folder, competition_files):
    from transformers import AutoTokenizer

    from fasthf.models.architectures import fetch_pretrained

    work = tmp_path_factory.mktemp("ddp")
    folder = work / "pretrained"  # what the pretrained rule writes: the model with its 5-class head
    fetch_pretrained(str(tiny_model_folder("bert")), label_names(), folder, seed=0)
    prepare_tensors(competition_files["train"], competition_files["test"], AutoTokenizer.from_pretrained(str(folder)),
                    work / "tensors", 64, *sentiment())
    train = read_train(competition_files["train"])
    assign_folds(train.PhraseId, train.SentenceId.to_numpy(), 1, 0.1, 42).to_csv(work / "folds.csv", index=False)
    data = FoldData(str(work / "tensors" / "train.safetensors"), str(work / "folds.csv"), 0)
    stage = Stage(freeze_to=-2, epochs=1, lr_max=1e-3, devices=2)
    settings = TrainSettings(batch_size=32, eval_batch_size=256, mixed_precision="no")
    # Through the same entry point the train_stage rule calls, in a process of its own so the ranks'
    # output can be read back.
    code = ("import sys, json; from fasthf.training.stages import Stage, TrainSettings, train_stage; "
            "from fasthf.inputs.folds import FoldData; from fasthf.tasks import task_from; "
            "a = json.loads(sys.argv[1]); train_stage(Stage(**a['stage']), 1, a['previous'], FoldData(**a['data']), a['out'], "
            "TrainSettings(**a['settings']), task_from(a['task']))")
    args = {"stage": dataclasses.asdict(stage), "previous": str(folder), "data": dataclasses.asdict(data),
            "out": str(work / "stage"), "settings": dataclasses.asdict(settings), "task": SENTIMENT_TASK.describe()}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return work, folder, data, done.stdout + done.stderr


def test_two_ranks_trained_over_gloo(two_process_stage):
    *_, output = two_process_stage
    assert "data-parallel: rank 0 of 2" in output and "data-parallel: rank 1 of 2" in output


def test_only_rank_0_wrote_and_the_checkpoint_loads_like_any_other(two_process_stage):
    work, folder, _, _ = two_process_stage
    out = work / "stage"
    assert sorted(p.name for p in out.iterdir()) == ["groups.csv", "history.csv", "loss.png", "metrics.json", "model",
                                                     "valid_outputs.csv"]
    model = load_checkpoint(out / "model", n_labels=SENTIMENT_TASK.n_outputs)
    start = load_checkpoint(folder)
    changed = [n for (n, p), (_, q) in zip(model.named_parameters(), start.named_parameters()) if not torch.equal(p, q)]
    assert changed and all(n.startswith(("bert.encoder.layer.2.", "bert.pooler", "classifier")) for n in changed)


def test_validation_metrics_cover_the_whole_held_out_split_once(two_process_stage):
    work, _, data, _ = two_process_stage
    metrics = json.loads((work / "stage" / "metrics.json").read_text())
    valid = data.held_out()
    assert metrics["valid_rows"] == len(valid)
    model = load_checkpoint(work / "stage" / "model", n_labels=SENTIMENT_TASK.n_outputs)
    probs = predict_probs(model, valid, batch_size=256, device="cpu", precision="no")
    accuracy = float((probs.argmax(dim=1) == valid.labels).float().mean())
    assert metrics["accuracy"] == pytest.approx(accuracy, abs=1e-6)  # the same batches, the whole split
    # The last validation pass's outputs are the held-out prediction: row for row what predicting the
    # held-out rows again with the saved checkpoint gives.
    kept = pd.read_csv(work / "stage" / "valid_outputs.csv")
    assert kept.row.tolist() == valid.rows.tolist() and list(kept.columns[1:]) == SENTIMENT_TASK.output_columns
    np.testing.assert_allclose(kept.iloc[:, 1:].to_numpy(), probs.numpy(), atol=1e-5)
