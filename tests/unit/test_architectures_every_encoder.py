"""Layer groups for every encoder in the installed transformers: each architecture of the
sequence-classification registry, built tiny from its config, split, frozen and stepped.

docs/encoders.md's table is this test's output: `FASTHF_WRITE_DOCS=1 pytest tests/unit/test_architectures_every_encoder.py`
rewrites it; otherwise the test fails when the page and what the test found disagree.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import transformers

from helpers import REPO, SENTIMENT_TASK, check_doc_section
from encoder_registry import CannotBuildTiny, build_tiny, encoder_types
from fasthf.encoding.tensors import Padding, TokenizedSplit
from fasthf.models.architectures import SplitError, group_parameter_names, layer_groups, layer_lists
from fasthf.training.recipe import TrainSettings
from fasthf.training.stages import build_learner, make_dataloaders
from helpers import ragged

ENCODERS_PAGE = "docs/encoders.md"
REGISTRY = encoder_types()


@dataclass
class Outcome:
    status: str  # "supported", "refused" (fasthf stops with a reason), "untested" (not built tiny), "skipped"
    detail: str = ""
    class_name: str = ""


@functools.lru_cache(maxsize=None)
def examine(model_type: str) -> Outcome:
    """What fasthf makes of `model_type`: built tiny, then split into groups (or refused)."""
    skip = dict(REGISTRY)[model_type]
    if skip:
        return Outcome("skipped", skip)
    try:
        model = build_tiny(model_type)
    except CannotBuildTiny as reason:
        return Outcome("untested", str(reason))
    try:
        groups = group_parameter_names(model)
    except SplitError as refusal:
        return Outcome("refused", str(refusal).split(": ", 1)[1], type(model).__name__)
    base = model.base_model_prefix
    after_layers = sorted({name.rsplit(".", 1)[0].removeprefix(base + ".") for name in groups[-1]
                           if name.startswith(base + ".")})
    detail = f"{len(groups) - 2} layers"
    if after_layers:
        detail += "; with the head: " + ", ".join(f"`{m}`" for m in after_layers)
    return Outcome("supported", detail, type(model).__name__)


def fixed_split(model, rows: int = 8) -> TokenizedSplit:
    """A few rows of valid token ids with labels, no tokenizer needed."""
    vocab = min(getattr(model.config, "vocab_size", 64) or 64, 64)
    rng = np.random.default_rng(0)
    ids = [rng.integers(min(5, vocab - 1), vocab, size=int(n)).tolist() for n in rng.integers(3, 9, size=rows)]
    pad = model.config.pad_token_id if isinstance(getattr(model.config, "pad_token_id", None), int) else 0
    return ragged(ids, padding=Padding(pad, 0, "right"), labels=[i % 5 for i in range(rows)])


def layer_computation(model, split: TokenizedSplit) -> list[torch.Tensor]:
    """Every output computed inside the transformer layers, for the same input, in eval mode."""
    seen = []
    record = lambda module, args, output: seen.extend(  # noqa: E731
        [output] if isinstance(output, torch.Tensor) else
        [t for t in (output.values() if isinstance(output, dict) else output) if isinstance(t, torch.Tensor)])
    lists = layer_lists(model, model.config.num_hidden_layers)
    hooks = [m.register_forward_hook(record) for name in lists for m in model.get_submodule(name).modules()]
    ids, mask = split.collate(range(len(split)))[:2]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(input_ids=ids, attention_mask=mask)
    model.train(was_training)
    for hook in hooks:
        hook.remove()
    return [t.detach().clone() for t in seen]


def one_step(model, split: TokenizedSplit, k: int):
    """fastai's `freeze_to(-k)` and one optimizer step; (learner, parameters before the step by group)."""
    settings = TrainSettings(batch_size=len(split), mixed_precision="no")
    learn = build_learner(make_dataloaders(split, split, settings, device="cpu"), model, settings, SENTIMENT_TASK, progress="none")
    learn.freeze_to(-k)
    groups = layer_groups(learn.model)
    before = [[p.detach().clone() for p in group] for group in groups]
    learn.fit(1, lr=1e-2)
    return groups, before


ENCODERS = [model_type for model_type, skip in REGISTRY if not skip]


@pytest.mark.parametrize("model_type", ENCODERS)
def test_every_encoder_splits_into_embeddings_layers_and_head(model_type):
    outcome = examine(model_type)
    if outcome.status == "untested":
        pytest.skip(f"{model_type}: {outcome.detail}")
    if outcome.status == "refused":  # a refusal must say which model and why, in the pretrained rule
        assert outcome.class_name and len(outcome.detail) > 20
        return
    model = build_tiny(model_type)
    groups = group_parameter_names(model)
    names = [n for group in groups for n in group]
    assert sorted(names) == sorted(n for n, _ in model.named_parameters())  # each exactly once
    assert len(groups) == model.config.num_hidden_layers + 2 and all(groups)
    lists = layer_lists(model, model.config.num_hidden_layers)
    for i, group in enumerate(groups[1:-1]):
        assert all(any(n.startswith(f"{lst}.{i}.") for lst in lists) for n in group), f"layer {i}"
    base = model.base_model_prefix
    assert {n for n, _ in model.named_parameters() if not n.startswith(base + ".")} <= set(groups[-1])
    embeddings = next((n for n, p in model.named_parameters()
                       if p is getattr(_input_embeddings(model), "weight", None)), None)
    assert embeddings is None or embeddings in groups[0]


def _input_embeddings(model):
    try:
        return model.get_input_embeddings()
    except (NotImplementedError, AttributeError):
        return None


@pytest.mark.parametrize("model_type", ENCODERS)
def test_training_the_head_leaves_every_layer_unchanged_and_freeze_to_k_trains_k_groups(model_type):
    if examine(model_type).status != "supported":
        pytest.skip(f"{model_type}: {examine(model_type).status}")
    model = build_tiny(model_type)
    split = fixed_split(model)
    layers_before = layer_computation(model, split)

    groups, before = one_step(model, split, k=1)
    assert all(torch.equal(p, q) for g, b in zip(groups[:-1], before[:-1]) for p, q in zip(g, b))
    assert any(not torch.equal(p, q) for p, q in zip(groups[-1], before[-1]))  # the head did train
    layers_after = layer_computation(model, split)
    assert len(layers_after) == len(layers_before)
    # Exact for the parameters above; here within 1e-6, the noise of some kernels' paths (ConvBERT's unfold
    # differs by 1e-11 from one call to the next), far below what one step at lr 1e-2 would change.
    assert all(torch.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(layers_after, layers_before))

    groups, before = one_step(model, split, k=2)
    assert [all(p.requires_grad for p in g) for g in groups] == [False] * (len(groups) - 2) + [True] * 2
    assert all(torch.equal(p, q) for g, b in zip(groups[:-2], before[:-2]) for p, q in zip(g, b))
    for g, b in zip(groups[-2:], before[-2:]):
        assert any(not torch.equal(p, q) for p, q in zip(g, b))


def encoder_table() -> str:
    rows = [(model_type, examine(model_type)) for model_type, _ in REGISTRY]
    label = {"supported": "✓ supported", "refused": "✗ refused", "untested": "? not tested"}
    lines = [f"Found by `tests/unit/test_architectures_every_encoder.py` with transformers {transformers.__version__}: each encoder of "
             f"the sequence-classification registry built tiny from its config, split, `freeze_to(-1)` and "
             f"`freeze_to(-2)` stepped once.", "",
             "| model type | classifier | fasthf | groups, or why not |", "|---|---|---|---|"]
    for model_type, outcome in rows:
        if outcome.status != "skipped":
            lines.append(f"| `{model_type}` | {outcome.class_name or '–'} | {label[outcome.status]} | "
                         f"{outcome.detail.replace('|', '/')} |")
    for reason in ("decoder-only", "encoder-decoder"):
        skipped = [f"`{m}`" for m, o in rows if o.status == "skipped" and o.detail == reason]
        if skipped:
            lines += ["", f"Not encoders, skipped ({reason}, {len(skipped)}): {', '.join(skipped)}."]
    other = [f"`{m}` ({o.detail})" for m, o in rows
             if o.status == "skipped" and o.detail not in ("decoder-only", "encoder-decoder")]
    if other:
        lines += ["", f"Skipped: {', '.join(other)}."]
    return "\n".join(lines)


def test_the_encoders_page_lists_every_model_type_as_this_test_found_it():
    table = encoder_table()
    for model_type, skip in REGISTRY:  # encoders in the table's rows, the others named with why they were skipped
        assert f"`{model_type}`" in table, model_type
    page = (REPO / ENCODERS_PAGE).read_text()
    written_with = re.search(r"with transformers (\S+):", page)
    if written_with and written_with.group(1) != transformers.__version__ and not os.environ.get("FASTHF_WRITE_DOCS"):
        pytest.skip(f"{ENCODERS_PAGE}'s table is of transformers {written_with.group(1)}, {transformers.__version__} is "
                    f"installed: FASTHF_WRITE_DOCS=1 pytest {__file__} rewrites it")
    check_doc_section(ENCODERS_PAGE, "encoders", table)
