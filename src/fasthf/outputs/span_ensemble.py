"""A span task's ensemble: each chain's outputs per token made outputs per unit, the members blended per unit,
decoded into spans, and scored out of fold by the competition's metric.

A (member, seed)'s out-of-fold table is its folds' held-out tables together (each row held out once); its test
table is its folds' test tables together, so a character's outputs are the mean over the folds' tokens that
read it (the folds share a tokenizer). Per unit (a word, or a character: `fasthf.tasks.spans.SpanSettings.unit`)
a member's outputs are the mean over the unit's characters; the members are blended per unit, whatever
tokenizers they read the text with, by weights that minimise the log loss of the units' tags out of fold (as
the row tasks' blends do: `fasthf.outputs.ensemble.fit_weights`), fitted on every held-out unit that all members
read; the blend's own out-of-fold score is cross-fitted over the folds (each fold's units blended by weights
fitted on the others). The threshold a unit
must reach to be inside a span is fitted out of fold over `THRESHOLDS` and scored cross-fitted over the folds
(each fold's rows decoded at the threshold fitted on the others); it is used on test only where that score
beats the task's own threshold clearly (over resamples of the held-out groups), as `fasthf.outputs.decisions`
does for class offsets; then each type's minimum span length likewise (`fasthf.outputs.span_lengths`). The
unit tables hand on the same form as the token tables (`row,start,end,out_k`, a line per unit), which
`answers` decodes into the submission's answers.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from fasthf.encoding.span_tokens import token_tags
from fasthf.io import save_figure, write_csv, write_json
from fasthf.outputs.decisions import clear_gain, cross_fitted, gain_verdict
from fasthf.outputs.ensemble import fit_weights
from fasthf.outputs.metrics import Metric
from fasthf.outputs.span_lengths import lengths_decision, without_short_spans
from fasthf.outputs.token_table import TokenOutputs, decoded
from fasthf.tasks.spans import Spans
from fasthf.training.evaluation import figure, plot_scores


@dataclass
class SpanMember:
    """One member's tables per seed: the folds' held-out tables and their test tables."""
    name: str
    model: str
    oof: dict[int, list[TokenOutputs]]
    test: dict[int, list[TokenOutputs]]
    seconds: dict[int, float]


def together(tables: Sequence[TokenOutputs]) -> TokenOutputs:
    return TokenOutputs(np.concatenate([t.rows for t in tables]), np.concatenate([t.ranges for t in tables]),
                        np.concatenate([t.outputs for t in tables]))


def unit_table(task: Spans, texts: Sequence[str], tables: Sequence[TokenOutputs]) -> TokenOutputs:
    """A line per unit of every row the tables read: its outputs, the mean over its characters of the mean
    over every token (of every table) that read each."""
    rows, ranges, outputs = [], [], []
    for row, windows in together(tables).by_row().items():
        units, probs = task.unit_probs(texts[row], [windows])
        rows.append(np.full(len(units), row)), ranges.append(units), outputs.append(probs)
    if not rows:
        return TokenOutputs(np.zeros(0), np.zeros((0, 2)), np.zeros((0, task.n_outputs)))
    return TokenOutputs(np.concatenate(rows), np.concatenate(ranges), np.concatenate(outputs))


def blend_units(tables: Sequence[TokenOutputs], weights: Sequence[float] | None = None) -> TokenOutputs:
    """The (weighted) mean of unit tables of the same rows and units; a unit without outputs in one table takes
    the others', their weights made to sum to one again."""
    first = tables[0]
    for table in tables[1:]:
        if not (np.array_equal(table.rows, first.rows) and np.array_equal(table.ranges, first.ranges)):
            raise ValueError("unit tables of different rows or units cannot be blended")
    stacked = np.stack([t.outputs for t in tables])
    shares = np.ones(len(tables)) if weights is None else np.asarray(weights, dtype=np.float64)
    read = ~np.isnan(stacked).any(axis=2)  # (tables, units): the tables with outputs for the unit
    with warnings.catch_warnings():  # a unit no table has outputs for stays NaN (whitespace characters)
        warnings.simplefilter("ignore", RuntimeWarning)
        total = (shares[:, None] * read).sum(axis=0)
        mean = np.einsum("t,tuk->uk", shares, np.nan_to_num(stacked)) / total[:, None]
    mean[total == 0] = np.nan
    return TokenOutputs(first.rows, first.ranges, mean)


def unit_tags(task: Spans, truth: np.ndarray, units: TokenOutputs) -> np.ndarray:
    """Each unit's true tag id (`fasthf.encoding.span_tokens.token_tags`), from its row's spans in `truth`."""
    tags = np.empty(len(units.rows), dtype=np.int64)
    for row in np.unique(units.rows):
        at = units.rows == row
        tags[at] = token_tags(truth[row][1], units.ranges[at], task.types)
    return tags


def blend_weights(task: Spans, truth: np.ndarray, tables: Sequence[TokenOutputs], parts: np.ndarray | None = None
                  ) -> tuple[np.ndarray, TokenOutputs]:
    """The weights that minimise the log loss of the held-out units' tags (units every table read), and the
    out-of-fold blend cross-fitted over `parts` (a row's fold, per unit row; None: by those weights)."""
    tags = unit_tags(task, truth, tables[0])
    read = ~np.isnan(np.stack([t.outputs for t in tables])).any(axis=(0, 2)) & (tags >= 0)

    def fitted(units):
        return fit_weights([t.outputs[units & read] for t in tables], tags[units & read], task)
    weights = fitted(np.ones(len(tags), bool))
    if parts is None or len(np.unique(parts)) < 2:
        return weights, blend_units(tables, weights)
    blended = cross_fitted(len(tags), parts, fitted, lambda fold_weights, mine: blend_units(
        [TokenOutputs(t.rows[mine], t.ranges[mine], t.outputs[mine]) for t in tables], fold_weights).outputs)
    return weights, TokenOutputs(tables[0].rows, tables[0].ranges, blended)


# -- the threshold, fitted out of fold ------------------------------------------------------------------------------
THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.1, 0.91, 0.05), 2))


def best_threshold(task: Spans, metric: Metric, truth: np.ndarray, texts: Sequence[str], by_row: dict,
                   rows: np.ndarray) -> float:
    """The threshold of `THRESHOLDS` whose decoded spans score best on `rows` (ties: the one nearest the task's)."""
    scores = {t: metric.score(truth[rows], decoded(task, texts, None, rows, t, by_row)) for t in THRESHOLDS}
    best = max(scores.values()) if metric.greater_is_better else min(scores.values())
    return min((t for t, s in scores.items() if s == best), key=lambda t: abs(t - task.settings.threshold))


def threshold_decision(task: Spans, metric: Metric, truth: np.ndarray, texts: Sequence[str], units: TokenOutputs,
                       rows: np.ndarray, parts: np.ndarray, plain: float, groups: np.ndarray | None = None
                       ) -> tuple[dict, float] | None:
    """The threshold fitted on every held-out row and its cross-fitted score (each part's rows decoded at the
    threshold fitted on the other parts): (the decision, that score); None with fewer than two parts. Used only
    where the gain is clear over resamples of the held-out `groups` (`fasthf.outputs.decisions.clear_gain`;
    default: each row its own)."""
    if len(np.unique(parts)) < 2:
        return None
    by_row = units.by_row()
    spans = {}
    for part in np.unique(parts):
        fitted = best_threshold(task, metric, truth, texts, by_row, rows[parts != part])
        spans.update(zip(rows[parts == part], decoded(task, texts, None, rows[parts == part], fitted, by_row)))
    fitted_spans = [spans[row] for row in rows]
    plain_spans = decoded(task, texts, None, rows, None, by_row)
    score = metric.score(truth[rows], fitted_spans)
    threshold = best_threshold(task, metric, truth, texts, by_row, rows)
    groups = np.arange(len(rows)) if groups is None else np.asarray(groups)
    share = clear_gain(lambda r: metric.score(truth[rows[r]], [fitted_spans[k] for k in r]),
                       lambda r: metric.score(truth[rows[r]], [plain_spans[k] for k in r]), groups, metric)
    used, why = gain_verdict(share, len(np.unique(groups)), bool(metric.better(score, plain)))
    if used and threshold == task.settings.threshold:
        used, why = False, f"the threshold fitted on every held-out row is the task's own, {threshold}"
    return {"rule": "threshold", "fitted": threshold, "used": used, "without": plain, "with": score,
            "gain_share": share, "why": why}, score


def at_threshold(task: Spans, units: TokenOutputs, threshold: float) -> TokenOutputs:
    """The units' outputs shifted so that decoding at the task's threshold decodes as at `threshold`: the
    probability of O moves by the difference, so every unit's margin (not O, less the threshold) is unchanged."""
    outputs = units.outputs.copy()
    outputs[:, 0] += threshold - task.settings.threshold
    return TokenOutputs(units.rows, units.ranges, outputs)


def answers(task: Spans, texts: Sequence[str], units: TokenOutputs) -> np.ndarray:
    """Each text's answer in the submission's form, decoded from the unit table, in the texts' order."""
    spans = decoded(task, texts, units, range(len(texts)))
    answered = np.empty(len(texts), dtype=object)  # filled, not np.array(list): an answer may be a list of rows
    answered[:] = [task.answer(text, found) for text, found in zip(texts, spans)]
    return answered


def evaluate_span_ensemble(members: list[SpanMember], truth: np.ndarray, task: Spans, metric: Metric,
                           train_texts: Sequence[str], test_texts: Sequence[str], train_rows: np.ndarray,
                           parts: np.ndarray | None = None, groups: np.ndarray | None = None,
                           decide: bool = True) -> dict:
    """Every seed, member and the blend scored out of fold on `train_rows` (the rows the folds hold out: a text
    without a token, an empty one, is scored too, with no span); the blend's out-of-fold and test unit tables.
    With `parts` (each row's fold), the threshold is fitted out of fold and used on test only where its
    cross-fitted score beats the task's own threshold clearly, then the minimum span length per type
    (`fasthf.outputs.span_lengths`, in the decision's `lengths`) likewise (`decide` false: neither). `score`: the
    out-of-fold score of the outputs handed on, cross-fitted where a decision was used."""
    rows, member_oof, member_test = [], [], []
    score = lambda units: {"rows": int(len(train_rows)),  # noqa: E731
                           metric.name: metric.score(truth[train_rows], decoded(task, train_texts, units, train_rows))}
    for member in members:
        describe = {"member": member.name, "model": member.model}
        seed_oof = {seed: unit_table(task, train_texts, tables) for seed, tables in member.oof.items()}
        for seed, units in seed_oof.items():
            rows.append({"name": f"{member.name} seed {seed}", "kind": "seed", **describe, "seed": seed,
                         **score(units), "seconds": member.seconds[seed]})
        member_oof.append(blend_units(list(seed_oof.values())))
        member_test.append(blend_units([unit_table(task, test_texts, tables) for tables in member.test.values()]))
        if len(seed_oof) > 1:
            rows.append({"name": f"{member.name} ({len(seed_oof)} seeds)", "kind": "member", **describe,
                         **score(member_oof[-1]), "seconds": sum(member.seconds.values())})
        else:
            rows[-1]["kind"] = "member"
    weights = np.ones(1)
    if len(members) == 1:
        oof, test = member_oof[0], member_test[0]
    else:
        unit_parts = None if parts is None else pd.Series(parts, index=train_rows).reindex(member_oof[0].rows).to_numpy()
        weights, oof = blend_weights(task, truth, member_oof, unit_parts)
        test = blend_units(member_test, weights)
    rows.append({"name": "ensemble", "kind": "ensemble", **score(oof),
                 "seconds": sum(sum(m.seconds.values()) for m in members)})
    decision, final = None, rows[-1][metric.name]
    fitted = None if parts is None or not decide else threshold_decision(
        task, metric, truth, train_texts, oof, train_rows, parts, final, groups)
    if fitted is not None:
        decision, decided = fitted
        rows.append({**rows[-1], "name": f"ensemble + threshold {decision['fitted']:.2f}", "kind": "decision",
                     metric.name: decided})
        if decision["used"]:
            oof, test = at_threshold(task, oof, decision["fitted"]), at_threshold(task, test, decision["fitted"])
            final = decided
        # then the minimum length of each type's spans, on the spans of the threshold used
        lengths = lengths_decision(task, metric, truth, train_texts, oof, train_rows, parts, groups)
        if lengths is not None:
            decision["lengths"], shortened = lengths
            rows.append({**rows[-1], "name": "ensemble + minimum lengths", "kind": "decision", metric.name: shortened})
            if decision["lengths"]["used"]:
                minimum = decision["lengths"]["fitted"]
                oof = without_short_spans(task, train_texts, oof, minimum)
                test = without_short_spans(task, test_texts, test, minimum)
                final = shortened
    weights = {m.name: float(w) for m, w in zip(members, weights)}
    table = pd.DataFrame(rows)
    table["weight"] = np.where(table.kind == "member", table.member.map(weights),
                               np.where(table.kind.isin(["ensemble", "decision"]), 1.0, np.nan))
    table["seconds"] = table.seconds.round(1)
    table["seed"] = table.seed.astype("Int64")
    return {"table": table, "weights": weights, "decision": decision, "oof": oof, "test": test,
            "train_rows": train_rows, "score": final}


def blended_units(task: Spans, texts: Sequence[str], outputs: dict, weights: dict[str, float],
                  decision: dict | None) -> TokenOutputs:
    """The unit table an inference package decodes (fasthf.routes.package), by the ensemble's arithmetic: per
    (member, seed) its folds' token tables as one unit table, a member's seeds and then the members blended per
    unit by their `weights` ({member: weight}), the threshold and minimum lengths where the ensemble used them.
    `outputs`: {(member,
    seed): [token table per fold]}."""
    per_member = [blend_units([unit_table(task, texts, tables) for (m, _), tables in outputs.items() if m == name])
                  for name in weights]
    units = blend_units(per_member, list(weights.values()))
    if decision and decision.get("used"):
        units = at_threshold(task, units, decision["fitted"])
    if decision and (decision.get("lengths") or {}).get("used"):
        units = without_short_spans(task, texts, units, decision["lengths"]["fitted"])
    return units


def per_row_scores(metric: Metric, truth: np.ndarray, predicted: Sequence[Sequence], rows: Sequence[int]) -> np.ndarray:
    """The metric of each row alone (`predicted`: the spans of `rows`, in order): what the diagnostics plot shows."""
    return np.array([metric.score(truth[[row]], [found]) for row, found in zip(rows, predicted)])


def span_counts(task: Spans, truth: np.ndarray, predicted: Sequence[Sequence]) -> pd.DataFrame:
    """Per span type: the true spans, the predicted ones, and those predicted exactly (same characters)."""
    rows = []
    for kind in task.types:
        true = [{(s.start, s.end) for s in spans if s.type == kind} for _, spans in truth]
        found = [{(s.start, s.end) for s in spans if s.type == kind} for spans in predicted]
        rows.append({"type": kind or "span", "true": sum(map(len, true)), "predicted": sum(map(len, found)),
                     "exact": sum(len(t & f) for t, f in zip(true, found))})
    return pd.DataFrame(rows)


def plot_row_scores(scores: np.ndarray, metric: Metric, title: str):
    """A histogram of the metric row by row: how many texts are answered well, partly, not at all."""
    fig, axes = figure(6, 4)
    axes[0][0].hist(scores, bins=np.linspace(0, 1, 21), color="#3182bd")
    axes[0][0].set_xlabel(f"{metric.name} of each held-out text")
    axes[0][0].set_ylabel("texts")
    fig.suptitle(title)
    return fig


def span_ensemble_files(output, train_path, test_path, folds: pd.DataFrame, competition, task: Spans, metric: Metric,
                        models: dict, held_out: dict, test: dict, seconds: dict, decide: bool = True,
                        refit: bool = False) -> None:
    """The ensemble rule's files (`output`: its named outputs) for a span task, from the chains' tables
    ({(member, seed): [table per fold]}), the competition's training and test files and the folds table;
    `decide`: fit the threshold out of fold; `refit`: the test tables are the refits'."""
    train = competition.read_train(train_path)
    truth = task.encode(train)
    train_texts = [text for text, _ in truth]
    test_texts = task.texts(competition.read_test(test_path))
    members = [SpanMember(name, model, {seed: held_out[m, seed] for (m, seed) in held_out if m == name},
                          {seed: test[m, seed] for (m, seed) in test if m == name},
                          {seed: seconds[m, seed] for (m, seed) in seconds if m == name})
               for name, model in models.items()]
    held = folds[folds.fold >= 0].sort_values("row")
    result = evaluate_span_ensemble(members, truth, task, metric, train_texts, test_texts, held.row.to_numpy(),
                                    held.fold.to_numpy(), held.group.to_numpy(), decide=decide)
    table, rows = result["table"], result["train_rows"]
    write_csv(output.members, table)
    save_figure(output.score_plot, plot_scores(table, metric))
    result["oof"].write(output.oof)
    result["test"].write(output.test)
    predicted = decoded(task, train_texts, result["oof"], rows)
    write_csv(output.per_class, span_counts(task, truth[rows], predicted))
    decision, score = result["decision"], float(result["score"])
    scores = per_row_scores(metric, truth, predicted, rows)
    save_figure(output.diagnostics, plot_row_scores(scores, metric, f"ensemble, out of fold: {metric.name} "
                                                                              f"{score:.4f}"))
    write_json(output.metrics, {"metric": metric.name, "score": score, metric.name: score,
                                          "greater_is_better": metric.greater_is_better, "blend_loss": None,
                                          "task": task.kind, "oof_rows": int(len(rows)), "weights": result["weights"],
                                          "folds": int(folds.fold[folds.fold >= 0].nunique()), "decision": decision,
                                          "test_outputs": ("each member's refit on every training row, per unit"
                                                           if refit else "the mean of the folds' models, per unit")})
    print(table.to_string(index=False))
