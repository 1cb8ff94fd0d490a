"""Competition metrics as Kaggle states them, against scikit-learn."""
import numpy as np
import pytest

from fasthf.outputs.metrics import BLEND_LOSSES, METRICS


def test_metrics_agree_with_scikit_learn():
    from sklearn import metrics as sk

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(y * 0.6 + rng.random(200) * 0.5, 0, 1)
    outputs = np.stack([1 - p, p], axis=1)
    assert METRICS["f1"].score(y, outputs) == pytest.approx(sk.f1_score(y, p >= 0.5))
    assert METRICS["roc_auc"].score(y, outputs) == pytest.approx(sk.roc_auc_score(y, p))
    assert METRICS["log_loss"].score(y, outputs) == pytest.approx(sk.log_loss(y, outputs))
    labels = rng.integers(0, 2, (200, 3)).astype(float)
    scores = np.clip(labels * 0.5 + rng.random((200, 3)) * 0.6, 0, 1)
    mean_auc = np.mean([sk.roc_auc_score(labels[:, k], scores[:, k]) for k in range(3)])
    assert METRICS["roc_auc"].score(labels, scores) == pytest.approx(mean_auc)
    values = rng.normal(size=(50, 1))
    assert METRICS["rmse"].score(values, values + 0.5) == pytest.approx(0.5)
    classes = rng.integers(0, 5, 300)
    assert METRICS["quadratic_kappa"].score(classes, np.eye(5)[classes]) == pytest.approx(1.0)


def test_the_blend_losses_are_the_metrics_own_formulas():
    y = np.array([0, 1, 1])
    outputs = np.array([[0.8, 0.2], [0.3, 0.7], [0.5, 0.5]])
    assert BLEND_LOSSES["log_loss"](y, outputs) == METRICS["log_loss"].score(y, outputs)
    values = np.array([[1.0], [2.0]])
    assert BLEND_LOSSES["mse"](values, values + 0.5) == pytest.approx(0.25)


def test_mcrmse_is_the_mean_of_each_columns_rmse():
    y = np.array([[3.0, 2.0], [4.0, 2.0], [2.5, 3.0]])
    outputs = y + np.array([[0.5, 0.0], [-0.5, 0.0], [0.5, 1.0]])
    assert METRICS["mcrmse"].score(y, outputs) == pytest.approx((0.5 + np.sqrt(1 / 3)) / 2)
    assert METRICS["mcrmse"].tasks == ("regression",) and not METRICS["mcrmse"].greater_is_better
