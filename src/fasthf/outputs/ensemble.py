"""Out-of-fold evaluation and blending of the ensemble's members.

Each (member, seed, fold) chain predicts the rows its fold held out and the test rows. Per (member,
seed) the held-out predictions of all folds make one out-of-fold prediction per training row and the
folds' test predictions are averaged; a member averages its seeds. The members are blended by a
weighted average of their outputs (probabilities or values) whose weights minimise the task's proper
surrogate loss out of fold (log loss for classes, binary cross-entropy for several labels, squared
error for values; a smooth stand-in for the competition's metric, which may be a step function of the
weights): fitted on out-of-fold predictions and training targets only, never on anything from test.
An ensemble of one has weight 1: its answers are the member's own.

The ensemble's own out-of-fold score is cross-fitted (with K >= 2 folds, fold k's rows are blended
with weights fitted on the other folds; with one held-out split, over five group-disjoint parts of
it), so it is not flattered by fitting and scoring on the same rows. Then the task's decision rule for
the metric, if it has one (per-class offsets, `fasthf.outputs.decisions`), is fitted on the blend's out-of-fold
outputs, scored cross-fitted over the same parts, and used on test only where it beats the plain blend
out of fold clearly: on most resamples of the held-out groups (`fasthf.outputs.decisions.clear_gain`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import softmax

from fasthf.io import save_figure, write_csv, write_json
from fasthf.outputs.decisions import clear_gain, cross_fitted, gain_verdict, parts_for_cross_fitting
from fasthf.outputs.metrics import Metric
from fasthf.outputs.table import Predictions, mean, out_of_fold
from fasthf.tasks import Task
from fasthf.training.evaluation import plot_scores


def blend(outputs: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return np.tensordot(np.asarray(weights), np.stack(outputs), axes=1)


def fit_weights(outputs: list[np.ndarray], y: np.ndarray, task: Task) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise the task's surrogate loss of the blend on these rows."""
    if len(outputs) == 1:
        return np.ones(1)
    objective = lambda logits: task.surrogate_loss(blend(outputs, softmax(logits)), y)  # noqa: E731
    found = minimize(objective, np.zeros(len(outputs)), method="L-BFGS-B")
    return softmax(found.x)


def cross_fitted_blend(outputs: list[np.ndarray], y: np.ndarray, parts: np.ndarray, task: Task) -> np.ndarray:
    """Each part's rows blended with weights fitted on the other parts' rows (one part: on itself)."""
    parts = np.asarray(parts)
    if len(np.unique(parts)) < 2:
        return blend(outputs, fit_weights(outputs, y, task))
    return cross_fitted(len(y), parts, lambda fit_rows: fit_weights([p[fit_rows] for p in outputs], y[fit_rows], task),
                        lambda weights, rows: blend([p[rows] for p in outputs], weights))


def fit_decision(oof: np.ndarray, y: np.ndarray, parts: np.ndarray, task: Task, metric: Metric):
    """The task's decision rule for `metric` fitted on every out-of-fold row, and the out-of-fold outputs
    with it cross-fitted over `parts`; None where the task has no such rule."""
    rule = task.decision_rule(metric)
    if rule is None:
        return None
    decided = cross_fitted(len(y), parts, lambda fit_rows: rule.fit(oof[fit_rows], y[fit_rows], metric),
                           lambda fitted, rows: fitted.apply(oof[rows]))
    return rule.fit(oof, y, metric), decided


def score_row(outputs: np.ndarray, y: np.ndarray, task: Task, metric: Metric) -> dict:
    """The competition's metric, the task's surrogate loss and a score per class, label or target."""
    return {"rows": int(len(y)), metric.name: metric.score(y, outputs), task.surrogate: task.surrogate_loss(outputs, y),
            **task.per_output_scores(y, outputs)}


@dataclass
class Member:
    """One member's predictions per seed: out-of-fold and on test."""
    name: str
    model: str
    oof: dict[int, Predictions]   # seed -> out-of-fold predictions
    test: dict[int, Predictions]  # seed -> test predictions (mean over folds)
    seconds: dict[int, float]     # seed -> training and prediction time over all folds


def evaluate_ensemble(members: list[Member], targets: np.ndarray, folds: pd.DataFrame, task: Task,
                      metric: Metric, decide: bool = True) -> dict:
    """Blend the members; score every seed, member and the ensemble out of fold with `metric`.

    `targets` (encoded, one per training row) and `folds` (the folds table: fold and group, indexed by
    row) come from the training file: the only targets anything here is fitted to. With `decide`, the
    task's decision rule for the metric (per-class offsets where answers are labels) is fitted on the
    blend's out-of-fold outputs, scored cross-fitted, and used on test only where that beats the plain
    blend. Returns the table (one row per seed, per member of several seeds, the ensemble, and the
    ensemble with its decision rule), the weights, the decision, and the final out-of-fold and test
    outputs.
    """
    train_rows = np.sort(next(iter(members[0].oof.values())).rows)
    test_rows = next(iter(members[0].test.values())).rows
    y, fold_of = np.asarray(targets)[train_rows], folds.fold.loc[train_rows].to_numpy()
    rows, member_oof, member_test = [], [], []
    for member in members:
        describe = {"member": member.name, "model": member.model}
        for seed, oof in member.oof.items():
            rows.append({"name": f"{member.name} seed {seed}", "kind": "seed", **describe, "seed": seed,
                         **score_row(oof.aligned(train_rows), y, task, metric), "seconds": member.seconds[seed]})
        member_oof.append(mean(list(member.oof.values())).aligned(train_rows))
        member_test.append(mean(list(member.test.values())).aligned(test_rows))
        if len(member.oof) > 1:
            rows.append({"name": f"{member.name} ({len(member.oof)} seeds)", "kind": "member", **describe,
                         **score_row(member_oof[-1], y, task, metric), "seconds": sum(member.seconds.values())})
        else:
            rows[-1]["kind"] = "member"  # one seed: the seed is the member
    weights = fit_weights(member_oof, y, task)
    parts = parts_for_cross_fitting(fold_of, folds.group.loc[train_rows])
    oof_blend = cross_fitted_blend(member_oof, y, parts, task)
    rows.append({"name": "ensemble", "kind": "ensemble", **score_row(oof_blend, y, task, metric),
                 "seconds": sum(sum(m.seconds.values()) for m in members)})
    test_blend = blend(member_test, weights)
    decision = None
    fitted = fit_decision(oof_blend, y, parts, task, metric) if decide else None
    if fitted is not None:
        rule, decided = fitted
        rows.append({"name": f"ensemble + {rule.name}", "kind": "decision", **score_row(decided, y, task, metric),
                     "seconds": rows[-1]["seconds"]})
        groups = folds.group.loc[train_rows].to_numpy()
        share = clear_gain(lambda r: metric.score(y[r], decided[r]), lambda r: metric.score(y[r], oof_blend[r]),
                           groups, metric)
        used, why = gain_verdict(share, len(np.unique(groups)), metric.better(rows[-1][metric.name], rows[-2][metric.name]))
        decision = {"rule": rule.name, "used": bool(used), "fitted": rule.describe(task.output_names),
                    "without": rows[-2][metric.name], "with": rows[-1][metric.name], "gain_share": share, "why": why}
        if used:
            oof_blend, test_blend = decided, rule.apply(test_blend)
    table = pd.DataFrame(rows)
    by_member = dict(zip([m.name for m in members], map(float, weights)))
    table["weight"] = np.where(table.kind == "member", table.member.map(by_member),
                               np.where(table.kind.isin(["ensemble", "decision"]), 1.0, np.nan))
    table["seconds"] = table.seconds.round(1)
    table["seed"] = table.seed.astype("Int64")
    return {"table": table, "weights": by_member, "targets": y, "decision": decision,
            "oof": Predictions(train_rows, oof_blend), "test": Predictions(test_rows, test_blend)}


def final_row(table: pd.DataFrame, decision: dict | None) -> pd.Series:
    """The table's row that describes the submitted outputs: the ensemble, with its decision rule if used."""
    kind = "decision" if decision and decision["used"] else "ensemble"
    return table[table.kind == kind].iloc[-1]


def row_ensemble_files(output, train_path, test_path, folds: pd.DataFrame, competition, task: Task, metric: Metric, models: dict,
                       held_out: dict, test: dict, seconds: dict, decide: bool = True, refit: bool = False) -> None:
    """The ensemble rule's files (`output`: its named outputs) for a task with a row of outputs per text, from the
    chains' tables ({(member, seed): [table per fold]}), the training file (the only targets) and the folds table;
    `decide`: fit the task's decision rule; `refit`: the test tables are the refits'."""
    members = [Member(name, model,
                      oof={seed: out_of_fold(held_out[m, seed]) for (m, seed) in held_out if m == name},
                      test={seed: mean(test[m, seed]) for (m, seed) in test if m == name},
                      seconds={seed: seconds[m, seed] for (m, seed) in seconds if m == name})
               for name, model in models.items()]
    targets = task.encode(competition.read_train(train_path))
    folds = folds.set_index("row")
    result = evaluate_ensemble(members, targets, folds, task, metric, decide=decide)
    table = result["table"]
    write_csv(output.members, table)
    save_figure(output.score_plot, plot_scores(table, metric))
    result["oof"].write(output.oof)
    result["test"].write(output.test)
    write_csv(output.per_class, task.diagnostics(result["targets"], result["oof"].outputs))
    score = float(final_row(table, result["decision"])[metric.name])
    save_figure(output.diagnostics, task.plot_diagnostics(result["targets"], result["oof"].outputs,
                                                          f"ensemble, out of fold: {metric.name} {score:.4f}"))
    write_json(output.metrics, {"metric": metric.name, "score": score, metric.name: score,
                                "greater_is_better": metric.greater_is_better, "blend_loss": task.surrogate,
                                "task": task.kind, "oof_rows": int(len(result["oof"].rows)), "weights": result["weights"],
                                "folds": int(folds.fold[folds.fold >= 0].nunique()), "decision": result["decision"],
                                "test_outputs": ("each member's refit on every training row" if refit
                                                 else "the mean of the folds' models")})
    pd.set_option("display.width", 200)
    print(table.to_string(index=False))
    print(f"weights (fitted on out-of-fold predictions, minimising {task.surrogate}):", result["weights"])
    if result["decision"]:
        decision = result["decision"]
        print(f"{decision['rule']} (fitted on out-of-fold outputs, scored cross-fitted): {decision['fitted']}; "
              f"{metric.name} {decision['without']:.4f} -> {decision['with']:.4f}: "
              f"{'used on test' if decision['used'] else 'not used'}: {decision['why']}")
