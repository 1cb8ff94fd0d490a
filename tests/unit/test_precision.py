"""Mixed precision: `auto` picks bf16 where the hardware runs it natively; bf16 trains and predicts on
CPU; weights and checkpoints stay fp32."""
import logging

import numpy as np
import pytest
import torch
from safetensors import safe_open
from torch import nn

from fasthf.models import precision as precision_module
from fasthf.models.architectures import load_pretrained, output_layer
from helpers import SENTIMENT_TASK, label_names
from tiny_models import ARCHITECTURES
from fasthf.encoding.tensors import tokenize_split
from fasthf.models.precision import Fp32Linear, resolve_precision
from fasthf.outputs.prediction import predict_probs
from fasthf.tasks import Regression
from fasthf.training.recipe import TrainSettings
from fasthf.training.stages import build_learner, make_dataloaders


@pytest.mark.parametrize("native, expected", [("avx512_bf16", "bf16"), ("amx", "bf16"), (None, "no")])
def test_auto_on_cpu_is_bf16_only_where_it_is_native(monkeypatch, native, expected):
    monkeypatch.setattr(precision_module, "cpu_native_bf16", lambda: native)
    chosen = resolve_precision("auto", "cpu")
    assert (chosen.name, chosen.device_type) == (expected, "cpu")
    assert (native or "no native bf16") in chosen.reason
    assert chosen.dtype == (torch.bfloat16 if expected == "bf16" else None)


@pytest.mark.parametrize("bf16_supported, expected", [(True, "bf16"), (False, "no")])
def test_auto_on_cuda_follows_the_device(monkeypatch, bf16_supported, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_supported)
    assert resolve_precision("auto", "cuda").name == expected


def test_explicit_settings(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_native_bf16", lambda: None)
    assert resolve_precision("no", "cpu").name == "no"
    emulated = resolve_precision("bf16", "cpu")
    assert emulated.name == "bf16" and "emulated" in emulated.reason
    assert resolve_precision("fp16", "cpu").name == "no"  # fp16 needs CUDA
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_precision("fp16", "cuda").name == "fp16"
    with pytest.raises(ValueError, match="'fp8' is not one of"):
        resolve_precision("fp8", "cpu")


def test_this_machine_resolves_auto_from_its_own_processor():
    expected = "bf16" if precision_module.cpu_native_bf16() else "no"
    assert resolve_precision("auto", "cpu").name == expected


class LinearDtypes:
    """Records the dtypes the encoder's Linears compute in (`seen`), and the output layer's apart (`output`)."""

    def __init__(self, model):
        self.seen, self.output = set(), set()
        self.handles = [m.register_forward_hook(self.record) for m in model.modules() if isinstance(m, nn.Linear)]

    def record(self, module, inputs, output):
        (self.output if isinstance(module, Fp32Linear) else self.seen).add(output.dtype)

    def remove(self):
        for handle in self.handles:
            handle.remove()


@pytest.fixture
def tiny_bert_split(tiny_model_folder):
    model, tokenizer = load_pretrained(str(tiny_model_folder("bert")), label_names())
    split, _ = tokenize_split(["a fine movie", "dull"] * 32, tokenizer, max_length=16, labels=np.array([4, 0] * 32))
    return model, split


def test_bf16_trains_on_cpu_and_keeps_fp32_weights_and_checkpoints(tiny_bert_split, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="fasthf")
    model, split = tiny_bert_split
    settings = TrainSettings(batch_size=16, mixed_precision="bf16")
    learn = build_learner(make_dataloaders(split, split, settings, device="cpu"), model, settings, SENTIMENT_TASK, progress="none")
    assert "training precision: bf16 on cpu" in caplog.text
    learn.create_opt()  # the splitter traces the model once, in fp32, outside any batch
    before = [p.detach().clone() for p in learn.model.parameters()]
    dtypes = LinearDtypes(learn.model)
    learn.fit(1, lr=1e-3)
    dtypes.remove()

    assert dtypes.seen == {torch.bfloat16}  # every matrix product of the encoder ran in bf16
    assert dtypes.output == {torch.float32}  # the logits' own in fp32
    assert not torch.is_autocast_enabled("cpu")  # nothing left autocasting after the fit
    assert all(p.dtype == torch.float32 for p in learn.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, learn.model.parameters()))  # it did train
    assert learn.recorder.values[-1][0] == learn.recorder.values[-1][0]  # valid loss is a number, not NaN
    learn.model.model.save_pretrained(tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float32}


def test_fp32_setting_computes_in_fp32(tiny_bert_split):
    model, split = tiny_bert_split
    settings = TrainSettings(batch_size=16, mixed_precision="no")
    learn = build_learner(make_dataloaders(split, split, settings, device="cpu"), model, settings, SENTIMENT_TASK, progress="none")
    learn.create_opt()
    dtypes = LinearDtypes(learn.model)
    learn.fit(1, lr=1e-3)
    assert dtypes.seen == {torch.float32}


def test_bf16_prediction_is_bf16_inside_fp32_outside_and_agrees_with_fp32(tiny_bert_split, caplog):
    caplog.set_level(logging.INFO, logger="fasthf")
    model, split = tiny_bert_split
    dtypes = LinearDtypes(model)
    probs_bf16 = predict_probs(model, split, batch_size=16, device="cpu", precision="bf16")
    assert dtypes.seen == {torch.bfloat16} and dtypes.output == {torch.float32}
    assert "prediction precision: bf16 on cpu" in caplog.text
    dtypes.seen.clear()
    probs_fp32 = predict_probs(model, split, batch_size=16, device="cpu", precision="no")
    assert dtypes.seen == {torch.float32}
    assert probs_bf16.dtype == torch.float32
    assert torch.allclose(probs_bf16.sum(dim=1), torch.ones(len(split)))
    assert (probs_bf16 - probs_fp32).abs().max() < 0.05


def test_fp16_on_cpu_warns_and_computes_in_fp32(tiny_bert_split, caplog):
    model, split = tiny_bert_split
    settings = TrainSettings(batch_size=16, mixed_precision="fp16")
    learn = build_learner(make_dataloaders(split, split, settings, device="cpu"), model, settings, SENTIMENT_TASK, progress="none")
    assert "fp16 needs a CUDA device; fp32 on cpu" in caplog.text
    assert any(r.levelname == "WARNING" and "training precision" in r.message for r in caplog.records)
    assert not any(type(cb).__name__ in ("MixedPrecision", "Autocast") for cb in learn.cbs)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_the_output_layer_found_is_the_one_that_writes_the_logits(tiny_model_folder, architecture):
    model, tokenizer = load_pretrained(str(tiny_model_folder(architecture)), label_names())
    layer = output_layer(model)
    written = []
    layer.register_forward_hook(lambda module, inputs, output: written.append(output))
    batch = tokenizer(["a fine movie", "dull"], return_tensors="pt", padding=True)
    logits = model.eval()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert len(written) == 1 and torch.equal(written[0].reshape(logits.shape), logits)


def test_bf16_regression_values_keep_fp32_resolution(tiny_model_folder):
    """A bf16 output has ~3 significant digits: every value would sit on bf16's grid (steps of 0.0078
    near 1), and values the model tells apart would tie."""
    task = Regression(["score"])
    model, tokenizer = load_pretrained(str(tiny_model_folder("bert")), task.output_names)
    texts = [f"phrase {i} " + "fine " * (i % 7) for i in range(64)]
    split, _ = tokenize_split(texts, tokenizer, max_length=16, labels=np.zeros(64, dtype=np.float32))
    values = predict_probs(model, split, batch_size=16, device="cpu", precision="bf16", activation=task.activation)[:, 0]
    exact = predict_probs(model, split, batch_size=16, device="cpu", precision="no", activation=task.activation)[:, 0]
    on_bf16_grid = values == values.to(torch.bfloat16).float()
    assert on_bf16_grid.float().mean() < 0.5
    assert len(set(values.tolist())) == len(set(exact.tolist()))
