"""Spans and tokens (fasthf.encoding.span_tokens) and spans decoded from units' outputs (fasthf.outputs.span_decoding):
character spans tagged on the tokens of every tokenizer kind, and the tags, read back through characters and
words, decoding to the same spans; long texts in windows; the decoding rules on hand-made outputs."""
import numpy as np
import pytest
from transformers import AutoTokenizer

from fasthf.encoding.span_tokens import (IGNORE, character_outputs, tag_names, token_ranges, token_tags, unit_outputs,
                                         word_ranges)
from fasthf.encoding.windows import encode_windows
from fasthf.inputs.span_labels import Span
from fasthf.outputs.span_decoding import DecodedSpan, decode_spans

TEXT = " Sooo SAD I will miss you here in San Diego!!!"  # a leading space, as many tweets have
TYPES = ["NAME", "PLACE"]


def span_of(text, piece, kind=""):
    start = text.index(piece)
    return Span(start, start + len(piece), kind)


def one_hot(tags, n):
    """Tags as the outputs a perfect model would give: 1 on the tag, tokens without a tag left out."""
    outputs = np.zeros((len(tags), n))
    outputs[np.arange(len(tags))[tags >= 0], tags[tags >= 0]] = 1
    return outputs


def read_back(text, windows, n_tags, types, **decode):
    chars = character_outputs(len(text), windows)
    words = word_ranges(text)
    return decode_spans(unit_outputs(chars, words), words, types, **decode)


@pytest.mark.parametrize("arch", ["bert", "roberta", "deberta-v2", "xlnet"])
def test_typed_spans_tagged_on_each_tokenizers_tokens_decode_back_to_themselves(arch, tiny_model_folder):
    """WordPiece, byte-level BPE (offsets after "Ġ"), SentencePiece (offsets over the space before a word) and
    XLNet's (a lone "▁" on the next character): the leading space never enters a span."""
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_folder(arch)))
    spans = [span_of(TEXT, "Sooo SAD", "NAME"), span_of(TEXT, "San Diego!!!", "PLACE")]
    encoded = tokenizer(TEXT, "negative", return_offsets_mapping=True)
    ranges = token_ranges(TEXT, encoded["offset_mapping"], [s == 0 for s in encoded.sequence_ids()])
    covered = ranges[ranges[:, 0] >= 0]
    assert all(not TEXT[s].isspace() for s, _ in covered) and (covered[:, 1] > covered[:, 0]).all()
    tags = token_tags(spans, ranges, TYPES)
    names = tag_names(TYPES)
    b_starts = {int(r[0]) for t, r in zip(tags, ranges) if t != IGNORE and names[t] == "B-NAME"}
    assert b_starts == {TEXT.index("Sooo")}  # XLNet's lone "▁" reads the same character as the word after it
    assert all(t == IGNORE for t, s in zip(tags, encoded.sequence_ids()) if s != 0)  # the pair and special tokens

    decoded = read_back(TEXT, [(ranges, one_hot(tags, len(names)))], len(names), TYPES, split_at_b=True)

    assert decoded == [DecodedSpan(s.start, s.end, s.type) for s in spans]


def test_untyped_tags_are_o_b_i():
    assert tag_names([""]) == ["O", "B", "I"]
    assert tag_names(TYPES) == ["O", "B-NAME", "I-NAME", "B-PLACE", "I-PLACE"]


def test_a_text_five_times_max_length_in_windows_has_every_character_covered_and_decodes_back(tiny_model_folder):
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_folder("roberta")))
    sentence = "the film is good and the acting is fine , but the plot drags on and on ."
    text = " ".join([sentence] * 12) + " Sooo SAD"
    max_length, stride = 24, 8
    assert len(tokenizer(text)["input_ids"]) > 5 * max_length
    spans = [span_of(text, "plot drags"), span_of(text, "Sooo SAD")]
    windows = encode_windows(tokenizer, [text], max_length, stride, offsets=True)
    assert len(windows["input_ids"]) > 5
    read = []
    for offsets in windows["offset_mapping"]:
        ranges = token_ranges(text, offsets)
        read.append((ranges, one_hot(token_tags(spans, ranges, [""]), 3)))

    chars = character_outputs(len(text), read)
    assert not np.isnan(chars[[not c.isspace() for c in text]]).any()  # every character read by some window

    assert read_back(text, read, 3, [""]) == [DecodedSpan(s.start, s.end, "") for s in spans]


def test_a_characters_outputs_are_the_mean_over_the_windows_that_read_it():
    first = (np.array([[0, 3], [4, 6]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    second = (np.array([[4, 6], [-1, -1], [7, 9]]), np.array([[1.0, 0.0], [5.0, 5.0], [0.5, 0.5]]))
    chars = character_outputs(9, [first, second])
    np.testing.assert_allclose(chars[[0, 2, 4, 5, 7, 8]], [[1, 0], [1, 0], [.5, .5], [.5, .5], [.5, .5], [.5, .5]])
    assert np.isnan(chars[[3, 6]]).all()  # read by no token: the spaces


def test_words_are_split_on_whitespace_only():
    text = " re GORGEOU,  d\nmissed"
    assert [text[s:e] for s, e in word_ranges(text)] == ["re", "GORGEOU,", "d", "missed"]


def probs(*inside, types=1, b=None):
    """Unit outputs with P(inside) as given (None: a unit without outputs), all on type 0's I- (B- where `b`)."""
    out = np.zeros((len(inside), 1 + 2 * types))
    for k, p in enumerate(inside):
        if p is None:
            out[k] = np.nan
            continue
        out[k, 0] = 1 - p
        out[k, 1 if b and k in b else 2] = p
    return out


UNITS = np.array([[0, 2], [3, 5], [6, 8], [9, 11], [12, 14]])


def test_consecutive_inside_units_are_one_span_bridging_units_without_outputs():
    assert decode_spans(probs(0.9, None, 0.7, 0.2, 0.6), UNITS, [""]) == [DecodedSpan(0, 8, ""), DecodedSpan(12, 14, "")]


def test_a_b_splits_two_adjacent_typed_spans_only_when_asked():
    outputs = probs(0.9, 0.9, 0.9, 0.1, 0.1, b={0, 2})
    assert decode_spans(outputs, UNITS, ["NAME"], split_at_b=True) == [DecodedSpan(0, 5, "NAME"), DecodedSpan(6, 8, "NAME")]
    assert decode_spans(outputs, UNITS, ["NAME"]) == [DecodedSpan(0, 8, "NAME")]


def test_a_change_of_type_ends_a_span():
    outputs = np.array([[0.1, 0.0, 0.9, 0.0, 0.0], [0.1, 0.0, 0.0, 0.0, 0.9], [0.9, 0.0, 0.1, 0.0, 0.0]])
    assert decode_spans(outputs, UNITS[:3], TYPES) == [DecodedSpan(0, 2, "NAME"), DecodedSpan(3, 5, "PLACE")]


def test_the_threshold_decides_what_is_inside():
    outputs = probs(0.4, 0.45, 0.2, 0.1, 0.1)
    assert decode_spans(outputs, UNITS, [""]) == []
    assert decode_spans(outputs, UNITS, [""], threshold=0.3) == [DecodedSpan(0, 5, "")]


def test_one_span_is_the_run_with_the_largest_margin_and_never_empty():
    assert decode_spans(probs(0.9, 0.4, 0.9, 0.9, 0.1), UNITS, [""], one=True) == [DecodedSpan(0, 11, "")]
    assert decode_spans(probs(0.9, 0.1, 0.8, 0.8, 0.1), UNITS, [""], one=True) == [DecodedSpan(6, 11, "")]
    assert decode_spans(probs(0.1, 0.3, 0.2, 0.1, None), UNITS, [""], one=True) == [DecodedSpan(3, 5, "")]


def test_a_text_without_outputs_has_no_spans():
    assert decode_spans(probs(None, None), UNITS[:2], [""]) == []
