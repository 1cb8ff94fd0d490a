"""A span task's ensemble (fasthf.outputs.span_ensemble): token tables made unit tables, blended per unit across
members whose tokens differ, decoded into the submission's answers."""
import numpy as np
import pytest

from fasthf.inputs.span_labels import Span
from fasthf.outputs.span_ensemble import answers, blend_units, unit_table
from fasthf.outputs.token_table import TokenOutputs, decoded
from fasthf.tasks import Spans
from fasthf.tasks.spans import SpanSettings

TEXTS = ["so sad today", "love it"]
TASK = Spans(["selected_text"], settings=SpanSettings(one=True))


def probs(*inside):
    """Tag probabilities (O, B, I) with the given probability of not being O, split between B and I."""
    return np.array([[1 - p, p / 2, p / 2] for p in inside])


def test_two_members_with_different_tokens_blend_per_word():
    # member A read "so", "sad", "today"; member B read "so sa", "d", "to", "day" (other tokens, same words)
    a = TokenOutputs([0, 0, 0], [[0, 2], [3, 6], [7, 12]], probs(0.9, 0.9, 0.1))
    b = TokenOutputs([0, 0, 0, 0], [[0, 5], [5, 6], [7, 9], [9, 12]], probs(0.1, 0.9, 0.1, 0.1))
    units_a, units_b = unit_table(TASK, TEXTS, [a]), unit_table(TASK, TEXTS, [b])
    assert units_a.ranges.tolist() == units_b.ranges.tolist() == [[0, 2], [3, 6], [7, 12]]
    # "sad" in B: characters s, a from the first token (0.1), d from the second (0.9): their mean
    assert units_b.outputs[1, 0] == pytest.approx(1 - (0.1 + 0.1 + 0.9) / 3)
    blended = blend_units([units_a, units_b])
    assert np.allclose(blended.outputs, (units_a.outputs + units_b.outputs) / 2)
    assert decoded(TASK, TEXTS, blended, [0]) == [[Span(3, 6)]]  # "so" 0.5, "sad" 0.77: the best run is "sad"


def test_folds_tables_of_one_member_are_the_mean_per_character_and_rows_without_tokens_answer_nothing():
    first = TokenOutputs([1, 1], [[0, 4], [5, 7]], probs(0.2, 0.8))
    second = TokenOutputs([1, 1], [[0, 4], [5, 7]], probs(0.6, 0.4))
    units = unit_table(TASK, TEXTS, [first, second])
    assert np.allclose(units.outputs, probs(0.4, 0.6))
    assert answers(TASK, TEXTS, units).tolist() == ["", "it"]  # row 0 has no outputs here: no span


def test_unit_tables_of_other_rows_are_not_blended():
    with pytest.raises(ValueError, match="different rows or units"):
        blend_units([TokenOutputs([0], [[0, 2]], probs(0.5)), TokenOutputs([1], [[0, 2]], probs(0.5))])


def test_a_threshold_is_fitted_out_of_fold_and_used_only_where_it_beats_the_tasks_own():
    from fasthf.outputs.metrics import METRICS
    from fasthf.outputs.span_ensemble import THRESHOLDS, at_threshold, threshold_decision

    # several spans per text: every word of each text is truly inside a span, but the model says 0.3 for each
    task = Spans(["location"], settings=SpanSettings(form="locations", answer="locations"))
    texts = [f"word{k} other{k}" for k in range(8)]
    truth = np.empty(8, dtype=object)
    truth[:] = [(text, [Span(0, len(text))]) for text in texts]
    units = TokenOutputs(np.repeat(np.arange(8), 2), [r for text in texts for r in ([0, 5], [6, len(text)])],
                         probs(*[0.3] * 16))
    rows, parts = np.arange(8), np.arange(8) % 2
    metric = METRICS["jaccard"]
    plain = metric.score(truth, decoded(task, texts, units, rows))
    decision, score = threshold_decision(task, metric, truth, texts, units, rows, parts, plain)
    assert plain == 0 and score == 1 and decision["used"] and decision["fitted"] in THRESHOLDS
    assert decision["fitted"] <= 0.3
    shifted = at_threshold(task, units, decision["fitted"])
    assert metric.score(truth, decoded(task, texts, shifted, rows)) == 1  # decoded at 0.5 as at the fitted one
    # where the task's own threshold is already best, it stays
    sure = TokenOutputs(units.rows, units.ranges, probs(*[0.9] * 16))
    assert not threshold_decision(task, metric, truth, texts, sure, rows, parts, 1.0)[0]["used"]
    assert threshold_decision(task, metric, truth, texts, units, rows, np.zeros(8), plain) is None  # one part


def test_blend_weights_favour_the_member_whose_units_tags_are_right_and_the_test_blend_uses_them():
    from fasthf.outputs.metrics import METRICS
    from fasthf.outputs.span_ensemble import SpanMember, blend_weights, evaluate_span_ensemble, unit_tags

    # 12 texts "aa bb cc", the span always "bb": member good says so, member noise says 0.5 everywhere
    texts = ["aa bb cc"] * 12
    truth = np.empty(12, dtype=object)
    truth[:] = [(text, [Span(3, 5)]) for text in texts]
    ranges = [[0, 2], [3, 5], [6, 8]] * 12
    rows = np.repeat(np.arange(12), 3)
    good = TokenOutputs(rows, ranges, np.tile(probs(0.1, 0.9, 0.1), (12, 1)))
    noise = TokenOutputs(rows, ranges, probs(*[0.5] * 36))
    assert unit_tags(TASK, truth, good).tolist()[:3] == [0, 1, 0]  # O, B, O
    weights, _ = blend_weights(TASK, truth, [good, noise])
    assert weights[0] > 0.9 and weights.sum() == pytest.approx(1)
    # a unit one member did not read takes the other's outputs alone
    gap = TokenOutputs(rows, ranges, np.where(np.arange(36)[:, None] == 1, np.nan, noise.outputs))
    assert np.allclose(blend_units([good, gap], [0.5, 0.5]).outputs[1], good.outputs[1])
    members = [SpanMember(name, name, {42: [table]}, {42: [table]}, {42: 1.0}) for name, table in
               (("good", good), ("noise", noise))]
    result = evaluate_span_ensemble(members, truth, TASK, METRICS["jaccard"], texts, texts, np.arange(12),
                                    np.arange(12) % 3)
    assert result["weights"]["good"] > 0.9 and sum(result["weights"].values()) == pytest.approx(1)
    assert np.allclose(result["test"].outputs, blend_units([good, noise], list(result["weights"].values())).outputs)
    assert decoded(TASK, texts, result["test"], [0]) == [[Span(3, 5)]]
