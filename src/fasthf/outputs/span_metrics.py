"""Metrics of Kaggle's span competitions, as pure functions over spans.

A span is a half-open character range (start, end) of the original text, the Python slice
text[start:end], optionally with a type: (start, end, type). Formulas as the competitions state them;
tests/unit/test_span_metrics.py re-states each grader that MLE-bench (`grade.py`) or MLE-Dojo
(`metric.py`) holds, and the public re-implementations where neither holds one, and checks us against it.

- word_jaccard (one span per text: the short posts' extraction competition, chaii): a =
  set(truth.lower().split()), b the same of the prediction, c = a & b; J = |c| / (|a| + |b| - |c|).
  Split on whitespace only, so punctuation stays on
  its word ("sad!" is not "sad"); a repeated word counts once. mean_word_jaccard: the mean of J over rows.
  Two texts without words (empty, blank, NaN) make the official code divide 0 by 0; here J = 1.0 (they
  agree), as MLE-Dojo's chaii grader. The others differ: MLE-bench's grader for the short posts raises
  ZeroDivisionError; MLE-bench's chaii grader (sklearn jaccard_score, average="samples") and MLE-Dojo's
  grader for the short posts give 0.0. Every grader agrees on rows where either text has a word (but
  MLE-Dojo's chaii grader reads a NaN cell as the word "nan").
- character_micro_f1 (NBME): for each instance the sets G and P of character indices its gold and its
  predicted spans cover; TP = |G & P|, FN = |G - P|, FP = |P - G|, each summed over all instances, then
  one F1 = 2TP / (2TP + FN + FP); no character anywhere (0/0) gives 1.0, as MLE-Dojo. Overlapping or
  repeated spans count each character once. parse_locations reads train.csv's list literal
  ("['70 91', '176 183']", one element may join pieces with ';') and the submission's "0 3;3 5";
  format_locations writes the latter. Where MLE-Dojo skips a piece it cannot read (or a reversed one),
  we raise ValueError: a score that silently drops spans hides a bug. MLE-bench holds no NBME grader.
- micro_fbeta (PII Data Detection): rows (document, token, label), labels BIO. As the public
  re-implementation (credited to kaggle.com/code/amedprof/pii-evaluation-metric): a predicted row is a TP
  when the truth holds the very row, BIO prefix included (B-NAME against I-NAME is a FP and a FN), else
  a FP; a true row no prediction hits is a FN. The counts are kept per entity type (B-/I- stripped,
  fbeta_counts) and summed: F = (1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP), b = 5, so a miss costs 25
  times a false alarm. Ours and theirs differ only at the edges: rows labelled O are left out (a
  submission holds none; theirs would count an O prediction); rows are sets, so a repeated predicted
  row counts once (theirs counts it again as a FP); no rows at all gives 1.0 (theirs 0.0). Neither
  MLE-bench nor MLE-Dojo holds a grader for this competition.
- overlap_macro_f1 (Feedback Prize 2021): frames of id, class, predictionstring (space-separated indices
  into text.split()). Per (id, class), a prediction P and a gold G (sets of word indices) match when
  |P & G| / |G| >= 0.5 and |P & G| / |P| >= 0.5 (exactly 0.5 matches). Matching pairs are taken by the
  higher of the two overlaps, highest first (ties: the earlier gold, then the earlier prediction), each
  gold and each prediction at most once: TP; golds left over are FN, predictions left over FP. Per
  class F1 = TP / (TP + 0.5 (FP + FN)); the mean over the classes the truth holds (a class only
  predicted is not scored). This is the widely copied score_feedback_comp (kaggle.com/robikscube) but
  for two flaws of that code: it chooses per gold, so one prediction matching two golds counts two TPs;
  and its outer join's NaN ids add one phantom FP to a class with a gold in an essay without a
  prediction of it, and one phantom FN to a class with a prediction in an essay without a gold of it.
  No truth at all gives 1.0 if nothing is predicted, else 0.0. Neither benchmark holds this grader.
- words_of_span / span_of_words convert character spans and text.split() word indices: a word belongs
  to a span when any of its characters lies inside it, so a span a tokenizer's offsets cut mid-word
  still takes the word. The host built train.csv's predictionstring as range(w, w + n), w =
  len(text[:start].split()), n = len(text[start:end].split()): the same words unless start falls inside
  a word, where that rule drops the word and takes one past the end.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from fasthf.encoding.span_tokens import word_ranges
from fasthf.inputs.span_labels import checked_range as _checked, is_missing as _is_missing, parse_locations
from fasthf.inputs.token_records import bio_of_spans

Span = tuple  # (start, end) or (start, end, type)


def _paired(truths: Iterable, predictions: Iterable) -> tuple[list, list]:
    truths, predictions = list(truths), list(predictions)
    if len(truths) != len(predictions):
        raise ValueError(f"{len(truths)} truths but {len(predictions)} predictions: score them row by row.")
    return truths, predictions


# -- Jaccard: one span per text (short posts, chaii) ------------------------------------------------------------------
def _words(text: Any) -> set[str]:
    return set() if _is_missing(text) else set(str(text).lower().split())


def word_jaccard(truth: str, predicted: str) -> float:
    a, b = _words(truth), _words(predicted)
    if not a and not b:  # 0/0 in the official code; two empty answers agree
        return 1.0
    c = len(a & b)
    return c / (len(a) + len(b) - c)


def mean_word_jaccard(truths: Iterable[str], predictions: Iterable[str]) -> float:
    truths, predictions = _paired(truths, predictions)
    if not truths:
        raise ValueError("no rows to score: the mean Jaccard of nothing is undefined.")
    return sum(map(word_jaccard, truths, predictions)) / len(truths)


# -- NBME: character micro F1 ------------------------------------------------------------------------------------
def format_locations(spans: Iterable[Span]) -> str:
    """The submission's location cell: "s e;s e", sorted, each span once; "" for none."""
    return ";".join(f"{s} {e}" for s, e in sorted({_checked(int(span[0]), int(span[1])) for span in spans}))


def characters(spans: Iterable[Span] | str) -> set[int]:
    """The character indices the spans cover; a location cell (str or NaN) is parsed first."""
    if isinstance(spans, str) or _is_missing(spans):
        spans = parse_locations(spans)
    return {i for span in spans for i in range(*_checked(int(span[0]), int(span[1])))}


def character_counts(truths: Sequence, predictions: Sequence) -> tuple[int, int, int]:
    """(TP, FN, FP) over character indices, summed over the instances (each a list of spans or a cell)."""
    tp = fn = fp = 0
    for truth, predicted in zip(*_paired(truths, predictions)):
        gold, pred = characters(truth), characters(predicted)
        tp, fn, fp = tp + len(gold & pred), fn + len(gold - pred), fp + len(pred - gold)
    return tp, fn, fp


def character_micro_f1(truths: Sequence, predictions: Sequence) -> float:
    tp, fn, fp = character_counts(truths, predictions)
    return 2 * tp / (2 * tp + fn + fp) if tp + fn + fp else 1.0


def _span_text(text: str, spans: Iterable[Span]) -> str:
    return " ".join(text[span[0]:span[1]] for span in spans)


def spans_jaccard(truth: Sequence[tuple[str, Sequence[Span]]], predicted: Sequence[Sequence[Span]]) -> float:
    """mean_word_jaccard of each row's spans as text: `truth` per row (its text, its spans) as a span task
    encodes it, `predicted` per row the decoded spans of that text."""
    return mean_word_jaccard([_span_text(text, spans) for text, spans in truth],
                             [_span_text(text, spans) for (text, _), spans in zip(truth, predicted)])


def spans_character_f1(truth: Sequence[tuple[str, Sequence[Span]]], predicted: Sequence[Sequence[Span]]) -> float:
    """character_micro_f1 of each row's true spans (`truth`: (text, spans)) against its `predicted` ones."""
    return character_micro_f1([spans for _, spans in truth], list(predicted))


# -- PII: micro F-beta over (document, token, label) rows -------------------------------------------------------
def entity_type(label: str) -> str:
    return label[2:] if label[:2] in ("B-", "I-") else label


def pii_rows(frame) -> set[tuple]:
    """The (document, token, label) rows of a submission or answers frame."""
    return set(frame[["document", "token", "label"]].itertuples(index=False, name=None))


def fbeta_counts(truth: Iterable[tuple], predicted: Iterable[tuple]) -> dict[str, tuple[int, int, int]]:
    """Per entity type (B-/I- stripped): (TP, FN, FP) over exact rows, BIO label included; O rows left out."""
    truth = {row for row in truth if row[2] != "O"}
    predicted = {row for row in predicted if row[2] != "O"}
    counts: dict[str, list[int]] = {}
    for k, rows in enumerate((truth & predicted, truth - predicted, predicted - truth)):
        for row in rows:
            counts.setdefault(entity_type(row[2]), [0, 0, 0])[k] += 1
    return {kind: (c[0], c[1], c[2]) for kind, c in sorted(counts.items())}


def micro_fbeta(truth: Iterable[tuple], predicted: Iterable[tuple], beta: float = 5.0) -> float:
    counts = fbeta_counts(truth, predicted).values()
    tp, fn, fp = (sum(c[k] for c in counts) for k in range(3))  # micro: the types' counts summed
    b2 = beta ** 2
    denominator = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denominator if denominator else 1.0


def token_rows(rows: Iterable[int], texts: Sequence, spans: Sequence[Sequence[Span]]) -> set[tuple]:
    """(row, token, BIO label) of each labelled token: the spans made BIO tags over each text's given tokens
    (`texts`: `fasthf.inputs.token_records.TokenizedText`, whose `units` are its tokens' characters)."""
    return {(row, k, tag) for row, text, found in zip(rows, texts, spans)
            for k, tag in enumerate(bio_of_spans(found, text.units)) if tag != "O"}


def spans_micro_f5(truth: Sequence[tuple[str, Sequence[Span]]], predicted: Sequence[Sequence[Span]]) -> float:
    """micro_fbeta (beta 5, PII Data Detection) of the rows of labelled tokens: `truth` per row (its tokenized
    text, its spans), `predicted` per row the decoded spans."""
    texts = [text for text, _ in truth]
    rows = range(len(texts))
    return micro_fbeta(token_rows(rows, texts, [s for _, s in truth]), token_rows(rows, texts, predicted), beta=5.0)


# -- Feedback Prize 2021: segments matched at overlap >= 0.5 both ways, macro F1 over classes -------------------
def word_indices(predictionstring: Any) -> frozenset[int]:
    if _is_missing(predictionstring):
        return frozenset()
    try:
        return frozenset(int(w) for w in str(predictionstring).split())
    except ValueError:
        raise ValueError(f"predictionstring {predictionstring!r} is not space-separated word indices.") from None


def match_segments(golds: Sequence[frozenset], predictions: Sequence[frozenset]) -> list[tuple[int, int]]:
    """(gold, prediction) index pairs matched one to one, the pair of highest overlap first."""
    candidates = []
    for g, gold in enumerate(golds):
        for p, pred in enumerate(predictions):
            both = len(gold & pred)
            if both and 2 * both >= len(gold) and 2 * both >= len(pred):  # in integers, so 0.5 is exact
                candidates.append((-max(both / len(gold), both / len(pred)), g, p))
    pairs, used_gold, used_pred = [], set(), set()
    for _, g, p in sorted(candidates):
        if g not in used_gold and p not in used_pred:
            pairs.append((g, p))
            used_gold.add(g)
            used_pred.add(p)
    return pairs


def _segments(frame) -> dict[tuple, list[frozenset]]:
    kind = "class" if "class" in frame.columns else "discourse_type"  # train.csv names it discourse_type
    segments: dict[tuple, list[frozenset]] = {}
    for id_, cls, cell in zip(frame["id"], frame[kind], frame["predictionstring"]):
        segments.setdefault((id_, cls), []).append(word_indices(cell))
    return segments


def overlap_counts(truth, predicted) -> dict[str, tuple[int, int, int]]:
    """Per class the truth holds: (TP, FN, FP), summed over the essays."""
    gold, pred = _segments(truth), _segments(predicted)
    counts = {cls: [0, 0, 0] for cls in sorted({cls for _, cls in gold})}
    for key in gold.keys() | pred.keys():
        if key[1] not in counts:  # a class the truth lacks is not scored, as score_feedback_comp
            continue
        golds, preds = gold.get(key, []), pred.get(key, [])
        tp = len(match_segments(golds, preds))
        c = counts[key[1]]
        c[0], c[1], c[2] = c[0] + tp, c[1] + len(golds) - tp, c[2] + len(preds) - tp
    return {cls: (c[0], c[1], c[2]) for cls, c in counts.items()}


def overlap_macro_f1(truth, predicted) -> float:
    counts = overlap_counts(truth, predicted)
    if not counts:
        return 0.0 if len(predicted) else 1.0
    return sum(tp / (tp + 0.5 * (fn + fp)) for tp, fn, fp in counts.values()) / len(counts)


def span_words(text: str, spans: Sequence[Span]) -> list[list[int]]:
    """Each span's text.split() word indices (`words_of_span`), the text's words found once for all its spans."""
    offsets = word_ranges(text)
    starts, ends = offsets[:, 0], offsets[:, 1]
    return [list(range(int(np.searchsorted(ends, span[0], side="right")), int(np.searchsorted(starts, span[1]))))
            for span in spans]


def spans_overlap_f1(truth: Sequence[tuple[str, Sequence[Span]]], predicted: Sequence[Sequence[Span]]) -> float:
    """overlap_macro_f1 (Feedback Prize 2021) of each row's typed spans made segments of words: `truth` per row
    (its text, its spans), `predicted` per row the decoded spans."""
    def segments(rows):
        return pd.DataFrame([(row, span[2], " ".join(map(str, words))) for row, (text, spans) in enumerate(rows)
                             for span, words in zip(spans, span_words(text, spans)) if words],
                            columns=["id", "class", "predictionstring"])
    texts = [text for text, _ in truth]
    return overlap_macro_f1(segments(truth), segments(list(zip(texts, predicted))))


# -- characters <-> text.split() words ---------------------------------------------------------------------------
def words_of_span(text: str, start: int, end: int) -> list[int]:
    """The text.split() indices of the words with a character in text[start:end]."""
    return span_words(text, [_checked(start, end)])[0]


def span_of_words(text: str, words: Iterable[int] | str) -> tuple[int, int]:
    """The character span from the first to the last of the words (a predictionstring is read too)."""
    indices = sorted(word_indices(words) if isinstance(words, str) else {int(i) for i in words})
    offsets = word_ranges(text)
    if not indices:
        raise ValueError("no word indices: an empty set of words has no span.")
    if indices[0] < 0 or indices[-1] >= len(offsets):
        raise ValueError(f"word indices {indices[0]} to {indices[-1]} fall outside the text's {len(offsets)} words.")
    return offsets[indices[0]][0], offsets[indices[-1]][1]
