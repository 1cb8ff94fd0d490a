"""What a person looks at: the confusion matrix and per-class table, and every plot drawn off screen."""
import numpy as np
import pandas as pd

from fasthf.io import save_figure
from fasthf.outputs.metrics import METRICS
from fasthf.training.evaluation import (confusion_matrix, per_class_accuracy, plot_bars, plot_confusion,
                               plot_predicted_against_true, plot_scores)


def test_confusion_rows_are_true_classes_and_per_class_accuracy_reads_them():
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    table = per_class_accuracy(matrix, ["a", "b", "c"])
    assert table.accuracy.tolist() == [0.5, 1.0, 2 / 3] and table.predicted.tolist() == [2, 2, 2]


def test_every_plot_is_a_png(tmp_path):
    table = pd.DataFrame({"name": ["m seed 1", "ensemble"], "kind": ["member", "ensemble"],
                          "accuracy": [0.61, 0.63], "rows": [100, 100]})
    y = np.random.default_rng(0).normal(size=(50, 2))
    figures = {"scores": plot_scores(table, METRICS["accuracy"]),
               "confusion": plot_confusion(np.array([[3, 1], [0, 4]]), ["no", "yes"], "title"),
               "bars": plot_bars(["a", "b"], [0.7, 0.9], "ROC AUC", "title", xlim=(0, 1.1)),
               "scatter": plot_predicted_against_true(y, y + 0.1, ["x", "z"], "title")}
    for name, fig in figures.items():
        save_figure(tmp_path / f"{name}.png", fig)
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name
