"""Long documents read in overlapping windows (`window_stride`): the cutting, the counts, the refusals, the
null setting unchanged, each row's outputs pooled from its windows', and a stage trained on windows."""
import logging
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from transformers import AutoTokenizer
from transformers.modeling_outputs import SequenceClassifierOutput

from fasthf.encoding.shared_checks import SharedEncodingError
from fasthf.encoding.tensor_cache import prepare_tensors
from fasthf.encoding.tensors import Padding, TokenizedSplit, tokenize_split
from fasthf.encoding.windows import WindowError, check_window_stride, encode_windows, pool_windows, window_counts
from fasthf.inputs.folds import FoldData
from fasthf.outputs.prediction import by_row_number, predict_probs, row_predictions
from helpers import sentiment


@pytest.fixture(scope="module")
def tokenizer(tiny_model_folder):
    """The tiny BERT's fast tokenizer ([CLS] text [SEP]), trained on the fixture's phrases."""
    tok = AutoTokenizer.from_pretrained(str(tiny_model_folder("bert")), model_max_length=128)
    assert tok.is_fast
    return tok


def document(tokenizer, n_tokens: int) -> tuple[str, list[int]]:
    """A text of exactly `n_tokens` content tokens (distinct words where the vocabulary has them), and its ids."""
    words = [w for w in tokenizer.get_vocab() if w.isalpha() and len(w) > 2]
    words = sorted(w for w in words if len(tokenizer(w, add_special_tokens=False)["input_ids"]) == 1)
    text = " ".join(words[i % len(words)] for i in range(n_tokens))
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == n_tokens
    return text, ids


def test_a_document_five_times_max_length_is_cut_into_windows_covering_every_token(tokenizer):
    max_length, stride = 16, 4
    text, ids = document(tokenizer, 5 * max_length)
    split, n_truncated = tokenize_split(["a fine film", text, "dull"], tokenizer, max_length, window_stride=stride,
                                        labels=np.array([4, 2, 0]))
    room = max_length - 2  # [CLS] ... [SEP]
    starts = list(range(0, len(ids) - stride, room - stride))  # each window starts `stride` before the last's end
    assert n_truncated == 0
    assert split.rows.tolist() == [0, *[1] * len(starts), 2]
    assert split.labels.tolist() == [4, *[2] * len(starts), 0]  # each window carries its document's label
    windows = [split[k].tolist() for k in range(1, 1 + len(starts))]
    assert [w[0] for w in windows] == [tokenizer.cls_token_id] * len(starts)
    assert [w[-1] for w in windows] == [tokenizer.sep_token_id] * len(starts)
    assert all(len(w) <= max_length for w in windows)
    assert [w[1:-1] for w in windows] == [ids[s:s + room] for s in starts]
    for a, b in zip(windows, windows[1:]):
        assert a[1:-1][-stride:] == b[1:1 + stride]  # consecutive windows share `stride` tokens
    covered = sorted({s + i for s in starts for i in range(len(ids[s:s + room]))})
    assert covered == list(range(len(ids)))  # every token of the document is read
    assert split[0].tolist() == tokenizer("a fine film")["input_ids"]  # a text that fits: as without windows
    assert window_counts(split.rows) == (1, len(starts))


def test_text_pairs_window_the_text_and_repeat_the_pair(tokenizer, caplog):
    text, _ = document(tokenizer, 40)
    long_pair, _ = document(tokenizer, 12)
    split, n_truncated = tokenize_split([text, text], tokenizer, 24, pairs=["fine film", long_pair], window_stride=4)
    pair = tokenizer("fine film", add_special_tokens=False)["input_ids"]
    windows = [split[k].tolist() for k in range(len(split)) if split.rows[k] == 0]
    assert len(windows) > 1 and all(w[-len(pair) - 1:] == [*pair, tokenizer.sep_token_id] for w in windows)
    types = split.token_type_ids[split.offsets[0]:split.offsets[1]].tolist()
    assert types == [0] * (len(windows[0]) - len(pair) - 1) + [1] * (len(pair) + 1)
    assert (split.rows == 1).sum() > 1 and n_truncated == 0  # 24 - 3 special - 12 of the pair: 9 a window, > 4
    # a pair that leaves no more than the stride a window (16 - 3 - 12 = 1): truncated as without windows, counted
    split, n_truncated = tokenize_split([text], tokenizer, 16, pairs=[long_pair], window_stride=4)
    assert n_truncated == 1 and split.rows.tolist() == [0] and len(split[0]) == 16
    assert "truncated instead of read in windows" in caplog.text


def test_the_windows_keep_the_offsets_a_span_task_would_need(tokenizer):
    text, _ = document(tokenizer, 30)
    windows = encode_windows(tokenizer, ["dull", text], 16, 4, offsets=True)
    assert windows["sample"][0] == 0 and set(windows["sample"][1:]) == {1}
    for ids, offsets, sample in zip(windows["input_ids"], windows["offset_mapping"], windows["sample"]):
        source = ["dull", text][sample]
        tokens = tokenizer.convert_ids_to_tokens(ids)
        for token, (start, end) in zip(tokens[1:-1], offsets[1:-1]):
            assert source[start:end] == token.removeprefix("##")


def test_the_log_and_the_summary_count_the_texts_cut_and_their_windows(competition_files, tokenizer, tmp_path,
                                                                       caplog):
    caplog.set_level(logging.INFO, logger="fasthf.encoding.tensors")
    summary = prepare_tensors(competition_files["train"], competition_files["test"], tokenizer, tmp_path, 12,
                              *sentiment(), window_stride=3)
    competition, task = sentiment()
    frame = competition.read_train(competition_files["train"])
    lengths = np.array([len(ids) for ids in tokenizer(competition.joined_texts(frame))["input_ids"]])
    long = lengths > 12
    expected_windows = int(np.sum(np.ceil((lengths[long] - 2 - 3) / (10 - 3))))  # room 10, each window 7 new
    train = TokenizedSplit.load(tmp_path / "train.safetensors")
    counts = summary["splits"]["train"]
    assert summary["window_stride"] == 3
    assert counts["texts"] == len(frame) and counts["windowed"] == long.sum() and counts["windows"] == expected_windows
    assert counts["truncated"] == 0 and len(train) == len(frame) - long.sum() + expected_windows
    assert np.unique(train.rows.numpy()).tolist() == list(range(len(frame)))
    assert train.labels.tolist() == task.encode(frame)[train.rows.numpy()].tolist()
    assert (f"{long.sum()} of {len(frame)} texts are longer than max_length=12: read in {expected_windows:,} "
            f"windows (stride 3)") in caplog.text


def test_a_stride_not_smaller_than_max_length_is_refused_in_one_sentence(tokenizer, competition_files, tmp_path):
    with pytest.raises(WindowError, match=r"window_stride=16 must be smaller than max_length=16 less the 2 special"):
        tokenize_split(["dull"], tokenizer, 16, window_stride=16)
    with pytest.raises(WindowError, match=r"window_stride=14 .* \(at most 13\)"):
        tokenize_split(["dull"], tokenizer, 16, window_stride=14)  # no room left for a new token a window
    capped = AutoTokenizer.from_pretrained(tokenizer.name_or_path, model_max_length=64)
    with pytest.raises(WindowError, match=r"window_stride=100 must be smaller than max_length=64 ") as refused:
        tokenize_split(["dull"], capped, 512, window_stride=100)  # the usable max_length, capped at the model's
    assert "\n" not in str(refused.value)
    with pytest.raises(WindowError, match="needs a fast tokenizer"):
        check_window_stride(SimpleNamespace(is_fast=False), 16, 4)
    with pytest.raises(SharedEncodingError, match="window_stride: 4 .* encode: group does not support"):
        prepare_tensors(competition_files["train"], competition_files["test"], tokenizer, tmp_path, 16,
                        *sentiment(), encode="group", window_stride=4)
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_window_stride_null_gives_the_same_tensors_byte_for_byte(tokenizer, tmp_path):
    texts = ["a fine film", "word " * 50, "dull", "not good at all " * 8]
    labels = np.array([4, 1, 0, 2])
    plain, n_plain = tokenize_split(texts, tokenizer, 16, labels=labels)
    null, n_null = tokenize_split(texts, tokenizer, 16, labels=labels, window_stride=None)
    # today's path by hand: every text truncated to 16 by the tokenizer, row i text i
    encoded = tokenizer(texts, truncation=True, max_length=16, return_attention_mask=False)["input_ids"]
    reference = TokenizedSplit(torch.tensor([t for ids in encoded for t in ids], dtype=torch.int32),
                               torch.tensor(np.concatenate([[0], np.cumsum([len(x) for x in encoded])])),
                               torch.arange(len(texts)), Padding.of(tokenizer), torch.from_numpy(labels),
                               torch.zeros(sum(map(len, encoded)), dtype=torch.int8))
    assert n_plain == n_null == 2
    assert saved_bytes(null, tmp_path) == saved_bytes(plain, tmp_path) == saved_bytes(reference, tmp_path)
    short, _ = tokenize_split(texts[::2], tokenizer, 16, labels=labels[::2], window_stride=4)  # nothing to cut
    assert saved_bytes(short, tmp_path) == saved_bytes(tokenize_split(texts[::2], tokenizer, 16, labels=labels[::2])[0],
                                                       tmp_path)


def saved_bytes(split: TokenizedSplit, folder) -> dict:
    """What a split's file holds: each tensor's dtype, shape and bytes, and the metadata. (The file itself is not
    byte-stable: safetensors writes the metadata in a hash map's order.)"""
    from safetensors import safe_open

    path = folder / "split.safetensors"
    split.save(path)
    with safe_open(str(path), framework="pt") as f:
        held = {key: (str(f.get_tensor(key).dtype), tuple(f.get_tensor(key).shape), f.get_tensor(key).numpy().tobytes())
                for key in f.keys()}
        return {**held, "metadata": f.metadata()}


class MeanEmbedding(nn.Module):
    """Logits from the mean embedding of the real tokens: each window's outputs depend on its own tokens."""

    def __init__(self, vocab: int, n_out: int = 3):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(vocab, n_out)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        mask = attention_mask[..., None].float()
        return SequenceClassifierOutput(logits=(self.embed(input_ids) * mask).sum(1) / mask.sum(1) * 5)


def test_a_rows_outputs_are_the_mean_of_its_windows_outputs_one_row_per_file_row_in_order(tokenizer):
    long_a, _ = document(tokenizer, 60)
    long_b, _ = document(tokenizer, 33)
    texts = [long_a, "dull", long_b, "a fine film", long_a[::-1]]
    split, _ = tokenize_split(texts, tokenizer, 16, window_stride=4)
    model = MeanEmbedding(len(tokenizer))
    per_window = predict_probs(model, split, batch_size=3, device="cpu", precision="no")
    assert per_window.shape == (len(split), 3) and len(split) > len(texts)
    predicted = row_predictions(split, per_window)
    assert predicted.rows.tolist() == list(range(len(texts)))
    for row in range(len(texts)):
        alone = [model(*split.collate([k])).logits.softmax(-1)[0] for k in np.flatnonzero(split.rows == row)]
        np.testing.assert_allclose(predicted.outputs[row], torch.stack(alone).mean(0).detach().numpy(), atol=1e-6)
    assert np.allclose(predicted.outputs.sum(1), 1)  # means of probabilities are probabilities
    np.testing.assert_allclose(by_row_number(split, per_window).numpy(), predicted.outputs, atol=1e-6)
    # rows in another order (as a GroupedSplit stores them) come back in file order; a row of one output keeps it
    rows, pooled = pool_windows(np.array([2, 0, 2, 1]), np.array([[1.0, 0.0], [0.25, 0.75], [0.0, 1.0], [0.1, 0.9]]))
    assert rows.tolist() == [0, 1, 2] and pooled.tolist() == [[0.25, 0.75], [0.1, 0.9], [0.5, 0.5]]
    single = np.float32([[0.1, 0.7], [0.3, 0.2]])
    assert np.array_equal(pool_windows(np.array([1, 0]), single)[1], single[[1, 0]].astype(np.float64))


def test_a_tiny_model_reads_a_document_whole_or_in_windows_one_output_row_each(tiny_model_folder, tokenizer):
    from fasthf.models.architectures import load_pretrained
    from helpers import label_names

    model, _ = load_pretrained(str(tiny_model_folder("bert")), label_names())
    text, ids = document(tokenizer, 100)
    texts = [text, "a fine film"]
    whole, _ = tokenize_split(texts, tokenizer, 128, window_stride=16)  # fits whole: one sequence each
    windows, _ = tokenize_split(texts, tokenizer, 32, window_stride=8)
    assert whole.rows.tolist() == [0, 1] and len(whole[0]) == len(ids) + 2
    assert (windows.rows == 0).sum() == int(np.ceil((len(ids) - 8) / (30 - 8))) and windows.lengths.max() <= 32
    read = {t for k in np.flatnonzero(windows.rows == 0) for t in windows[k].tolist()[1:-1]}
    assert read == set(ids)
    for split in (whole, windows):
        outputs = row_predictions(split, predict_probs(model, split, 4, "cpu", "no"))
        assert outputs.rows.tolist() == [0, 1] and outputs.outputs.shape == (2, len(label_names()))
        assert np.allclose(outputs.outputs.sum(1), 1, atol=1e-5)


def test_a_stage_trains_on_windows_and_writes_one_held_out_row_per_file_row(tiny_model_folder, tokenizer, tmp_path):
    """Every window of a fold's rows trains with its row's label; the held-out outputs are pooled per row."""
    import json

    from fasthf.models.architectures import load_pretrained
    from fasthf.outputs.table import Predictions
    from fasthf.training.recipe import Stage, TrainSettings
    from fasthf.training.stages import run_stage
    from helpers import SENTIMENT_TASK, label_names

    model, _ = load_pretrained(str(tiny_model_folder("bert")), label_names())
    model.save_pretrained(tmp_path / "start")
    text, _ = document(tokenizer, 40)
    texts = [text if i % 3 == 0 else t for i, t in enumerate(["a fine film", "dull", "not good", "great fun"] * 6)]
    split, _ = tokenize_split(texts, tokenizer, 16, labels=np.array([4, 0, 1, 3] * 6), window_stride=4)
    split.save(tmp_path / "train.safetensors")
    held = np.arange(24) < 6
    pd.DataFrame({"row": range(24), "id": range(24), "group": range(24),
                  "fold": np.where(held, 0, -1)}).to_csv(tmp_path / "folds.csv", index=False)
    data = FoldData(str(tmp_path / "train.safetensors"), str(tmp_path / "folds.csv"), 0)
    train, valid = data.load()
    windows_of = lambda rows: int(np.isin(split.rows.numpy(), rows).sum())  # noqa: E731
    assert len(train) == windows_of(np.flatnonzero(~held)) and len(valid) == windows_of(np.flatnonzero(held))
    assert len(train) > (~held).sum() and set(train.rows.tolist()) == set(np.flatnonzero(~held).tolist())
    assert train.labels.tolist() == [[4, 0, 1, 3][r % 4] for r in train.rows.tolist()]

    metrics = run_stage(Stage(freeze_to=-1, epochs=1, lr_max=1e-3, name="head"), 1, tmp_path / "start", data,
                        tmp_path / "stage", TrainSettings(batch_size=8), SENTIMENT_TASK)
    held_out = Predictions.read(tmp_path / "stage" / "valid_outputs.csv")
    assert held_out.rows.tolist() == list(range(6)) and np.allclose(held_out.outputs.sum(axis=1), 1, atol=1e-5)
    assert metrics["valid_rows"] == 6 and metrics["train_rows"] == 18 and metrics["train_sequences"] == len(train)
    assert json.loads((tmp_path / "stage" / "metrics.json").read_text()) == metrics
