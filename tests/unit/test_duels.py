"""Duels read both ways (`duel_swap`): swapping the two responses swaps the answer, in the labels a swapped
reading trains with and in the outputs it is averaged with."""
import numpy as np
import pandas as pd
import pytest
import torch

from fasthf.encoding.duels import DuelError, swap_permutation, unswapped
from fasthf.encoding.tensor_cache import encode_rows, load_split
from fasthf.inputs.competition import Competition
from fasthf.inputs.folds import held_out_mask
from fasthf.inputs.task_inference import fit_task
from fasthf.outputs.prediction import by_row_number, row_predictions

WINNERS = ["winner_model_a", "winner_model_b", "winner_tie"]
ARENA = {"slug": "arena", "text": ["prompt", "response_a"], "text_pair": "response_b", "target": WINNERS,
         "task": "multiclass", "metric": "log_loss",
         "duel": {"swap": ["response_a", "response_b"], "answers": ["winner_model_a", "winner_model_b"]}}


def arena_rows():
    return pd.DataFrame({"id": ["1", "2", "3"], "prompt": ["hi", "sum 2 and 2", "a poem"],
                         "response_a": ["hello there", "4", "roses are red"], "response_b": ["go away", "5", "no"],
                         "winner_model_a": ["1", "1", "0"], "winner_model_b": ["0", "0", "0"],
                         "winner_tie": ["0", "0", "1"]})


@pytest.fixture(scope="module")
def tokenizer(tiny_model_folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model_folder("bert")))


def arena():
    competition = Competition.from_config(ARENA)
    frame = arena_rows()
    return competition, fit_task("multiclass", frame, WINNERS), frame


def test_the_swap_exchanges_the_two_answers_and_keeps_a_tie():
    competition, task, _ = arena()
    assert swap_permutation(competition, task) == (1, 0, 2)
    duel = Competition.from_config({**ARENA, "target": "winner", "duel": {"swap": ["response_a", "response_b"],
                                                                            "answers": ["model_a", "model_b"]}})
    binary = fit_task("binary", pd.DataFrame({"winner": ["model_b", "model_a"]}), ["winner"])
    assert swap_permutation(duel, binary) == (1, 0)


def test_a_duel_that_cannot_be_swapped_is_refused_in_one_sentence():
    competition, task, frame = arena()
    wrong = Competition.from_config({**ARENA, "duel": {"swap": ["response_a", "response_b"], "answers": ["a", "b"]}})
    with pytest.raises(DuelError, match=r"competition.duel.answers: \['a', 'b'\] are not among the task's classes"):
        swap_permutation(wrong, task)
    with pytest.raises(DuelError, match="duel_swap: true needs competition.duel"):
        swap_permutation(Competition.from_config({**ARENA, "duel": None}), task)
    with pytest.raises(ValueError, match=r"competition.duel.swap: \['response_a', 'prompt_id'\] must be two of the "
                                         r"text columns"):
        Competition.from_config({**ARENA, "duel": {"swap": ["response_a", "prompt_id"], "answers": ["a", "b"]}})


def test_each_row_is_read_again_swapped_with_its_label_swapped(tokenizer, tmp_path):
    competition, task, frame = arena()
    labels = task.encode(frame)
    split, _, counts = encode_rows(frame, competition, tokenizer, 64, labels, swap=swap_permutation(competition, task))
    assert counts == {"swapped": 3} and len(split) == 6
    assert split.rows.tolist() == [0, 1, 2, 0, 1, 2] and split.swapped.tolist() == [False] * 3 + [True] * 3
    assert split.labels.tolist() == [0, 0, 2, 1, 1, 2]  # a's win is b's win once swapped; the tie stays
    first, swapped = (tokenizer.decode(split[k]) for k in (0, 3))
    assert "hello there" in first.split("[SEP]")[0] and "go away" in first.split("[SEP]")[1]
    assert "go away" in swapped.split("[SEP]")[0] and "hello there" in swapped.split("[SEP]")[1]
    split.save(tmp_path / "t.safetensors")
    again = load_split(tmp_path / "t.safetensors")
    assert again.swapped.tolist() == split.swapped.tolist() and again.swap_outputs == (1, 0, 2)
    assert again.subset([3, 0]).swapped.tolist() == [True, False]
    folds = pd.DataFrame({"row": [0, 1, 2], "fold": [0, 1, 0]})  # both readings of a row on one side
    assert held_out_mask(folds, split.rows.numpy(), 0).tolist() == [True, False, True, True, False, True]


def test_a_rows_outputs_average_its_reading_and_its_swapped_reading_put_back(tokenizer):
    competition, task, frame = arena()
    split, _, _ = encode_rows(frame, competition, tokenizer, 64, swap=swap_permutation(competition, task))
    straight = torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    swapped = torch.tensor([[0.1, 0.8, 0.1], [0.2, 0.6, 0.2], [0.2, 0.2, 0.6]])  # as the model reads them swapped
    outputs = torch.cat([straight, swapped])
    assert torch.allclose(unswapped(split, outputs)[3:], swapped[:, [1, 0, 2]])
    expected = (straight + swapped[:, [1, 0, 2]]) / 2
    pooled = row_predictions(split, outputs)
    assert pooled.rows.tolist() == [0, 1, 2] and np.allclose(pooled.outputs, expected.numpy())
    assert np.allclose(by_row_number(split, outputs).numpy(), expected.numpy())
