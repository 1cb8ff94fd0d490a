"""Test-set probabilities: batches sorted by length for speed, results put back in row order."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from fastai.callback.progress import ProgressCallback
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.torch_core import default_device

from .architectures import SequenceClassifier
from .loaders import TokenBatchDL
from .tensors import TokenizedSplit


def predict_probs(model: torch.nn.Module, split: TokenizedSplit, batch_size: int = 256,
                  device=None) -> torch.Tensor:
    """Class probabilities for every text of `split`, row i for text i.

    The DataLoader visits texts longest first; fastai's `get_preds(reorder=True)` undoes that
    order with the DataLoader's own index list.
    """
    device = default_device() if device is None else device
    dl = TokenBatchDL(split, bs=batch_size, shuffle=False, device=device)
    learn = Learner(DataLoaders(dl, dl, device=device), SequenceClassifier(model).to(device),
                    loss_func=CrossEntropyLossFlat())
    learn.remove_cb(ProgressCallback)
    probs, _ = learn.get_preds(dl=dl, reorder=True)
    return probs.float()


def probabilities_frame(phrase_ids, probs: torch.Tensor) -> pd.DataFrame:
    """PhraseId, prob_0..prob_k, and the most probable class as Sentiment."""
    probs = probs.numpy()
    frame = pd.DataFrame({"PhraseId": np.asarray(phrase_ids)})
    for k in range(probs.shape[1]):
        frame[f"prob_{k}"] = probs[:, k]
    frame["Sentiment"] = probs.argmax(axis=1)
    return frame
