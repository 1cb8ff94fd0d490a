"""Folds: grouped (by sentence) or stratified, every training row held out exactly once, the same table for every chain."""
import numpy as np
import pytest

from helpers import read_train, sentiment
from fasthf.inputs.data import DataError
from fasthf.inputs.folds import held_out_groups
from fasthf.inputs.folds import MONITOR_ROWS, NEVER_HELD_OUT, FoldData, assign_folds, fold_number, held_out_mask


@pytest.fixture(scope="module")
def train(competition_files):
    return read_train(competition_files["train"])


def folds_of(train, k, seed, valid_fraction=0.1):
    return assign_folds(train.PhraseId, train.SentenceId.to_numpy(), k, valid_fraction, seed)


@pytest.mark.parametrize("k", [2, 5])
def test_folds_are_sentence_disjoint_and_cover_every_phrase_once(train, k):
    table = folds_of(train, k, seed=7)
    assert table.id.tolist() == train.PhraseId.tolist()  # one row per training phrase
    assert table.row.tolist() == list(range(len(train)))
    assert sorted(table.fold.unique()) == list(range(k))  # no phrase left out (-1), none elsewhere
    assert (table.groupby("group").fold.nunique() == 1).all()  # a sentence never on two sides
    sizes = table.fold.value_counts()
    assert sizes.min() > 0.5 * len(table) / k  # folds of comparable size
    held_out = [set(table.row[table.fold == f]) for f in range(k)]
    assert sum(map(len, held_out)) == len(set().union(*held_out)) == len(train)


def test_without_groups_single_label_folds_are_stratified(train):
    labels = train.Sentiment.to_numpy()
    table = assign_folds(train.PhraseId, np.arange(len(train)), 3, 0.1, 0, labels)
    shares = np.array([np.bincount(labels[table.fold == f], minlength=5) / (table.fold == f).sum() for f in range(3)])
    overall = np.bincount(labels, minlength=5) / len(labels)
    assert np.abs(shares - overall).max() < 0.01  # each fold has the file's share of every class
    assert sorted(table.fold.unique()) == [0, 1, 2]


def test_folds_depend_on_the_seed_only(train):
    assert folds_of(train, 3, seed=1).equals(folds_of(train, 3, seed=1))
    assert not folds_of(train, 3, seed=1).fold.equals(folds_of(train, 3, seed=2).fold)


def test_one_fold_is_the_held_out_split_of_valid_fraction(train):
    table = folds_of(train, 1, seed=42)
    valid = held_out_groups(train.SentenceId.to_numpy(), 0.1, 42)  # the split every earlier run used
    assert set(table.row[table.fold == 0]) == set(np.flatnonzero(valid))
    assert set(table.fold) == {0, NEVER_HELD_OUT}


def test_more_folds_than_sentences_is_refused(train):
    with pytest.raises(DataError, match="more than the .* groups"):
        folds_of(train.head(5), 50, seed=0)


def test_fold_data_splits_the_tokenized_rows_by_the_table(tmp_path, competition_files, minilm):
    from fasthf.encoding.tensor_cache import prepare_tensors

    prepare_tensors(competition_files["train"], competition_files["test"], minilm[1], tmp_path, 64, *sentiment())
    train = read_train(competition_files["train"])
    table = folds_of(train, 2, seed=0)
    table.to_csv(tmp_path / "folds.csv", index=False)
    for fold in (0, 1):
        train_side, held_out = FoldData(str(tmp_path / "train.safetensors"), str(tmp_path / "folds.csv"), fold).load()
        assert set(held_out.rows.tolist()) == set(table.row[table.fold == fold])
        assert set(train_side.rows.tolist()) == set(table.row[table.fold != fold])
        assert held_out.labels.tolist() == train.Sentiment.to_numpy()[held_out.rows.numpy()].tolist()
    with pytest.raises(DataError, match="come from different training files"):
        held_out_mask(table.iloc[1:], table.row.to_numpy(), 0)
    # A refit trains on every row; its "validation" is a fixed sample of training rows, for watching only
    refit = FoldData(str(tmp_path / "train.safetensors"), str(tmp_path / "folds.csv"), fold_number("refit"))
    train_side, monitor = refit.load()
    assert not refit.holds_out and len(refit.held_out()) == 0
    assert train_side.rows.tolist() == table.row.tolist()
    assert len(monitor) == min(MONITOR_ROWS, len(table)) and set(monitor.rows.tolist()) <= set(table.row)
    assert monitor.rows.tolist() == refit.load()[1].rows.tolist()  # the same rows on every stage


def test_a_chains_split_names_its_fold_or_the_refit():
    assert fold_number("fold0") == 0 and fold_number("fold12") == 12 and fold_number("refit") is None
    with pytest.raises(ValueError, match="fold<k> or refit"):
        fold_number("all")


def test_subset_keeps_each_text_whole(minilm):
    from fasthf.encoding.tensors import tokenize_split

    split, _ = tokenize_split(["a fine film", "dull", "not good at all"], minilm[1], 32, labels=np.array([3, 1, 0]))
    part = split.subset(np.array([2, 0]))
    assert [t.tolist() for t in (part[0], part[1])] == [split[2].tolist(), split[0].tolist()]
    assert part.rows.tolist() == [2, 0] and part.labels.tolist() == [0, 3]


def test_validation_split_keeps_sentences_whole_and_is_seeded(competition_files):
    train = read_train(competition_files["train"])
    held_out = held_out_groups(train.SentenceId.to_numpy(), 0.2, seed=7)
    fit, valid = train[~held_out], train[held_out]
    assert not set(fit.SentenceId) & set(valid.SentenceId)
    assert valid.SentenceId.nunique() == round(train.SentenceId.nunique() * 0.2)
    assert (held_out_groups(train.SentenceId.to_numpy(), 0.2, seed=7) == held_out).all()
    assert (held_out_groups(train.SentenceId.to_numpy(), 0.2, seed=8) != held_out).any()
