"""Token ids cached ragged: batches padded on the tokenizer's side with a mask from the lengths, the
tokenizer's own special tokens, truncation counted, the round trip through safetensors."""
import torch

from helpers import ragged, read_test, read_train, sentiment
from fasthf.encoding.tensor_cache import prepare_tensors
from fasthf.encoding.tensors import Padding, TokenizedSplit, tokenize_split


def test_collate_pads_right_with_mask_from_lengths():
    # Token 0 is the pad id *and* a real token in row 0: the mask must still count it.
    split = ragged([[5, 0, 7], [8]], labels=[1, 4])
    ids, mask, labels = split.collate([0, 1])
    assert ids.tolist() == [[5, 0, 7], [8, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert labels.tolist() == [1, 4]


def test_collate_pads_left_and_pads_token_types_with_their_own_id():
    split = ragged([[5, 6, 7], [8]], padding=Padding(9, 3, "left"), types=[[0, 0, 2], [2]])
    ids, mask, types = split.collate([1, 0])
    assert ids.tolist() == [[9, 9, 8], [5, 6, 7]]
    assert mask.tolist() == [[0, 0, 1], [1, 1, 1]]
    assert types.tolist() == [[3, 3, 2], [0, 0, 2]]


def test_cached_split_round_trips(tmp_path):
    split = ragged([[1, 2], [3], [4, 5, 6]], padding=Padding(1, 0, "left"), labels=[0, 1, 2], types=[[0, 0], [0], [0, 1, 1]])
    split.save(tmp_path / "s.safetensors")
    back = TokenizedSplit.load(tmp_path / "s.safetensors")
    assert back.padding == split.padding
    for a, b in zip(back.collate([0, 1, 2]), split.collate([0, 1, 2])):
        assert torch.equal(a, b)


def test_prepare_tensors_tokenizes_with_the_tokenizers_special_tokens(competition_files, minilm, tmp_path):
    _, tokenizer = minilm
    summary = prepare_tensors(competition_files["train"], competition_files["test"], tokenizer, tmp_path,
                              128, *sentiment())
    test = TokenizedSplit.load(tmp_path / "test.safetensors")
    frame = read_test(competition_files["test"])
    assert summary["splits"]["test"]["texts"] == len(frame) == len(test)
    assert test.rows.tolist() == list(range(len(frame)))
    none_row = frame.index[frame.Phrase == "None"][0]
    assert tokenizer.decode(test[none_row]) == "[CLS] none [SEP]"
    empty_row = frame.index[frame.Phrase.str.strip() == ""][0]
    assert test[empty_row].tolist() == [tokenizer.cls_token_id, tokenizer.sep_token_id]
    train = TokenizedSplit.load(tmp_path / "train.safetensors")  # every training phrase: the folds pick rows
    train_frame = read_train(competition_files["train"])
    assert train.rows.tolist() == list(range(len(train_frame)))
    assert train.labels.tolist() == train_frame.Sentiment.tolist()
    assert summary["splits"]["train"]["truncated"] == 0


def test_long_texts_are_truncated_and_counted(minilm):
    _, tokenizer = minilm
    split, n_truncated = tokenize_split(["word " * 50, "short"], tokenizer, max_length=16)
    assert n_truncated == 1
    assert split.lengths.tolist() == [16, 3]
    assert split[0][-1].item() == tokenizer.sep_token_id  # truncation keeps the closing special token


def test_max_length_is_capped_at_the_models_own(minilm, caplog):
    _, tokenizer = minilm
    assert tokenizer.model_max_length == 512
    split, n_truncated = tokenize_split(["word " * 600, "short"], tokenizer, max_length=1024)
    assert n_truncated == 1 and split.lengths.tolist() == [512, 3]  # not 602: past the position embeddings
    assert "max_length=1024 is longer than this model takes (512 tokens): using 512" in caplog.text
