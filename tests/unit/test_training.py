"""The optimizer: fastai's Adam with decoupled weight decay, stepped by torch's fused AdamW."""
import numpy as np
import torch
from fastai.optimizer import Adam

from fasthf.training.stages import fused_adamw


def two_groups(seed=0):
    torch.manual_seed(seed)
    groups = [[torch.nn.Parameter(torch.randn(7, 5)), torch.nn.Parameter(torch.randn(5))],
              [torch.nn.Parameter(torch.randn(3, 7))]]
    return groups


def run(opt_func, groups, lrs, moms, steps=5):
    opt = opt_func(groups, lr=1e-3)
    opt.set_hypers(wd=0.01)
    for step in range(steps):
        opt.set_hypers(lr=lrs[step], mom=moms[step])  # as fit_one_cycle does, batch by batch
        torch.manual_seed(100 + step)
        for group in groups:
            for p in group:
                p.grad = torch.randn_like(p)
        opt.step()
        opt.zero_grad()
    return [p.detach().clone() for group in groups for p in group]


def test_fused_adamw_steps_exactly_as_fastais_adam_with_decoupled_weight_decay():
    lrs = [np.array([1e-3, 3e-3]) * f for f in (0.2, 0.6, 1.0, 0.7, 0.3)]  # discriminative, scheduled
    moms = [0.95, 0.9, 0.85, 0.9, 0.95]
    fastai = run(lambda g, lr: Adam(g, lr=lr, decouple_wd=True), two_groups(), lrs, moms)
    fused = run(fused_adamw, two_groups(), lrs, moms)
    start = [p.detach() for group in two_groups() for p in group]
    for a, b, p0 in zip(fastai, fused, start):
        assert not torch.equal(a, p0)  # it trained
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


def test_fastais_hyper_parameters_reach_the_torch_optimizer():
    opt = fused_adamw(two_groups(), lr=1e-3)
    opt.set_hypers(lr=np.array([1e-4, 2e-4]), mom=0.85, wd=0.05)
    groups = opt.opt.param_groups
    assert [g["lr"] for g in groups] == [1e-4, 2e-4]
    assert all(g["betas"] == (0.85, 0.99) and g["weight_decay"] == 0.05 and g["eps"] == 1e-5 for g in groups)
    assert all(g["fused"] for g in groups)  # parameters on the CPU: torch's fused kernel


def test_a_stage_trains_from_a_checkpoint_and_writes_each_of_its_files(tiny_model_folder, tmp_path):
    """run_stage on a tiny BERT: freeze_to(-1) trains the head only, and the stage's files are all there."""
    import json

    import pandas as pd

    from fasthf.encoding.tensors import tokenize_split
    from fasthf.inputs.folds import FoldData
    from fasthf.models.architectures import load_pretrained
    from fasthf.outputs.table import Predictions
    from fasthf.training.recipe import Stage, TrainSettings
    from fasthf.training.stages import run_stage
    from helpers import SENTIMENT_TASK, label_names

    model, tokenizer = load_pretrained(str(tiny_model_folder("bert")), label_names())
    model.save_pretrained(tmp_path / "start")
    split, _ = tokenize_split(["a fine film", "dull", "not good", "great fun"] * 10, tokenizer, 16,
                              labels=np.array([4, 0, 1, 3] * 10))
    split.save(tmp_path / "train.safetensors")
    pd.DataFrame({"row": range(40), "id": range(40), "group": np.arange(40) // 4,
                  "fold": np.where(np.arange(40) < 8, 0, -1)}).to_csv(tmp_path / "folds.csv", index=False)
    data = FoldData(str(tmp_path / "train.safetensors"), str(tmp_path / "folds.csv"), 0)
    stage = Stage(freeze_to=-1, epochs=2, lr_max=1e-3, name="head")
    metrics = run_stage(stage, 1, tmp_path / "start", data, tmp_path / "stage", TrainSettings(batch_size=8), SENTIMENT_TASK)

    out = tmp_path / "stage"
    assert {p.name for p in out.iterdir()} >= {"model", "metrics.json", "valid_outputs.csv", "history.csv",
                                                "groups.csv", "loss.png"}
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert metrics["train_rows"] == 32 and metrics["valid_rows"] == 8 and metrics["validation"] == "held out"
    groups = pd.read_csv(out / "groups.csv")
    assert groups.trainable.tolist() == [False] * (len(groups) - 1) + [True]
    assert len(pd.read_csv(out / "history.csv")) == 2
    held_out = Predictions.read(out / "valid_outputs.csv")
    assert held_out.rows.tolist() == list(range(8)) and np.allclose(held_out.outputs.sum(axis=1), 1, atol=1e-5)
