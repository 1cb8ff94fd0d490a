"""Minimum span lengths per type (fasthf.outputs.span_lengths): fitted out of fold, used where they help clearly, and
carried in the outputs so that decoding drops the short spans."""
import numpy as np

from fasthf.inputs.span_labels import Span
from fasthf.outputs.metrics import METRICS
from fasthf.outputs.span_lengths import lengths_decision, units_covered, without_short_spans
from fasthf.outputs.token_table import TokenOutputs, decoded
from fasthf.tasks import Spans
from fasthf.tasks.spans import SpanSettings

TASK = Spans(["start", "end", "type"], ["Claim", "Lead"],
             settings=SpanSettings(form="segments", unit="words", answer="segment_rows"))
TEXT = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"
O, B_CLAIM, I_CLAIM, B_LEAD = [1, 0, 0, 0, 0], [.1, .8, .1, 0, 0], [.1, .1, .8, 0, 0], [.1, 0, 0, .8, .1]


def essays(n: int) -> tuple[np.ndarray, list[str], TokenOutputs]:
    """n copies of one essay: truly a claim of words 2-5 and a one-word lead (word 0); the model finds both, and
    a one-word claim (word 8) that is not there."""
    units = TASK.settings.units_of(TEXT)
    tags = [B_LEAD, O, B_CLAIM, I_CLAIM, I_CLAIM, I_CLAIM, O, O, B_CLAIM, O]
    truth = np.empty(n, dtype=object)
    truth[:] = [(TEXT, [Span(0, 2, "Lead"), Span(6, 17, "Claim")])] * n
    table = TokenOutputs(np.repeat(np.arange(n), len(units)), np.tile(units, (n, 1)), np.tile(tags, (n, 1)))
    return truth, [TEXT] * n, table


def test_a_span_covers_the_units_it_overlaps():
    units = TASK.settings.units_of(TEXT)
    assert units_covered([Span(6, 17), Span(24, 26), Span(0, 1)], units).tolist() == [4, 1, 1]


def test_each_types_minimum_is_fitted_out_of_fold_and_drops_only_the_short_spans_of_its_type():
    truth, texts, units = essays(12)
    rows = np.arange(12)
    metric = METRICS["overlap_f1"]
    assert decoded(TASK, texts, units, [0]) == [[Span(0, 2, "Lead"), Span(6, 17, "Claim"), Span(24, 26, "Claim")]]
    decision, score = lengths_decision(TASK, metric, truth, texts, units, rows, rows % 3)
    # a claim needs 2 words, anything from 2 to 4 scores the same (the shortest is kept); the lead keeps its 1
    assert decision["fitted"] == {"Claim": 2, "Lead": 1}
    assert decision["used"] and decision["with"] == score > decision["without"]
    kept = without_short_spans(TASK, texts, units, decision["fitted"])
    assert decoded(TASK, texts, kept, rows) == [[Span(0, 2, "Lead"), Span(6, 17, "Claim")]] * 12
    np.testing.assert_array_equal(kept.outputs[kept.ranges[:, 0] != 24], units.outputs[units.ranges[:, 0] != 24])


def test_no_minimum_where_every_text_has_exactly_one_span_or_the_folds_are_one():
    truth, texts, units = essays(6)
    metric = METRICS["overlap_f1"]
    one = Spans(["selected_text"], settings=SpanSettings(one=True))
    assert lengths_decision(one, metric, truth, texts, units, np.arange(6), np.arange(6) % 2) is None
    assert lengths_decision(TASK, metric, truth, texts, units, np.arange(6), np.zeros(6)) is None
