"""The model's outputs (probabilities or values) for many texts: longest-first batches for speed, results
put back in row order."""
from __future__ import annotations

import torch

from .precision import choose_precision, logits_in_fp32
from .tensors import TokenizedSplit


def softmax(logits: torch.Tensor) -> torch.Tensor:
    return logits.float().softmax(dim=-1)


def predict_probs(model: torch.nn.Module, split: TokenizedSplit, batch_size: int = 256,
                  device=None, precision: str = "auto", activation=softmax) -> torch.Tensor:
    """`activation(logits)` for every text of `split`, row i for text i: a task's probabilities or values.

    Texts are batched longest first so each batch is padded to about its own length; each batch's
    probabilities are written back at its texts' row numbers, which restores the original order.
    `precision` is a `mixed_precision` setting, resolved for `device` as in training.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    compute = choose_precision(precision, device, "prediction")
    model = logits_in_fp32(model).eval().to(device)
    n_inputs = split.n_inputs
    out = None
    with torch.inference_mode(), compute.autocast():
        order = split.longest_first()
        for start in range(0, len(split), batch_size):
            rows = order[start:start + batch_size]
            batch = [t.to(device) for t in split.collate(rows)[:n_inputs]]
            extra = {"token_type_ids": batch[2]} if n_inputs > 2 else {}
            logits = model(input_ids=batch[0], attention_mask=batch[1], **extra).logits
            if out is None:
                out = torch.empty(len(split), logits.shape[-1])
            out[rows] = activation(logits).float().cpu()
    return out if out is not None else torch.empty(0, 0)
