"""Tags: a set of labels per text, written in one cell joined by a separator (`"c# asp.net"`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from fasthf.inputs.data import line_of
from fasthf.inputs.targets import TargetError
from fasthf.outputs.metrics import predicted_tags
from fasthf.tasks.multilabel import MultiLabel


def split_tags(values: pd.Series, separator: str) -> pd.Series:
    """Each cell's tags, in the cell's order (empty pieces dropped)."""
    return values.astype(str).map(lambda cell: [t for t in cell.split(separator) if t.strip()])


class Tags(MultiLabel):
    """Labels from one target column holding several of them per row; `classes` is the tag vocabulary of the
    training file. Learnt as one sigmoid per tag (BCE); answered as the tags with probability >= 0.5, joined
    by the separator, or the single most probable tag where none reaches 0.5 (an empty answer scores 0)."""
    kind = "tags"
    default_metric = "tags_f1"

    def __init__(self, targets, classes=None, label_names=None, separator: str = " "):
        super().__init__(targets, classes, label_names)
        self.separator = separator

    @classmethod
    def from_description(cls, described):
        return cls(described["targets"], described.get("classes"), described.get("label_names"),
                   described.get("separator", " "))

    def describe(self):
        return {**super().describe(), "separator": self.separator}

    @classmethod
    def vocabulary(cls, frame: pd.DataFrame, column: str, separator: str) -> list[str]:
        return sorted({tag for tags in split_tags(frame[column], separator) for tag in tags})

    @property
    def n_outputs(self) -> int:
        return len(self.classes)

    @property
    def output_names(self) -> list[str]:
        return list(self.label_names or self.classes)

    def encode(self, frame, path="train"):
        column = self.targets[0]
        index = {tag: k for k, tag in enumerate(self.classes)}
        y = np.zeros((len(frame), self.n_outputs), dtype=np.float32)
        for row, tags in enumerate(split_tags(frame[column], self.separator)):
            unknown = [t for t in tags if t not in index]
            if unknown:
                raise TargetError(f"{path}: line {line_of(frame, row)}: column '{column}': the tag {unknown[0]!r} is "
                                  f"not among the {self.n_outputs} tags of the training file")
            y[row, [index[t] for t in tags]] = 1
        return y

    def decode(self, outputs):
        return predicted_tags(outputs).astype(np.int64)  # what tags_f1 scores: the submission and the score agree

    def answers(self, outputs) -> np.ndarray:
        return np.array([self.separator.join(t for t, on in zip(self.output_names, row) if on)
                         for row in self.decode(outputs)], dtype=object)

    def answer_names(self, outputs):
        return list(self.answers(outputs))

    def submission_values(self, outputs, columns, form):
        return {columns[0]: self.answers(outputs)}

    def check_answer_columns(self, frame, columns, form, path, sample):
        if len(columns) != 1:
            raise TargetError(f"{sample}: line 1: the answer columns {columns}: a tags task answers in one column")

    def check_submission_column(self, column, values, form):
        known = set(self.classes)
        bad = split_tags(values, self.separator).map(lambda tags: not set(tags) <= known).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            return f"{int(bad.sum())} {column} values hold tags unknown to the training file, first at row {row + 2}: " \
                   f"{values.iloc[row]!r}"
        return None

    def per_output_scores(self, y, outputs):
        return {}  # a vocabulary of tags is too many columns for the members table

    def plot_diagnostics(self, y, outputs, title):
        """ROC AUC of the 30 most frequent tags."""
        from fasthf.outputs.metrics import roc_auc_columns
        from fasthf.training.evaluation import plot_bars

        top = np.argsort(-np.asarray(y).sum(axis=0), kind="stable")[:30]
        auc = roc_auc_columns(np.asarray(y)[:, top], np.asarray(outputs)[:, top])
        return plot_bars([self.output_names[k] for k in top], auc, "out-of-fold ROC AUC", title, xlim=(0, 1.1))
