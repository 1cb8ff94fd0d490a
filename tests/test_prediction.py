import numpy as np
import pytest
import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from fasthf.tensors import Padding
from fasthf.prediction import predict_probs, probabilities_frame
from test_data import ragged


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


def test_probabilities_frame_keeps_phrase_ids_and_argmax():
    probs = torch.tensor([[0.1, 0.6, 0.1, 0.1, 0.1], [0.0, 0.0, 0.0, 0.2, 0.8]])
    frame = probabilities_frame([156061, 156062], probs)
    assert frame.PhraseId.tolist() == [156061, 156062]
    assert frame.Sentiment.tolist() == [1, 4]
    assert list(frame.columns) == ["PhraseId", "prob_0", "prob_1", "prob_2", "prob_3", "prob_4", "Sentiment"]
