"""The model's outputs (probabilities or values) for many texts: longest-first batches for speed, results
put back in row order."""
from __future__ import annotations

import numpy as np
import torch

from fasthf.encoding.duels import unswapped
from fasthf.encoding.tensors import TokenizedSplit
from fasthf.encoding.windows import pool_windows
from fasthf.models.architectures import batch_logits, logits_in_fp32
from fasthf.models.precision import choose_precision
from fasthf.outputs.table import Predictions
from fasthf.outputs.token_table import TokenOutputs


def softmax(logits: torch.Tensor) -> torch.Tensor:
    return logits.float().softmax(dim=-1)


def predict_probs(model: torch.nn.Module, split: TokenizedSplit, batch_size: int = 256,
                  device=None, precision: str = "auto", activation=softmax) -> torch.Tensor | list[torch.Tensor]:
    """`activation(logits)` for every text of `split`, row i for text i: a task's probabilities or values.
    Where texts were read in windows, row i is window i (`row_predictions` pools them per row). A token
    classifier's (a span task's) are a list: sequence i's (tokens, outputs) (`fasthf.outputs.token_table`).

    Texts (or, for a `GroupedSplit`, units) are batched longest first so each batch is padded to about its
    own length; each batch's outputs are written back at its rows' positions, which restores the order.
    `precision` is a `mixed_precision` setting, resolved for `device` as in training.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    compute = choose_precision(precision, device, "prediction")
    model = logits_in_fp32(model).eval().to(device)
    out = None
    with torch.inference_mode(), compute.autocast():
        order = split.longest_first()
        for start in range(0, len(split), batch_size):
            items = order[start:start + batch_size]
            inputs = split.collate(items)[:split.n_inputs]
            activated = activation(batch_logits(model, [t.to(device) for t in inputs])).float().cpu()
            if activated.ndim == 3:  # per token (a span task): each sequence's own tokens, padding left out
                out = [None] * len(split.rows) if out is None else out
                for position, seq, keep in zip(split.positions(items).tolist(), activated, inputs[1].bool()):
                    out[position] = seq[keep]
                continue
            if out is None:
                out = torch.empty(len(split.rows), activated.shape[-1])
            out[split.positions(items)] = activated
    return out if out is not None else torch.empty(0, 0)


def by_row_number(split: TokenizedSplit, outputs: torch.Tensor) -> torch.Tensor:
    """`outputs` (row k for `split.rows[k]`, as `predict_probs` gives them) put in the order of the rows'
    numbers, where those are 0..n-1 (texts tokenized straight from one file or list): row i for text i. A
    `GroupedSplit` stores its rows unit by unit, so the two orders differ there. A text read in windows
    (`fasthf.encoding.windows`) gets the mean of its windows' outputs."""
    outputs = unswapped(split, outputs)  # a duel's swapped readings in their rows' order (fasthf.encoding.duels)
    if len(torch.unique(split.rows)) != len(split.rows):
        _, pooled = pool_windows(split.rows, outputs)
        return torch.from_numpy(pooled).to(outputs.dtype)
    ordered = torch.empty_like(outputs)
    ordered[split.rows] = outputs
    return ordered


def row_predictions(split: TokenizedSplit, outputs: torch.Tensor) -> Predictions:
    """`outputs` (row k for `split.rows[k]`) as one row of outputs per row number, in file order: a row read
    in several windows (`fasthf.encoding.windows`) gets the mean of its windows' activated outputs; any other row its
    own outputs, unchanged."""
    return Predictions(*pool_windows(split.rows, unswapped(split, outputs)))


def outputs_table(split, outputs) -> Predictions | TokenOutputs:
    """What a job hands on of `outputs` (as `predict_probs` or a stage's validation pass gives them): one row of
    outputs per row (`row_predictions`), or for a token classifier every text token's (`TokenOutputs`)."""
    if split.head == "token":
        return TokenOutputs.of_split(split, [o.numpy() for o in outputs])
    return row_predictions(split, outputs)


def mean_of_readings(readings: list[Predictions]) -> Predictions:
    """Each row's outputs averaged over the readings that hold it (config `read_alone`: a row read inside its
    group's text and alone), in row order; a row in one reading only keeps its outputs exactly."""
    return Predictions(*pool_windows(np.concatenate([r.rows for r in readings]),
                                     np.concatenate([r.outputs for r in readings])))


def with_lone_reading(model: torch.nn.Module, predictions: Predictions, alone, batch_size: int = 256, device=None,
                      precision: str = "auto", activation=softmax) -> Predictions:
    """`predictions` (each row read inside its group's text) averaged with the same model's outputs for `alone`,
    the rows' lone readings (`fasthf.encoding.shared.alone_readings`; config `read_alone`)."""
    outputs = predict_probs(model, alone, batch_size, device, precision, activation)
    return mean_of_readings([predictions, outputs_table(alone, outputs)])
