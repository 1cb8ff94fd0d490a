"""Per-class offsets: fitted on out-of-fold outputs, scored on rows they were not fitted on, used only where they help."""
import numpy as np
import pandas as pd
import pytest

from helpers import sentiment
from fasthf.outputs.decisions import ClassOffsets, cross_fitted, parts_for_cross_fitting
from fasthf.outputs.ensemble import Member, evaluate_ensemble, final_row
from fasthf.outputs.metrics import METRICS
from fasthf.outputs.table import Predictions
from fasthf.tasks import MultiLabel, Regression

SENTIMENT = sentiment()[1]
ACCURACY, LOG_LOSS = METRICS["accuracy"], METRICS["log_loss"]
K = 5


def biased_outputs(y, rng, bias=(0.0, -1.2, 0.0, -1.2, 0.0), skill=1.5):
    """Probabilities that know something of the true class but under-rate classes 1 and 3, as a model
    trained on imbalanced classes does."""
    logits = rng.normal(size=(len(y), K)) + np.asarray(bias)
    logits[np.arange(len(y)), y] += skill
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def labels(n, rng):
    return rng.choice(K, size=n, p=[0.1, 0.25, 0.3, 0.25, 0.1])


def test_offsets_undo_a_class_bias_and_keep_probabilities():
    rng = np.random.default_rng(0)
    y = labels(4000, rng)
    p = biased_outputs(y, rng)
    rule = ClassOffsets.fit(p, y, ACCURACY)
    assert rule.offsets[0] == 0 and rule.offsets[1] > 0.4 and rule.offsets[3] > 0.4  # the under-rated classes lifted
    adjusted = rule.apply(p)
    np.testing.assert_allclose(adjusted.sum(axis=1), 1.0)
    assert ACCURACY.score(y, adjusted) > ACCURACY.score(y, p) + 0.01
    fresh_y = labels(4000, rng)  # and on rows it was not fitted on
    fresh = biased_outputs(fresh_y, rng)
    assert ACCURACY.score(fresh_y, rule.apply(fresh)) > ACCURACY.score(fresh_y, fresh) + 0.01


def test_cross_fitting_scores_each_part_with_what_the_other_parts_fitted():
    parts = np.array([0, 0, 1, 1, 2, 2])
    seen = []
    out = cross_fitted(6, parts, fit=lambda rows: seen.append(rows.copy()) or np.flatnonzero(rows).sum(),
                       apply=lambda fitted, rows: np.full(rows.sum(), fitted))
    assert [np.flatnonzero(~rows).tolist() for rows in seen] == [[0, 1], [2, 3], [4, 5]]  # never its own rows
    assert out.tolist() == [2 + 3 + 4 + 5] * 2 + [0 + 1 + 4 + 5] * 2 + [0 + 1 + 2 + 3] * 2


def test_one_held_out_split_is_cross_fitted_over_whole_sentences():
    groups = np.repeat(np.arange(40), 3)  # 40 sentences of 3 phrases
    parts = parts_for_cross_fitting(np.zeros(len(groups)), groups)
    assert set(parts) == set(range(5))
    assert all(len(set(parts[groups == g])) == 1 for g in range(40))
    folds = np.arange(len(groups)) % 3
    assert (parts_for_cross_fitting(folds, groups) == folds).all()  # K folds: the folds themselves


def ensemble_of_one(y, outputs, test_outputs, folds, metric=ACCURACY, task=SENTIMENT):
    rows = np.arange(len(y))
    only = Member("m", "pkg:x", {1: Predictions(rows, outputs)},
                  {1: Predictions(np.arange(len(test_outputs)), test_outputs)}, {1: 1.0})
    table = pd.DataFrame({"fold": folds, "group": rows // 3})
    return evaluate_ensemble([only], y, table, task, metric)


def test_the_ensemble_uses_offsets_on_test_where_cross_fitted_they_beat_the_argmax():
    rng = np.random.default_rng(1)
    y = labels(3000, rng)
    oof, test = biased_outputs(y, rng), biased_outputs(labels(500, rng), rng)
    result = ensemble_of_one(y, oof, test, np.arange(3000) % 3)
    decision, table = result["decision"], result["table"]
    assert table.kind.tolist() == ["member", "ensemble", "decision"]
    assert decision["used"] and decision["with"] > decision["without"] + 0.01
    assert final_row(table, decision)["accuracy"] == decision["with"]
    assert decision["without"] == table.accuracy.iloc[1]  # the plain blend's figure stays in the table
    # The test outputs carry the offsets fitted on every out-of-fold row
    fitted = ClassOffsets(np.array(list(decision["fitted"].values())))
    np.testing.assert_allclose(result["test"].outputs, fitted.apply(test), atol=1e-6)
    assert list(decision["fitted"]) == SENTIMENT.output_names
    # The out-of-fold outputs written are the cross-fitted ones: their accuracy is the table's
    assert ACCURACY.score(y, result["oof"].outputs) == pytest.approx(decision["with"])


def test_offsets_stay_off_where_they_do_not_help():
    rng = np.random.default_rng(2)
    y = labels(900, rng)
    perfect = np.eye(K)[y] * 0.6 + 0.1  # every answer already right: nothing to gain
    test = biased_outputs(labels(100, rng), rng)
    result = ensemble_of_one(y, perfect, test, np.arange(900) % 3)
    assert result["decision"]["used"] is False
    np.testing.assert_allclose(result["test"].outputs, test)
    assert final_row(result["table"], result["decision"]).kind == "ensemble"


def test_only_label_metrics_of_single_label_tasks_get_offsets():
    assert SENTIMENT.decision_rule(ACCURACY) is ClassOffsets
    assert SENTIMENT.decision_rule(METRICS["f1"]) is ClassOffsets
    assert SENTIMENT.decision_rule(LOG_LOSS) is None  # probabilities are scored as they are
    assert MultiLabel(["a", "b"]).decision_rule(ACCURACY) is None
    assert Regression(["score"]).decision_rule(METRICS["rmse"]) is None
    rng = np.random.default_rng(3)
    y = labels(300, rng)
    result = ensemble_of_one(y, biased_outputs(y, rng), biased_outputs(labels(50, rng), rng),
                             np.arange(300) % 3, metric=LOG_LOSS)
    assert result["decision"] is None and result["table"].kind.tolist() == ["member", "ensemble"]


def test_a_gain_carried_by_one_group_of_correlated_rows_is_not_clear_and_stays_off():
    from fasthf.outputs.decisions import clear_gain, gain_verdict

    # 40 groups of 10 rows each (the phrases of one sentence); the decision fixes one whole group and breaks
    # another: the same gain over rows as fixing one row in each of many groups, but it is one group's luck
    y = np.zeros(400, dtype=int)
    groups = np.repeat(np.arange(40), 10)
    without = np.where(groups < 20, 0, 1)  # half the groups wrong
    lucky = without.copy()
    lucky[groups == 20] = 0  # one group set right
    lucky[(groups == 0)[:]] = np.where(np.arange(400)[groups == 0] % 10 < 5, 1, 0)  # half a group set wrong
    score = lambda answers: lambda rows: float((answers[rows] == y[rows]).mean())  # noqa: E731
    share = clear_gain(score(lucky), score(without), groups, ACCURACY)
    better = ACCURACY.better(score(lucky)(np.arange(400)), score(without)(np.arange(400)))
    used, why = gain_verdict(share, 40, better)
    assert better and share < 0.95 and not used and "within the noise" in why
    # the same number of rows set right, one in each of many groups: clear
    spread = without.copy()
    spread[np.flatnonzero(groups >= 20)[::10][:15]] = 0
    spread_share = clear_gain(score(spread), score(without), groups, ACCURACY)
    assert spread_share >= 0.95 and gain_verdict(spread_share, 40, True)[0]
