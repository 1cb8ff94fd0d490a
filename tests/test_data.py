import numpy as np
import pytest
import torch

from conftest import read_test, read_train, sentiment
from fasthf.data import DataError, held_out_groups
from fasthf.loaders import TokenBatchDL
from fasthf.tensors import Padding, TokenizedSplit, prepare_tensors, tokenize_split


def write_tsv(path, text):
    path.write_text(text)
    return path


def test_phrases_that_look_like_missing_values_stay_text(tmp_path):
    path = write_tsv(tmp_path / "test.tsv", "PhraseId\tSentenceId\tPhrase\n1\t1\tNone\n2\t1\tNA\n"
                                            "3\t1\tnull\n4\t1\tnan\n5\t2\t \n6\t2\t\n")
    frame = read_test(path)
    assert frame.Phrase.tolist() == ["None", "NA", "null", "nan", " ", ""]
    assert frame.Phrase.map(type).eq(str).all()


def test_fixture_keeps_the_real_none_and_empty_phrases(competition_files):
    test = read_test(competition_files["test"])
    assert "None" in set(test.Phrase)
    assert (test.Phrase.str.strip() == "").any()
    train = read_train(competition_files["train"])
    assert len(train) > 2000 and set(train.Sentiment) == {0, 1, 2, 3, 4}


def test_missing_column_is_named(tmp_path):
    path = write_tsv(tmp_path / "train.tsv", "PhraseId\tSentenceId\tText\tSentiment\n1\t1\ta\t2\n")
    with pytest.raises(DataError, match=r"train\.tsv.*missing column.*'Phrase'"):
        read_train(path)


@pytest.mark.parametrize("label, message", [("7", "outside 0-4"), ("x", "not a whole number"), ("2.5", "not a whole number")])
def test_bad_label_names_file_row_and_column(tmp_path, label, message):
    path = write_tsv(tmp_path / "train.tsv", f"PhraseId\tSentenceId\tPhrase\tSentiment\n1\t1\ta\t2\n2\t1\tb\t{label}\n")
    competition, _ = sentiment()
    with pytest.raises(DataError, match=rf"train\.tsv: line 3: column 'Sentiment'.*{message}"):
        competition.fit(read_train(path), path=str(path))


def test_duplicate_phrase_ids_are_refused(tmp_path):
    path = write_tsv(tmp_path / "test.tsv", "PhraseId\tSentenceId\tPhrase\n1\t1\ta\n1\t1\tb\n")
    with pytest.raises(DataError, match="line 3: column 'PhraseId': 1 appears twice"):
        read_test(path)


def test_validation_split_keeps_sentences_whole_and_is_seeded(competition_files):
    train = read_train(competition_files["train"])
    held_out = held_out_groups(train.SentenceId.to_numpy(), 0.2, seed=7)
    fit, valid = train[~held_out], train[held_out]
    assert not set(fit.SentenceId) & set(valid.SentenceId)
    assert valid.SentenceId.nunique() == round(train.SentenceId.nunique() * 0.2)
    assert (held_out_groups(train.SentenceId.to_numpy(), 0.2, seed=7) == held_out).all()
    assert (held_out_groups(train.SentenceId.to_numpy(), 0.2, seed=8) != held_out).any()


def ragged(rows, padding=Padding(0, 3, "right"), labels=None, types=None):
    lengths = [len(r) for r in rows]
    return TokenizedSplit(
        input_ids=torch.tensor([t for r in rows for t in r], dtype=torch.int32),
        offsets=torch.tensor(np.concatenate([[0], np.cumsum(lengths)]), dtype=torch.int64),
        rows=torch.arange(len(rows)), padding=padding,
        labels=None if labels is None else torch.tensor(labels),
        token_type_ids=None if types is None else torch.tensor([t for r in types for t in r], dtype=torch.int8))


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


def test_sorted_batches_are_longest_first_and_sortish_covers_every_item_once():
    rng = np.random.default_rng(0)
    rows = [[1] * int(n) for n in rng.integers(1, 40, size=1000)]
    split = ragged(rows, labels=[0] * len(rows))
    sorted_dl = TokenBatchDL(split, bs=32, shuffle=False)
    widths = [batch[0].shape[1] for batch in sorted_dl]
    assert widths == sorted(widths, reverse=True)
    shuffled = TokenBatchDL(split, bs=32, shuffle=True)
    idxs = list(shuffled.get_idxs())
    assert sorted(idxs) == list(range(len(rows)))
    assert idxs != sorted(idxs, key=lambda i: -len(rows[i]))
    real = sum(int(b[1].sum()) for b in shuffled)
    padded = sum(b[1].numel() for b in shuffled)
    assert real / padded > 0.9  # sortish batches: little padding, unlike random batches
    random_batches = [idxs_ for idxs_ in np.array_split(rng.permutation(len(rows)), len(rows) // 32)]
    random_padded = sum(len(b) * max(len(rows[i]) for i in b) for b in random_batches)
    assert real / random_padded < 0.7


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


def test_csv_rows_are_named_by_the_line_they_start_on(tmp_path):
    from fasthf.data import line_of, read_csv_table

    path = tmp_path / "train.csv"
    path.write_text('id,text,label\n1,"two\nlines",0\n\n   \n2,plain,1\n3,"x",oops\n')
    frame = read_csv_table(path, ["id", "text", "label"])
    assert frame.text.tolist() == ["two\nlines", "plain", "x"]
    assert [line_of(frame, row) for row in range(len(frame))] == [2, 6, 7]  # not the record's place (2, 3, 4)
    path.write_text('id,text,label\n1,"two\nlines",0\nid,text,label\n')
    with pytest.raises(DataError, match="line 4 repeats the header line"):
        read_csv_table(path, ["id", "text", "label"])
