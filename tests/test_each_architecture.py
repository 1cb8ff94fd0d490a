"""Every architecture the tutorial supported, plus two modern encoders, built tiny from their configs."""
import numpy as np
import pytest

from fasthf.architectures import group_parameter_names, layer_groups, load_pretrained
from conftest import SENTIMENT_TASK, label_names
from fasthf.tensors import tokenize_split
from fasthf.training import TrainSettings, build_learner, make_dataloaders
from tiny_models import ARCHITECTURES

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
    model, tokenizer = load_pretrained(str(tiny_model_folder(request.param)), label_names())
    return request.param, model, tokenizer


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

    from fasthf.architectures import SplitError

    albert = AutoModelForSequenceClassification.from_config(AlbertConfig(
        vocab_size=100, embedding_size=16, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
        intermediate_size=64, num_labels=5))
    with pytest.raises(SplitError, match=r"AlbertForSequenceClassification.*3 layers.*'albert\.encoder\.albert_layer_groups'"):
        group_parameter_names(albert)
