import numpy as np
import pytest
import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from fasthf.encoding.tensors import Padding
from fasthf.outputs.prediction import predict_probs
from fasthf.tasks import MultiLabel, Regression
from helpers import ragged


class SumModClassifier(nn.Module):
    """Predicts class (sum of the real tokens) mod 5: each row's answer depends only on its own tokens."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        total = (input_ids * attention_mask).sum(dim=1)
        return SequenceClassifierOutput(logits=nn.functional.one_hot(total % 5, 5).float() * self.scale)


@pytest.mark.parametrize("side", ["right", "left"])
def test_predictions_come_back_in_dataset_order(side):
    rng = np.random.default_rng(1)
    rows = [rng.integers(1, 50, size=int(n)).tolist() for n in rng.integers(1, 30, size=500)]
    split = ragged(rows, padding=Padding(0, 0, side))
    # Batches really do visit rows in another order, so a missing restoration would show.
    assert split.longest_first().tolist() != list(range(len(rows)))

    probs = predict_probs(SumModClassifier(), split, batch_size=64, device="cpu")

    assert probs.shape == (len(rows), 5)
    assert torch.allclose(probs.sum(dim=1), torch.ones(len(rows)))
    assert probs.argmax(dim=1).tolist() == [sum(r) % 5 for r in rows]


@pytest.mark.parametrize("task, check", [
    (MultiLabel(["a", "b", "c", "d", "e"]), lambda out, logits: torch.allclose(out, logits.sigmoid())),
    (Regression(["a", "b", "c", "d", "e"]), lambda out, logits: torch.allclose(out, logits)),
])
def test_prediction_applies_the_tasks_activation(task, check):
    rows = [[1, 2], [3], [4, 5, 6]]
    split = ragged(rows)
    outputs = predict_probs(SumModClassifier(), split, batch_size=2, device="cpu", activation=task.activation)
    logits = torch.nn.functional.one_hot(torch.tensor([sum(r) % 5 for r in rows]), 5).float() * 10
    assert check(outputs, logits)


def test_two_readings_are_averaged_per_row_and_a_row_read_once_keeps_its_outputs():
    """read_alone: a row's outputs are the mean of its reading inside its group's text and its lone reading."""
    from fasthf.outputs.prediction import mean_of_readings
    from fasthf.outputs.table import Predictions

    in_context = Predictions(np.array([3, 0, 1]), np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]))
    alone = Predictions(np.array([1, 3]), np.array([[0.3, 0.7], [0.6, 0.4]]))
    both = mean_of_readings([in_context, alone])
    assert both.rows.tolist() == [0, 1, 3]  # in row order
    assert np.allclose(both.outputs, [[0.5, 0.5], [0.6, 0.4], [0.4, 0.6]])
