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


def tiny_stage_data(tiny_model_folder, tmp_path):
    """A tiny BERT saved at tmp_path/start and 40 tokenized texts, the first 8 held out by fold 0."""
    import pandas as pd

    from fasthf.encoding.tensors import tokenize_split
    from fasthf.inputs.folds import FoldData
    from fasthf.models.architectures import load_pretrained
    from helpers import label_names

    model, tokenizer = load_pretrained(str(tiny_model_folder("bert")), label_names())
    model.save_pretrained(tmp_path / "start")
    split, _ = tokenize_split(["a fine film", "dull", "not good", "great fun"] * 10, tokenizer, 16,
                              labels=np.array([4, 0, 1, 3] * 10))
    split.save(tmp_path / "train.safetensors")
    pd.DataFrame({"row": range(40), "id": range(40), "group": np.arange(40) // 4,
                  "fold": np.where(np.arange(40) < 8, 0, -1)}).to_csv(tmp_path / "folds.csv", index=False)
    return FoldData(str(tmp_path / "train.safetensors"), str(tmp_path / "folds.csv"), 0)


def test_a_stage_trains_from_a_checkpoint_and_writes_each_of_its_files(tiny_model_folder, tmp_path):
    """run_stage on a tiny BERT: freeze_to(-1) trains the head only, and the stage's files are all there."""
    import json

    import pandas as pd

    from fasthf.outputs.table import Predictions
    from fasthf.training.recipe import Stage, TrainSettings
    from fasthf.training.stages import run_stage
    from helpers import SENTIMENT_TASK

    data = tiny_stage_data(tiny_model_folder, tmp_path)
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


def test_a_stage_stopped_by_the_time_limit_validates_and_saves_a_checkpoint_that_predicts(tiny_model_folder, tmp_path):
    """Deadline on a clock that moves half a second at each reading (the start and the end of each training
    batch): 3 epochs of 4 batches, stopped before epoch 2's third batch, the 7th, which starts at 6.5 s and,
    with a batch of 0.5 s and a validation pass of 2 s, would end past 8.5 s; the epoch is validated, the fit
    ends, and the saved weights predict the held-out rows as the stage's last validation did."""
    import json

    import pandas as pd

    from fasthf.encoding.tensor_cache import load_split
    from fasthf.models.architectures import load_checkpoint
    from fasthf.outputs.prediction import predict_probs
    from fasthf.outputs.table import Predictions
    from fasthf.training.callbacks import Deadline
    from fasthf.training.recipe import Stage, TrainSettings
    from fasthf.training.stages import run_stage
    from helpers import SENTIMENT_TASK

    class Clock:
        now = 0.0

        def __call__(self):
            self.now += 0.5
            return self.now

    data = tiny_stage_data(tiny_model_folder, tmp_path)
    deadline = Deadline(deadline=8.5, batch_s=1.0, validate_s=2.0, now=Clock())
    metrics = run_stage(Stage(freeze_to=0, epochs=3, lr_max=1e-3), 1, tmp_path / "start", data, tmp_path / "stage",
                        TrainSettings(batch_size=8, mixed_precision="no"), SENTIMENT_TASK, deadline)  # fp32, as below
    assert metrics["stopped_early"].startswith("stopped early at epoch 2 of 3, batch 3 of 4")
    assert metrics["epochs_trained"] == 1.5  # 4 batches, then 2: its rate counts those, not the 3 epochs set
    # (seconds are written to 0.01 s: the rate, from the unrounded ones, is nearer 1.5 epochs' than the 3 set)
    trained, set_ = (metrics["train_rows"] * epochs / metrics["seconds"] for epochs in (1.5, 3))
    assert abs(metrics["train_rows_per_second"] - trained) < abs(metrics["train_rows_per_second"] - set_)
    assert json.loads((tmp_path / "stage" / "metrics.json").read_text())["stopped_early"] == metrics["stopped_early"]
    assert len(pd.read_csv(tmp_path / "stage" / "history.csv")) == 2  # epoch 1 whole, epoch 2 cut and validated
    held_out = Predictions.read(tmp_path / "stage" / "valid_outputs.csv")
    model = load_checkpoint(tmp_path / "stage" / "model", n_labels=5)
    outputs = predict_probs(model, load_split(tmp_path / "train.safetensors").subset(np.arange(8)), precision="no")
    assert held_out.rows.tolist() == list(range(8))
    assert np.allclose(held_out.outputs, outputs.numpy(), atol=1e-5)


def test_a_deadline_already_past_trains_nothing_and_still_saves_the_checkpoint_it_started_from(tiny_model_folder,
                                                                                              tmp_path):
    from safetensors.torch import load_file

    from fasthf.training.callbacks import Deadline
    from fasthf.training.recipe import Stage, TrainSettings
    from fasthf.training.stages import run_stage
    from helpers import SENTIMENT_TASK

    data = tiny_stage_data(tiny_model_folder, tmp_path)
    metrics = run_stage(Stage(freeze_to=0, epochs=2, lr_max=1e-3), 1, tmp_path / "start", data, tmp_path / "stage",
                        TrainSettings(batch_size=8), SENTIMENT_TASK, Deadline(0.0, 1.0, 1.0))
    assert metrics["stopped_early"].startswith("stopped early at epoch 1 of 2, batch 1 of 4")
    assert metrics["epochs_trained"] == 0 and metrics["train_rows_per_second"] == 0
    before, after = (load_file(next(folder.glob("*.safetensors"))) for folder in (tmp_path / "start", tmp_path / "stage" / "model"))
    shared = [name for name in before if name in after and "classifier" not in name]
    assert shared and all(np.array_equal(before[name].numpy(), after[name].numpy()) for name in shared)
