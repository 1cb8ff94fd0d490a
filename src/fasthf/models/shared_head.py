"""The model of shared encoding: a Hugging Face classifier's encoder run once per unit (`fasthf.encoding.shared`), and a
span head reading each row from the token states of its span.

The Hugging Face classifier is kept whole (its own head is unused), so its checkpoints, its layer groups
and the tracing that finds them are those of per-row encoding; the span head joins the head group, and
is saved beside the classifier's weights in the same checkpoint folder.
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from fasthf.models.precision import Fp32Linear

HEAD_WEIGHTS, HEAD_CONFIG = "span_head.safetensors", "span_head.json"
POOLINGS = ("mean_ends", "attention")


class SpanHead(nn.Module):
    """[pooled, first, last] token states of each span -> dense -> GELU -> the task's outputs (in fp32).

    `pooling`: "mean_ends" pools the span by its mean; "attention" by a learned softmax weighting of its
    tokens (one score per token state)."""

    def __init__(self, hidden: int, n_outputs: int, pooling: str = "mean_ends", dropout: float = 0.1,
                 init_std: float = 0.02):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"span_pooling: {pooling!r}; use one of {', '.join(POOLINGS)}")
        self.pooling, self.hidden, self.n_outputs = pooling, hidden, n_outputs
        self.score = nn.Linear(hidden, 1) if pooling == "attention" else None
        self.dense = nn.Linear(3 * hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = Fp32Linear(hidden, n_outputs)
        for layer in (self.score, self.dense, self.out):
            if layer is not None:
                nn.init.normal_(layer.weight, std=init_std)
                nn.init.zeros_(layer.bias)

    def pool(self, states: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        unit, start, end = spans.unbind(1)
        if self.score is None:  # the mean from running sums: one pass however many spans a unit holds
            sums = torch.cat([states.new_zeros(states.shape[0], 1, states.shape[2]), states.float().cumsum(1)], 1)
            return ((sums[unit, end] - sums[unit, start]) / (end - start)[:, None].float()).to(states.dtype)
        scores = self.score(states).squeeze(-1)[unit]  # (spans, length)
        column = torch.arange(states.shape[1], device=states.device)
        inside = (column >= start[:, None]) & (column < end[:, None])
        weights = scores.float().masked_fill(~inside, float("-inf")).softmax(-1).to(states.dtype)
        return torch.bmm(weights[:, None, :], states[unit]).squeeze(1)

    def forward(self, states: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
        unit, start, end = spans.unbind(1)
        x = torch.cat([self.pool(states, spans), states[unit, start], states[unit, end - 1]], dim=-1)
        return self.out(self.dropout(nn.functional.gelu(self.dense(self.dropout(x)))))


class SpanModel(nn.Module):
    """A classifier whose encoder reads each unit once, and `head` each row's span of it."""

    def __init__(self, classifier: nn.Module, head: SpanHead):
        super().__init__()
        self.classifier, self.head = classifier, head

    @property
    def config(self):
        return self.classifier.config

    def forward(self, input_ids, attention_mask, spans, token_type_ids=None):
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        encoder = self.classifier.base_model
        states = encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        return SimpleNamespace(logits=self.head(states, spans))

    def save_pretrained(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.classifier.save_pretrained(folder)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, str(folder / HEAD_WEIGHTS))
        (folder / HEAD_CONFIG).write_text(json.dumps(
            {"hidden": self.head.hidden, "n_outputs": self.head.n_outputs, "pooling": self.head.pooling}))


def has_span_head(folder: str | Path) -> bool:
    return (Path(folder) / HEAD_WEIGHTS).is_file()


def with_span_head(classifier: nn.Module, pooling: str = "mean_ends") -> SpanModel:
    """`classifier` with a fresh span head (drawn from torch's generator: seed it first)."""
    config = classifier.config
    return SpanModel(classifier, SpanHead(config.hidden_size, config.num_labels, pooling,
                                          init_std=getattr(config, "initializer_range", 0.02)))


def load_span_head(classifier: nn.Module, folder: str | Path) -> SpanModel:
    folder = Path(folder)
    settings = json.loads((folder / HEAD_CONFIG).read_text())
    head = SpanHead(settings["hidden"], settings["n_outputs"], settings["pooling"])
    head.load_state_dict(load_file(str(folder / HEAD_WEIGHTS)))
    return SpanModel(classifier, head)
