"""Shared encoding (fasthf.encoding.shared, fasthf.models.shared_head): finding each row's span in its group's encoding, the
split's batches, and the span model's outputs against reading each row on its own."""
import numpy as np
import pytest
import torch

from fasthf.encoding.shared import GroupedSplit, tokenize_groups, word_aligned_find
from fasthf.encoding.shared_checks import SharedEncodingError, check_shared_encoding
from helpers import MINILM, SENTIMENT_TASK, label_names, sentiment

SENTENCE = "the film is not good , not bad ; the film is fine"


def spans_read(split, tokenizer):
    """{row: its span's tokens, space-separated} for every row of `split`."""
    return {int(row): " ".join(tokenizer.convert_ids_to_tokens(split.units[int(unit)][int(start):int(end)].tolist()))
            for row, unit, start, end in zip(split.rows, split.unit, split.start, split.end)}


def test_a_piece_is_found_only_where_whitespace_or_the_ends_bound_it():
    assert word_aligned_find("not good , not bad", "not bad") == 11
    assert word_aligned_find("a nothing to see", "no") == -1       # inside a word
    assert word_aligned_find("goodness , good", "good") == 11     # the first word-aligned place, not the first place
    assert word_aligned_find("good", "good") == 0
    assert word_aligned_find("good film", "film ,") == -1


def test_rows_are_read_from_their_groups_encoding_word_aligned(minilm):
    _, tokenizer = minilm
    texts = [SENTENCE, "not good", "not bad", "the film is fine", "film", "the", "not"]
    split, counts = tokenize_groups(texts, [7] * len(texts), tokenizer, 128)
    assert counts["found_as_spans"] == len(texts) and counts["encoded_alone"] == 0 and counts["units"] == 1
    read = spans_read(split, tokenizer)
    assert read == {i: " ".join(tokenizer.tokenize(text)) for i, text in enumerate(texts)}
    # a piece that occurs twice ("the film is", "not") is read where it first occurs, the sentence's own
    # tokens: the same start for both rows of the repeated word
    starts = dict(zip(split.rows.tolist(), split.start.tolist()))
    assert starts[5] == starts[0] == 1 and starts[6] == 4


def test_rows_not_found_in_their_group_are_encoded_alone_and_counted(minilm):
    _, tokenizer = minilm
    texts = [SENTENCE, "fil", "a text from elsewhere", "", "bad"]
    split, counts = tokenize_groups(texts, [1, 1, 1, 1, 1], tokenizer, 128, labels=np.array([0, 1, 2, 3, 4]))
    assert counts["found_as_spans"] == 2 and counts["encoded_alone"] == 3 and counts["units"] == 4
    assert sorted(split.rows.tolist()) == [0, 1, 2, 3, 4]  # none dropped
    read = spans_read(split, tokenizer)
    assert read[1] == "fi ##l" and read[2] == "a text from elsewhere" and read[4] == "bad"
    assert read[3] == "[CLS] [SEP]"  # an empty text is read from its special tokens
    labels = dict(zip(split.rows.tolist(), split.labels.tolist()))
    assert labels == {0: 0, 1: 1, 2: 2, 3: 3, 4: 4}  # each row keeps its own label


def test_rows_past_max_length_fall_back_and_are_counted(minilm):
    _, tokenizer = minilm
    long = " ".join(f"word{i}" for i in range(40))  # "word", "##12": two tokens a word
    texts = [long, "word1 word2", "word38 word39"]
    split, counts = tokenize_groups(texts, [0, 0, 0], tokenizer, 16)
    # the group's text is cut to 16 tokens: the row inside them is read from it, the one past them alone,
    # and so is the group's own longest row, which does not fit whole
    assert counts["found_as_spans"] == 1 and counts["past_max_length"] == 2 and counts["encoded_alone"] == 2
    assert split.lengths.max() <= 16
    read = spans_read(split, tokenizer)
    assert read[1] == " ".join(tokenizer.tokenize("word1 word2"))
    assert read[2] == " ".join(tokenizer.tokenize("word38 word39"))  # read alone, whole


def test_batches_hold_each_units_rows_and_subsets_keep_only_what_they_read(minilm, tmp_path):
    from fasthf.encoding.tensor_cache import load_split

    _, tokenizer = minilm
    texts = [SENTENCE, "not good", "a film", "film", "dull"]
    split, _ = tokenize_groups(texts, ["a", "a", "b", "b", "c"], tokenizer, 64, labels=np.array([0, 1, 2, 3, 4]))
    assert len(split) == 3 and len(split.rows) == 5
    ids, mask, types, spans, labels = split.collate([2, 0])
    positions = split.positions([2, 0])
    assert spans[:, 0].tolist() == [0, 1, 1] and labels.tolist() == split.labels[positions].tolist()
    assert (spans[:, 2] <= mask.sum(1)[spans[:, 0]]).all()
    part = split.subset(np.flatnonzero(np.isin(split.rows.numpy(), [1, 4])))
    assert len(part) == 2 and sorted(part.rows.tolist()) == [1, 4]
    split.save(tmp_path / "t.safetensors")
    again = load_split(tmp_path / "t.safetensors")
    assert isinstance(again, GroupedSplit)
    assert all(torch.equal(a, b) for a, b in zip(again.collate([0, 1, 2]), split.collate([0, 1, 2])))


def test_left_padding_moves_the_spans_with_the_tokens(minilm):
    from dataclasses import replace

    _, tokenizer = minilm
    split, _ = tokenize_groups([SENTENCE, "not bad", "dull"], [0, 0, 1], tokenizer, 64)
    split.units.padding = replace(split.padding, side="left")
    ids, mask, _, spans = split.collate([0, 1])
    for place, start, end in spans.tolist():
        assert mask[place, start:end].all()
    read = [tokenizer.convert_ids_to_tokens(ids[p, s:e].tolist()) for p, s, e in spans.tolist()]
    assert sorted(read) == sorted(tokenizer.tokenize(t) for t in [SENTENCE, "not bad", "dull"])


def test_each_rows_outputs_come_back_in_row_order_as_reading_it_alone_gives(minilm):
    """A span model's outputs for each phrase, in row order: the rows of one sentence read from its one
    encoding agree with the same model reading each row as its own group (its own encoding) exactly
    where the row is the whole sentence, and every row's outputs land on its own row."""
    from fasthf.models.shared_head import with_span_head
    from fasthf.outputs.prediction import by_row_number, predict_probs

    model, tokenizer = minilm
    torch.manual_seed(0)
    span_model = with_span_head(model).eval()
    texts = ["not good", SENTENCE, "dull", "the film is fine", "a dull film", "dull film"]
    groups = [0, 0, 1, 0, 2, 2]
    grouped, each_alone = (tokenize_groups(texts, g, tokenizer, 64)[0] for g in (groups, range(len(texts))))
    assert grouped.rows.tolist() != sorted(grouped.rows.tolist())  # stored unit by unit, not in row order
    shared = by_row_number(grouped, predict_probs(span_model, grouped, 2, precision="no"))
    alone = by_row_number(each_alone, predict_probs(span_model, each_alone, 2, precision="no"))
    assert shared.shape == (len(texts), 5) and torch.allclose(shared.sum(1), torch.ones(len(texts)))
    whole = [1, 2, 4]  # each its group's text: the same encoding either way
    assert torch.allclose(shared[whole], alone[whole], atol=1e-5)
    assert not torch.allclose(shared[0], alone[0], atol=1e-4)  # read inside its sentence, it sees the sentence


def test_a_span_checkpoint_saves_and_loads_with_its_head(minilm, tmp_path):
    from fasthf.models.architectures import load_checkpoint
    from fasthf.models.shared_head import SpanModel, with_span_head
    from fasthf.outputs.prediction import predict_probs

    model, tokenizer = minilm
    torch.manual_seed(1)
    span_model = with_span_head(model, "attention").eval()
    span_model.save_pretrained(tmp_path / "ckpt")
    loaded = load_checkpoint(tmp_path / "ckpt", n_labels=5)
    assert isinstance(loaded, SpanModel) and loaded.head.pooling == "attention"
    split, _ = tokenize_groups([SENTENCE, "not bad"], [0, 0], tokenizer, 64)
    assert torch.equal(predict_probs(span_model, split, precision="no"), predict_probs(loaded, split, precision="no"))


def test_the_span_head_is_the_head_group(minilm):
    from fasthf.models.architectures import layer_groups
    from fasthf.models.shared_head import with_span_head

    model, _ = minilm
    span_model = with_span_head(model)
    groups = layer_groups(span_model)
    assert len(groups) == 8  # embeddings, six layers, head: as reading row by row
    assert {id(p) for p in span_model.head.parameters()} <= {id(p) for p in groups[-1]}
    assert not {id(p) for p in span_model.head.parameters()} & {id(p) for g in groups[:-1] for p in g}


def test_shared_encoding_is_refused_where_it_does_not_apply_in_one_sentence():
    from dataclasses import replace

    competition, task = sentiment()
    check_shared_encoding(competition, task)  # a group column, one text, single-label classification
    for changed, words in ((replace(competition, group=None), "needs competition.group"),
                           (replace(competition, text_pair="SentenceId"), "one text column"),
                           (replace(competition, task="multilabel"), "not to a multilabel task")):
        with pytest.raises(SharedEncodingError, match=words) as error:
            check_shared_encoding(changed)
        assert str(error.value).count(". ") == 0 and "\n" not in str(error.value)


def test_a_span_model_is_refused_on_tensors_encoded_row_by_row(minilm):
    from fasthf.encoding.tensors import tokenize_split
    from fasthf.models.architectures import CheckpointError
    from fasthf.models.shared_head import with_span_head
    from fasthf.training.recipe import TrainSettings
    from fasthf.training.stages import with_head_for

    model, tokenizer = minilm
    rows, _ = tokenize_split(["dull"], tokenizer, 16)
    with pytest.raises(CheckpointError, match="encode: group"):
        with_head_for(rows, with_span_head(model), TrainSettings(), "stage/1/model")
    assert SENTIMENT_TASK.reads_spans


def test_read_alone_reads_again_only_the_rows_read_inside_a_longer_text_of_their_group(minilm):
    """`alone_readings`: each row found inside its group's longer text, encoded as its own unit and numbered as in
    the file; a group's own text, a row not found in it, or an empty one has no second reading."""
    from fasthf.encoding.shared import alone_readings

    _, tokenizer = minilm
    texts = [SENTENCE, "not good", "a text from elsewhere", "dull", "", "the film is fine", "a dull film", "dull"]
    groups = [0, 0, 0, 1, 0, 0, 2, 2]
    split, counts = alone_readings(texts, groups, tokenizer, 64, labels=np.arange(len(texts)))
    assert sorted(split.rows.tolist()) == [1, 5, 7]
    assert counts == {"rows": 8, "read_alone": 3, "tokens_encoded": int(split.lengths.sum())}
    assert len(split.units) == 3  # each its own encoding
    read = spans_read(split, tokenizer)
    assert read == {1: "not good", 5: "the film is fine", 7: "dull"}
    assert dict(zip(split.rows.tolist(), split.labels.tolist())) == {1: 1, 5: 5, 7: 7}  # each keeps its own label


def test_read_alone_without_shared_encoding_is_refused_in_one_sentence():
    from fasthf.encoding.shared_checks import check_read_alone

    check_read_alone("group", True)
    check_read_alone("row", False)
    with pytest.raises(SharedEncodingError, match="with encode: row every row is read alone already"):
        check_read_alone("row", True)
