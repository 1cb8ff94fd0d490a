"""What every task kind has: targets, outputs, the metric it is scored by, and the methods each kind fills in."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fasthf.inputs.targets import TargetError, numbers_problem
from fasthf.outputs.metrics import BLEND_LOSSES, METRICS, Metric
from fasthf.outputs.table import output_columns

if TYPE_CHECKING:  # torch only where a model runs (losses import fastai lazily): table jobs start seconds sooner
    import torch


class Task:
    """The common part: targets, outputs, and what the description or the training file fixed."""
    kind: str = ""
    default_metric: str = ""
    surrogate: str = ""  # the loss the blend's weights minimise (a proper scoring rule for the outputs)
    reads_spans: bool = True  # whether `encode: group` may read its rows from shared encodings (fasthf.encoding.shared)
    per_token: bool = False  # outputs per token of the text (fasthf.outputs.token_table), not one row per text
    answers_in_rows: bool = False  # a text answers in submission rows of its own (`answer_rows`), not in one

    def __init__(self, targets: list[str], classes: list | None = None, label_names: list[str] | None = None):
        self.targets = list(targets)
        self.classes = None if classes is None else list(classes)
        self.label_names = label_names

    # -- what the model puts out ------------------------------------------------------------------
    @property
    def n_outputs(self) -> int:
        return len(self.targets)

    @property
    def output_names(self) -> list[str]:
        """A name per output: class names (single-label), else the target columns."""
        return list(self.label_names or self.targets)

    @property
    def output_columns(self) -> list[str]:
        """Columns of the probability / value files the pipeline writes between its jobs."""
        return output_columns(self.n_outputs)

    def activation(self, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def loss_func(self, label_smoothing: float = 0.0):
        raise NotImplementedError

    def fastai_metrics(self) -> list:
        raise NotImplementedError

    # -- targets ----------------------------------------------------------------------------------
    def encode(self, frame: pd.DataFrame, path: str = "train") -> np.ndarray:
        """The training targets as the loss takes them; a value the task cannot take is refused."""
        raise NotImplementedError

    def as_outputs(self, y: np.ndarray) -> np.ndarray:
        """Targets in the form of the outputs (one-hot for classes): what memory averages."""
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def surrogate_loss(self, outputs: np.ndarray, y: np.ndarray) -> float:
        return BLEND_LOSSES[self.surrogate](y, outputs)

    # -- answers ----------------------------------------------------------------------------------
    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """The answer per text and target, in the values of the training file."""
        raise NotImplementedError

    def answer_names(self, outputs: np.ndarray) -> list[str]:
        """Each text's answer as a person reads it (fasthf predict): the decoded answers, joined."""
        return [", ".join(map(str, np.ravel(answer))) for answer in self.decode(outputs)]

    def submission_values(self, outputs: np.ndarray, columns: list[str], form: str) -> dict[str, np.ndarray]:
        """The sample submission's answer columns (in its order) filled from the outputs, as `form` says:
        labels, or probabilities (values for regression)."""
        raise NotImplementedError

    def answer_source(self, column: str) -> int:
        """Which output answers the sample's column `column`: the target of that name; a single answer column
        named otherwise (jigsaw's `prediction` for its `target`) takes the first target."""
        return self.targets.index(column) if column in self.targets else 0

    def check_answer_columns(self, frame: pd.DataFrame, columns: list[str], form: str, path: str, sample: str) -> None:
        """Several answer columns must each be a target; a single one answers with the first target."""
        unknown = [c for c in columns if c not in self.targets] if len(columns) > 1 else []
        if unknown:
            raise TargetError(f"{sample}: line 1: the answer column(s) {unknown} are not among the targets "
                              f"{self.targets} of {path}; set competition.target")

    def check_submission_column(self, column: str, values: pd.Series, form: str) -> str | None:
        """What is wrong with one answer column of a submission, or None. Here: values must be numbers."""
        return numbers_problem(column, values, lambda numbers: np.isfinite(numbers), "numbers")

    def metric(self, name: str | None) -> Metric:
        name = name or self.default_metric
        if name not in METRICS:
            raise ValueError(f"competition.metric: unknown metric {name!r}; known: {sorted(METRICS)}")
        metric = METRICS[name]
        if self.kind not in metric.tasks:
            raise ValueError(f"competition.metric: {name} does not score a {self.kind} task "
                             f"(it scores {', '.join(metric.tasks)})")
        return metric

    def describe(self) -> dict:
        return {"kind": self.kind, "targets": self.targets, "classes": self.classes, "label_names": self.label_names}

    @classmethod
    def from_description(cls, described: dict) -> "Task":
        """The task `describe()` wrote."""
        return cls(described["targets"], described.get("classes"), described.get("label_names"))

    def diagnostics(self, y: np.ndarray, outputs: np.ndarray) -> pd.DataFrame:
        """One row per output: how well each class (or target) is predicted out of fold."""
        raise NotImplementedError

    def per_output_scores(self, y: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
        """Columns of the members table beside the metric: a score per class, label or target."""
        return {}

    def plot_diagnostics(self, y: np.ndarray, outputs: np.ndarray, title: str):
        """What a person looks at out of fold."""
        raise NotImplementedError

    def collapsed(self, y: np.ndarray, outputs: np.ndarray) -> str | None:
        """How the held-out outputs show a model that answers (nearly) the same whatever the text, or None.
        The usual cause is a learning rate too high for the layers being trained."""
        return None

    def decision_rule(self, metric: Metric):
        """What may be fitted on held-out outputs to turn them into answers for `metric` (a class with
        `fit(outputs, y, metric)` and `.apply(outputs)`), or None: the outputs are the answers."""
        return None

    def stratify_by(self, y: np.ndarray) -> np.ndarray | None:
        """What folds without a group column are stratified by (None: random folds)."""
        return None
