"""A span task's cached tensors (fasthf.encoding.span_split): long texts read whole in windows, each token's tag
and characters kept through subset, save and load, batches padded with IGNORE, and a token-classification
model's outputs read back per character."""
import numpy as np
import pytest
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

from fasthf.encoding.span_split import SpanEncodingError, span_split, window_outputs
from fasthf.encoding.span_tokens import IGNORE, character_outputs, tag_names, unit_outputs, word_ranges
from fasthf.encoding.tensors import TokenizedSplit
from fasthf.inputs.span_labels import Span
from fasthf.outputs.span_decoding import DecodedSpan, decode_spans

SENTENCE = "the film is good and the acting is fine , but the plot drags on and on ."
LONG = " ".join([SENTENCE] * 10) + " Sooo SAD in San Diego"
SHORT = " Sooo SAD I will miss you"  # a leading space; its label has one too
TYPES = ["NAME", "PLACE"]


def spans_in(text, *pieces):
    return [Span(text.index(piece), text.index(piece) + len(piece), kind) for piece, kind in pieces]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_folder):
    return AutoTokenizer.from_pretrained(str(tiny_model_folder("roberta")))


@pytest.fixture(scope="module")
def split(tokenizer):
    spans = [spans_in(LONG, ("plot drags", "NAME"), ("San Diego", "PLACE")),
             [Span(0, 9, "NAME")]]  # " Sooo SAD": trimmed to the words
    return span_split([LONG, SHORT], tokenizer, 24, TYPES, spans, pairs=["negative", "negative"])


def one_hot(tags, n):
    out = np.zeros((len(tags), n))
    out[np.arange(len(tags))[tags >= 0], tags[tags >= 0]] = 1
    return out


def decoded(split, text, row, outputs):
    chars = character_outputs(len(text), window_outputs(split, outputs)[row])
    words = word_ranges(text)
    return decode_spans(unit_outputs(chars, words), words, TYPES, split_at_b=True)


def test_a_long_text_is_read_whole_in_windows_and_its_tags_decode_back_to_its_spans(split):
    split, counts = split
    assert counts == {"texts": 2, "windowed": 1, "windows": int((split.rows == 0).sum()), "spans": 3}
    assert counts["windows"] > 5 and (split.rows == 1).sum() == 1  # the short text is one sequence
    outputs = [one_hot(split.tags[split.offsets[k]:split.offsets[k + 1]].numpy(), 5) for k in range(len(split))]
    assert decoded(split, LONG, 0, outputs) == [DecodedSpan(LONG.index("plot drags"), LONG.index("plot drags") + 10, "NAME"),
                                                DecodedSpan(LONG.index("San Diego"), len(LONG), "PLACE")]
    assert decoded(split, SHORT, 1, outputs) == [DecodedSpan(1, 9, "NAME")]


def test_only_the_token_holding_a_spans_first_character_is_b(split):
    """A window that starts inside a span reads it as I- only; where windows overlap, both hold the B- token."""
    split, _ = split
    names = tag_names(TYPES)
    starts = {(names[t], int(r[0])) for t, r in zip(split.tags.tolist(), split.char_ranges)
              if t != IGNORE and names[t].startswith("B")}
    assert starts == {("B-NAME", LONG.index("plot drags")), ("B-PLACE", LONG.index("San Diego")), ("B-NAME", 1)}


def test_the_pair_and_special_tokens_are_ignored_and_cover_no_character(split, tokenizer):
    split, _ = split
    ids = split[len(split) - 1].tolist()
    ranges = split.char_ranges[split.offsets[-2]:split.offsets[-1]]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    pair_start = len(tokens) - 1 - tokens[::-1].index("</s>", 1)  # the pair follows the text's separators
    assert (ranges[pair_start:] == -1).all() and (ranges[0] == -1).all()
    assert (split.tags[split.offsets[-2]:split.offsets[-1]][ranges[:, 0] < 0] == IGNORE).all()


def test_tags_and_characters_survive_subset_save_and_load(split, tmp_path):
    split, _ = split
    split.save(tmp_path / "train.safetensors")
    loaded = TokenizedSplit.load(tmp_path / "train.safetensors")
    assert torch.equal(loaded.tags, split.tags) and torch.equal(loaded.char_ranges, split.char_ranges)
    part = loaded.subset([len(split) - 1, 0])
    assert torch.equal(part.tags[:int(part.lengths[0])], split.tags[split.offsets[-2]:split.offsets[-1]])
    assert torch.equal(part.char_ranges[:int(part.lengths[0])], split.char_ranges[split.offsets[-2]:split.offsets[-1]])


def test_a_batch_pads_tags_with_ignore_and_a_token_classifier_trains_on_it(split, tiny_model_folder):
    split, _ = split
    ids, mask, tags = split.collate([0, len(split) - 1])
    assert tags.shape == ids.shape and (tags[mask == 0] == IGNORE).all()
    model = AutoModelForTokenClassification.from_pretrained(str(tiny_model_folder("roberta")), num_labels=5)
    logits = model(input_ids=ids, attention_mask=mask).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 5), tags.reshape(-1), ignore_index=IGNORE)
    loss.backward()
    assert torch.isfinite(loss) and model.classifier.weight.grad.abs().sum() > 0


def test_a_models_outputs_cover_every_character_of_a_long_text(split, tiny_model_folder):
    split, _ = split
    model = AutoModelForTokenClassification.from_pretrained(str(tiny_model_folder("roberta")), num_labels=5).eval()
    with torch.no_grad():
        outputs = [model(input_ids=split[k][None].long()).logits[0].softmax(-1).numpy() for k in range(len(split))]
    chars = character_outputs(len(LONG), window_outputs(split, outputs)[0])
    letters = np.array([not c.isspace() for c in LONG])
    assert not np.isnan(chars[letters]).any() and np.isnan(chars[~letters]).all()
    np.testing.assert_allclose(chars[letters].sum(axis=1), 1.0, atol=1e-5)


def test_a_tokenizer_without_offsets_is_refused_in_one_sentence():
    slow = type("SlowTokenizer", (), {"is_fast": False})()  # transformers 5 loads fast ones wherever they exist
    with pytest.raises(SpanEncodingError, match="^a span task needs a fast tokenizer .*SlowTokenizer is not one"):
        span_split(["a text"], slow, 16, [""])


def test_a_pair_that_leaves_a_window_no_room_past_the_stride_is_refused_naming_its_row(tokenizer):
    pairs = ["negative", "a feature described at such length that it fills the window"]
    with pytest.raises(SpanEncodingError, match=r"row 2's pair 'a feature described.*raise max_length"):
        span_split([SHORT, SHORT], tokenizer, 16, TYPES, pairs=pairs)
