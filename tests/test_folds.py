"""Folds: sentence-grouped, every training phrase held out exactly once, the same table for every chain."""
import numpy as np
import pandas as pd
import pytest

from fasthf.data import DataError, read_train, split_by_sentence
from fasthf.folds import NEVER_HELD_OUT, FoldData, assign_folds, held_out_mask


@pytest.fixture(scope="module")
def train(competition_files):
    return read_train(competition_files["train"])


@pytest.mark.parametrize("k", [2, 5])
def test_folds_are_sentence_disjoint_and_cover_every_phrase_once(train, k):
    table = assign_folds(train, k, 0.1, seed=7)
    assert table.PhraseId.tolist() == train.PhraseId.tolist()  # one row per training phrase
    assert sorted(table.fold.unique()) == list(range(k))  # no phrase left out (-1), none elsewhere
    assert (table.groupby("SentenceId").fold.nunique() == 1).all()  # a sentence never on two sides
    sizes = table.fold.value_counts()
    assert sizes.min() > 0.5 * len(table) / k  # folds of comparable size
    held_out = [set(table.PhraseId[table.fold == f]) for f in range(k)]
    assert sum(map(len, held_out)) == len(set().union(*held_out)) == len(train)


def test_folds_depend_on_the_seed_only(train):
    assert assign_folds(train, 3, 0.1, seed=1).equals(assign_folds(train, 3, 0.1, seed=1))
    assert not assign_folds(train, 3, 0.1, seed=1).fold.equals(assign_folds(train, 3, 0.1, seed=2).fold)


def test_one_fold_is_the_held_out_split_of_valid_fraction(train):
    table = assign_folds(train, 1, 0.1, seed=42)
    _, valid = split_by_sentence(train, 0.1, 42)  # the split every earlier run used
    assert set(table.PhraseId[table.fold == 0]) == set(valid.PhraseId)
    assert set(table.fold) == {0, NEVER_HELD_OUT}


def test_more_folds_than_sentences_is_refused(train):
    with pytest.raises(DataError, match="more than the .* sentences"):
        assign_folds(train.head(5), 50, 0.1, seed=0)


def test_fold_data_splits_the_tokenized_phrases_by_the_table(tmp_path, competition_files, minilm):
    from fasthf.tensors import prepare_tensors

    prepare_tensors(competition_files["train"], competition_files["test"], minilm[1], tmp_path, 64)
    table = assign_folds(read_train(competition_files["train"]), 2, 0.1, seed=0)
    table.to_csv(tmp_path / "folds.csv", index=False)
    for fold in (0, 1):
        train_side, held_out = FoldData(str(tmp_path / "train.safetensors"), str(tmp_path / "folds.csv"), fold).load()
        assert set(held_out.phrase_ids.tolist()) == set(table.PhraseId[table.fold == fold])
        assert set(train_side.phrase_ids.tolist()) == set(table.PhraseId[table.fold != fold])
        labels = read_train(competition_files["train"]).set_index("PhraseId").Sentiment
        assert held_out.labels.tolist() == labels.loc[held_out.phrase_ids.numpy()].tolist()
    with pytest.raises(DataError, match="not in the folds table"):
        held_out_mask(table.iloc[1:], table.PhraseId.to_numpy(), 0)


def test_subset_keeps_each_text_whole(minilm):
    from fasthf.tensors import tokenize_split

    frame = pd.DataFrame({"PhraseId": [1, 2, 3], "Phrase": ["a fine film", "dull", "not good at all"],
                          "Sentiment": [3, 1, 0]})
    split, _ = tokenize_split(frame, minilm[1], 32)
    part = split.subset(np.array([2, 0]))
    assert [t.tolist() for t in (part[0], part[1])] == [split[2].tolist(), split[0].tolist()]
    assert part.phrase_ids.tolist() == [3, 1] and part.labels.tolist() == [0, 3]
