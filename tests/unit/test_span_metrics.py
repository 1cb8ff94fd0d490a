"""The span competitions' metrics (fasthf.outputs.span_metrics) against the graders, each re-stated here in
its own terms: MLE-bench's `grade.py` and MLE-Dojo's `metric.py` where they hold one (Tweet, chaii: both;
NBME: MLE-Dojo only), else the public re-implementation the competitors used (PII: amedprof's metric as
copied into `compute_metrics`; Feedback: robikscube's `score_feedback_comp`)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from fasthf.encoding.span_tokens import word_ranges
from fasthf.outputs.span_metrics import (
    character_counts, character_micro_f1, fbeta_counts, format_locations, match_segments, mean_word_jaccard,
    micro_fbeta, overlap_counts, overlap_macro_f1, parse_locations, pii_rows, span_of_words, word_jaccard,
    words_of_span,
)


def one_sentence(message: str) -> bool:
    return message.endswith(".") and ". " not in message and "\n" not in message


def shuffled(frame, seed=0):
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


# -- Tweet Sentiment Extraction, chaii: word Jaccard -----------------------------------------------------------
def official_jaccard(s1, s2):
    """The competition page's code (MLE-bench's Tweet grader uses it as is): no guard for 0/0."""
    a, b = set(s1.lower().split()), set(s2.lower().split())
    c = a & b
    return len(c) / (len(a) + len(b) - len(c))


def mlebench_tweet(submission, answers):
    """MLE-bench: rows sorted by textID, NaN read as "", the mean of official_jaccard."""
    sub, ans = (f.sort_values("textID")["selected_text"].fillna("").astype(str).tolist() for f in (submission, answers))
    return float(np.mean([official_jaccard(p, a) for p, a in zip(sub, ans)]))


def dojo_tweet(y_true, y_pred):
    """MLE-Dojo: the union empty gives 0.0."""
    def jaccard(s1, s2):
        a, b = set(s1.lower().split()), set(s2.lower().split())
        return len(a & b) / len(a | b) if a | b else 0.0
    t, p = (f.assign(textID=f["textID"].astype(str)).sort_values("textID")["selected_text"] for f in (y_true, y_pred))
    return sum(jaccard(a, b) for a, b in zip(t, p)) / len(t)


def mlebench_chaii(submission, answers):
    """MLE-bench: word sets binarised, sklearn's jaccard_score(average="samples") (both empty: 0.0)."""
    from sklearn.metrics import jaccard_score
    from sklearn.preprocessing import MultiLabelBinarizer

    pred, true = ([set(s.lower().split()) for s in f.sort_values("id")["PredictionString"].fillna("")]
                  for f in (submission, answers))
    binarizer = MultiLabelBinarizer(classes=list(set.union(*true, *pred)), sparse_output=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Jaccard is ill-defined ... set to 0.0" for an empty row
        return float(jaccard_score(binarizer.fit_transform(true), binarizer.transform(pred), average="samples"))


def dojo_chaii(y_true, y_pred):
    """MLE-Dojo: both empty gives 1.0."""
    def jaccard(s1, s2):
        a, b = set(str(s1).lower().split()), set(str(s2).lower().split())
        return 1.0 if not a and not b else len(a & b) / (len(a) + len(b) - len(a & b))
    t, p = (f.sort_values("id")["PredictionString"] for f in (y_true, y_pred))
    return float(np.mean([jaccard(a, b) for a, b in zip(t, p)]))


TRUTHS = ["Sooo SAD", "my ridiculous dog is amazing.", "I`d have responded, if I were going", "good", "a b c",
          "  leading  and\ttabs ", "नमस्ते दुनिया", "happy happy joy"]
PREDICTIONS = ["sooo sad", "my dog is amazing", "i`d have responded,", "", "a b c d e f",
               "leading and tabs", "दुनिया", "HAPPY"]


def test_word_jaccard_worked_example_is_3_over_6():
    # a = {my, ridiculous, dog, is, amazing.}, b = {my, dog, is, amazing}: |c| = 3 ("amazing." is not "amazing")
    assert word_jaccard("my ridiculous dog is amazing.", "my dog is amazing") == pytest.approx(3 / 6)


def test_word_jaccard_is_case_insensitive_and_splits_on_whitespace_only():
    assert word_jaccard("Sooo SAD", "sooo sad") == 1.0
    assert word_jaccard("sad!", "sad") == 0.0  # punctuation stays on its word
    assert word_jaccard("don't,go", "don't go") == 0.0
    assert word_jaccard(" a \t b\n\nc ", "a b c") == 1.0  # any run of whitespace splits
    assert word_jaccard("sad sad day", "sad") == pytest.approx(1 / 2)  # a repeated word counts once


def test_mean_word_jaccard_agrees_with_all_four_graders_where_a_text_has_words():
    expected = np.mean([official_jaccard(t, p) for t, p in zip(TRUTHS, PREDICTIONS)])
    ids = [f"t{i}" for i in range(len(TRUTHS))]
    tweet_answers = pd.DataFrame({"textID": ids, "selected_text": TRUTHS})
    tweet_sub = shuffled(pd.DataFrame({"textID": ids, "selected_text": PREDICTIONS}))
    chaii_answers = pd.DataFrame({"id": ids, "PredictionString": TRUTHS})
    chaii_sub = shuffled(pd.DataFrame({"id": ids, "PredictionString": PREDICTIONS}))
    ours = mean_word_jaccard(TRUTHS, PREDICTIONS)
    assert ours == pytest.approx(expected)
    assert ours == pytest.approx(mlebench_tweet(tweet_sub, tweet_answers))
    assert ours == pytest.approx(dojo_tweet(tweet_answers, tweet_sub))
    assert ours == pytest.approx(mlebench_chaii(chaii_sub, chaii_answers))
    assert ours == pytest.approx(dojo_chaii(chaii_answers, chaii_sub))
    assert word_jaccard("good", "") == 0.0 and word_jaccard("", "good") == 0.0  # one side empty: 0 everywhere


def test_word_jaccard_of_two_empty_texts_is_1_where_the_graders_disagree():
    assert word_jaccard("", "") == 1.0
    assert word_jaccard("  ", float("nan")) == 1.0  # blank, and a blank CSV cell read as NaN
    answers = pd.DataFrame({"id": ["x", "y"], "PredictionString": ["", "a b"]})
    sub = answers.copy()
    assert dojo_chaii(answers, sub) == 1.0  # ours
    assert mlebench_chaii(sub, answers) == 0.5  # the empty row scores 0
    tweet = answers.rename(columns={"id": "textID", "PredictionString": "selected_text"})
    assert dojo_tweet(tweet, tweet.copy()) == 0.5
    with pytest.raises(ZeroDivisionError):
        mlebench_tweet(tweet.copy(), tweet)
    assert mean_word_jaccard(["", "a"], ["", "a"]) == 1.0


def test_mean_word_jaccard_refuses_unpaired_or_no_rows():
    with pytest.raises(ValueError, match="2 truths but 1 predictions"):
        mean_word_jaccard(["a", "b"], ["a"])
    with pytest.raises(ValueError):
        mean_word_jaccard([], [])


# -- NBME: character micro F1 ---------------------------------------------------------------------------------
def dojo_nbme(y_true, y_pred):
    """MLE-Dojo: rows sorted by id; a cell is a list literal or "s e;s e"; a piece it cannot read, or a
    reversed one, is skipped; 2TP / (2TP + FP + FN), 1.0 when nothing is anywhere."""
    import ast

    def parse(cell):
        if pd.isna(cell) or str(cell).strip() in ("", "[]"):
            return set()
        text = str(cell).strip()
        segments = [text]
        if text.startswith("[") and text.endswith("]"):
            try:
                value = ast.literal_eval(text)
                segments = value if isinstance(value, list) else [text]
            except (ValueError, SyntaxError):
                pass
        indices = set()
        for piece in (p.strip() for s in segments for p in str(s).strip().split(";")):
            parts = piece.split()
            if len(parts) == 2:
                try:
                    start, end = int(parts[0]), int(parts[1])
                except ValueError:
                    continue
                if start <= end:
                    indices.update(range(start, end))
        return indices
    t, p = (f.assign(id=f["id"].astype(str)).sort_values("id").reset_index(drop=True) for f in (y_true, y_pred))
    tp = fp = fn = 0
    for a, b in zip(t["location"], p["location"]):
        gold, pred = parse(a), parse(b)
        tp, fp, fn = tp + len(gold & pred), fp + len(pred - gold), fn + len(gold - pred)
    return 1.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def test_nbme_worked_example_counts_tp_3_fn_2_fp_2():
    # gold 0 1 2 3 4, prediction 2 3 4 7 8 (2 3 twice): TP {2,3,4}, FN {0,1}, FP {7,8}
    assert character_counts(["0 3; 3 5"], ["2 5; 7 9; 2 3"]) == (3, 2, 2)
    assert character_counts([[(0, 3), (3, 5)]], [[(2, 5), (7, 9), (2, 3)]]) == (3, 2, 2)
    assert character_micro_f1(["0 3; 3 5"], ["2 5; 7 9; 2 3"]) == pytest.approx(0.6)


def test_parse_locations_reads_the_training_list_literals():
    assert parse_locations("['696 724']") == [(696, 724)]
    assert parse_locations("['70 91', '176 183']") == [(70, 91), (176, 183)]
    assert parse_locations("[]") == []
    assert parse_locations("['482 488;522 530']") == [(482, 488), (522, 530)]
    assert parse_locations("['501 517', '482 488;522 530']") == [(501, 517), (482, 488), (522, 530)]
    assert parse_locations(["70 91", "176 183"]) == [(70, 91), (176, 183)]  # a column already evaluated


def test_parse_locations_reads_the_submission_form_and_blank_cells():
    assert parse_locations("0 3;3 5") == [(0, 3), (3, 5)]
    assert parse_locations("0 3; 5 9") == [(0, 3), (5, 9)]  # as the evaluation page writes it
    assert parse_locations("200 250;300 500;") == [(200, 250), (300, 500)]
    assert parse_locations("7 7") == [(7, 7)]  # empty, but a range
    for blank in ("", "   ", float("nan"), None):
        assert parse_locations(blank) == []


@pytest.mark.parametrize("cell, message", [
    ("0 3;x", "is not two whole numbers"), ("1 2 3", "is not two whole numbers"), ("0 3,5 9", "is not two"),
    ("['0 3'", "is not a Python list literal"), ("[0, 3]", "other than 'start end' strings"),
    ("5 3", "is reversed"), ("['5 3']", "is reversed"), ("-1 3", "negative index"), ("0 -3", "negative index"),
])
def test_parse_locations_raises_a_one_sentence_error(cell, message):
    with pytest.raises(ValueError, match=message) as error:
        parse_locations(cell)
    assert one_sentence(str(error.value))


def test_format_locations_writes_the_sorted_submission_form_and_round_trips():
    spans = [(7, 9), (0, 3), (3, 5), (0, 3)]
    assert format_locations(spans) == "0 3;3 5;7 9"
    assert format_locations([]) == ""
    assert format_locations([(10, 20, "feature")]) == "10 20"  # a typed span writes its range
    assert parse_locations(format_locations(spans)) == sorted(set(spans))
    with pytest.raises(ValueError, match="reversed"):
        format_locations([(9, 7)])


def test_character_counts_count_overlapping_and_repeated_characters_once():
    assert character_counts([[(0, 10)]], [[(0, 5), (3, 8), (3, 8)]]) == (8, 2, 0)
    assert character_counts(["10 20;30 40"], ["0 1000"]) == (20, 0, 980)  # a span covering everything


def test_character_micro_f1_agrees_with_mle_dojo_on_edge_cases():
    truths = ["['0 3', '3 5']", "", "['10 20']", "0 100", "[]", "['482 488;522 530']", float("nan")]
    predictions = ["2 5;7 9;2 3", "4 8", "", "0 1000", "", "480 490;480 490;525 600", "1 2"]
    ids = [f"{i:05d}_000" for i in range(len(truths))]
    for rows in ([0], [1], [2], [3], [4], [5], [6], [1, 2], [4, 4], list(range(len(truths)))):
        t = [truths[i] for i in rows]
        p = [predictions[i] for i in rows]
        answers = pd.DataFrame({"id": [ids[i] + str(k) for k, i in enumerate(rows)], "location": t})
        sub = shuffled(answers.assign(location=p))
        assert character_micro_f1(t, p) == pytest.approx(dojo_nbme(answers, sub)), rows
    assert character_micro_f1(["", "[]"], ["", float("nan")]) == 1.0  # nothing anywhere


# -- PII Data Detection: micro F-beta ---------------------------------------------------------------------------
def public_pii_metric(pred_df, gt_df, beta=5):
    """`compute_metrics` (credited to kaggle.com/code/amedprof/pii-evaluation-metric): a prediction is a TP
    when the truth holds the exact (document, token, label) row, which is then used up; counts per type
    with B-/I- stripped, summed; precision and recall guarded by 1e-100."""
    references = {(r.document, r.token, r.label) for r in gt_df.itertuples()}
    per_type: dict[str, list[int]] = {}  # type -> [tp, fp, fn]
    for row in [(r.document, r.token, r.label) for r in pred_df.itertuples()]:
        kind = row[2] if row[2] == "O" else row[2][2:]
        counts = per_type.setdefault(kind, [0, 0, 0])
        if row in references:
            counts[0] += 1
            references.remove(row)
        else:
            counts[1] += 1
    for _, _, label in references:
        per_type.setdefault(label if label == "O" else label[2:], [0, 0, 0])[2] += 1
    tp, fp, fn = (sum(c[k] for c in per_type.values()) for k in range(3))
    p, r = tp / (tp + fp + 1e-100), tp / (tp + fn + 1e-100)
    return (1 + beta ** 2) * p * r / (beta ** 2 * p + r + 1e-100)


def pii_frame(rows):
    return pd.DataFrame(sorted(rows), columns=["document", "token", "label"])


def test_micro_fbeta_worked_example_tp_2_fn_1_fp_1():
    truth = {(7, 9, "B-NAME_STUDENT"), (7, 10, "I-NAME_STUDENT"), (10, 0, "B-NAME_STUDENT")}
    predicted = {(7, 9, "B-NAME_STUDENT"), (7, 10, "I-NAME_STUDENT"), (10, 5, "B-EMAIL")}
    # (1 + 25) 2 / ((1 + 25) 2 + 25 * 1 + 1) = 52 / 78
    assert micro_fbeta(truth, predicted) == pytest.approx(52 / 78)
    assert micro_fbeta(truth, predicted, beta=1.0) == pytest.approx(2 / 3)  # F1: 2TP / (2TP + FN + FP)


def test_fbeta_counts_strip_b_and_i_to_the_entity_type():
    truth = {(7, 9, "B-NAME_STUDENT"), (7, 10, "I-NAME_STUDENT"), (10, 0, "B-NAME_STUDENT"), (3, 1, "I-ID_NUM")}
    predicted = {(7, 9, "B-NAME_STUDENT"), (7, 10, "I-NAME_STUDENT"), (10, 5, "B-EMAIL"), (3, 1, "I-ID_NUM")}
    assert fbeta_counts(truth, predicted) == {"EMAIL": (0, 0, 1), "ID_NUM": (1, 0, 0), "NAME_STUDENT": (2, 1, 0)}


def test_micro_fbeta_b_against_i_of_one_token_is_a_miss_as_in_the_public_metric():
    truth, predicted = {(1, 3, "B-NAME_STUDENT")}, {(1, 3, "I-NAME_STUDENT")}
    assert fbeta_counts(truth, predicted) == {"NAME_STUDENT": (0, 1, 1)}
    assert micro_fbeta(truth, predicted) == 0.0 == public_pii_metric(pii_frame(predicted), pii_frame(truth))


def test_micro_fbeta_weighs_a_miss_25_times_a_false_alarm():
    truth = {(0, 0, "B-EMAIL"), (0, 1, "B-EMAIL")}
    assert micro_fbeta(truth, {(0, 0, "B-EMAIL")}) == pytest.approx(26 / 51)  # one FN
    assert micro_fbeta(truth, truth | {(0, 2, "B-EMAIL")}) == pytest.approx(52 / 53)  # one FP


def test_micro_fbeta_agrees_with_the_public_metric_on_random_submissions():
    labels = ["B-NAME_STUDENT", "I-NAME_STUDENT", "B-EMAIL", "B-URL_PERSONAL", "I-STREET_ADDRESS"]
    rng = np.random.default_rng(0)

    def some_rows(n):
        return {(int(rng.integers(4)), int(rng.integers(30)), labels[rng.integers(5)]) for _ in range(n)}

    for _ in range(25):
        truth = some_rows(rng.integers(1, 15))
        predicted = {row for row in truth if rng.random() < 0.6}  # hits, some with B-/I- flipped, some misses
        predicted |= {(d, t, ("I" if l[0] == "B" else "B") + l[1:]) for d, t, l in truth if rng.random() < 0.2}
        predicted |= some_rows(rng.integers(4))
        for t, p in ((truth, predicted), (truth, set()), (set(), predicted or truth)):  # nothing predicted, no truth
            expected = public_pii_metric(pii_frame(p), pii_frame(t))
            assert micro_fbeta(pii_rows(pii_frame(t)), pii_rows(shuffled(pii_frame(p)))) == pytest.approx(expected)


def test_micro_fbeta_differs_from_the_public_metric_only_at_its_edges():
    truth = {(7, 9, "B-NAME_STUDENT")}
    assert micro_fbeta(set(), set()) == 1.0 and public_pii_metric(pii_frame([]), pii_frame([])) == 0.0
    # a repeated predicted row: once here; the public metric counts the second as a FP
    repeated = pii_frame([(7, 9, "B-NAME_STUDENT")] * 2)
    assert micro_fbeta(truth, pii_rows(repeated)) == 1.0
    assert public_pii_metric(repeated, pii_frame(truth)) == pytest.approx(26 / 27)
    # an O row is no entity: left out here, a FP there
    assert micro_fbeta(truth, truth | {(7, 8, "O")}) == 1.0
    assert public_pii_metric(pii_frame(truth | {(7, 8, "O")}), pii_frame(truth)) == pytest.approx(26 / 27)


# -- Feedback Prize 2021: overlap >= 0.5 both ways, macro F1 ---------------------------------------------------
def score_feedback_comp(pred_df, gt_df):
    """robikscube's code, copied by most public notebooks: per class of the truth, an outer join on id;
    potential TPs where both overlaps >= 0.5; per (id, gold predictionstring) the first by max overlap."""
    scores = []
    for cls, gt in gt_df.groupby("discourse_type"):
        pred = pred_df.loc[pred_df["class"] == cls, ["id", "class", "predictionstring"]].reset_index(drop=True)
        pred["pred_id"] = pred.index
        gt = gt[["id", "discourse_type", "predictionstring"]].reset_index(drop=True)
        gt["gt_id"] = gt.index
        joined = pred.merge(gt, left_on=["id", "class"], right_on=["id", "discourse_type"], how="outer",
                            suffixes=("_pred", "_gt"))
        joined[["predictionstring_gt", "predictionstring_pred"]] = joined[
            ["predictionstring_gt", "predictionstring_pred"]].fillna(" ")
        sets = [(set(g.split(" ")), set(p.split(" ")))
                for g, p in zip(joined["predictionstring_gt"], joined["predictionstring_pred"])]
        joined["overlap1"] = [len(g & p) / len(g) for g, p in sets]
        joined["overlap2"] = [len(g & p) / len(p) for g, p in sets]
        joined["potential_TP"] = (joined["overlap1"] >= 0.5) & (joined["overlap2"] >= 0.5)
        joined["max_overlap"] = joined[["overlap1", "overlap2"]].max(axis=1)
        tp_ids = (joined.query("potential_TP").sort_values("max_overlap", ascending=False)
                  .groupby(["id", "predictionstring_gt"]).first()["pred_id"].values)
        fp = len([p for p in joined["pred_id"].unique() if p not in tp_ids])
        matched = joined.query("potential_TP")["gt_id"].unique()
        fn = len([g for g in joined["gt_id"].unique() if g not in matched])
        scores.append(len(tp_ids) / (len(tp_ids) + 0.5 * (fp + fn)))
    return float(np.mean(scores))


def segments(rows, kind="class"):
    return pd.DataFrame([(i, c, " ".join(map(str, w))) for i, c, w in rows], columns=["id", kind, "predictionstring"])


def test_overlap_macro_f1_hand_example_is_7_over_18():
    truth = segments([
        ("e1", "Claim", range(0, 4)),      # C1: words 0-3
        ("e1", "Claim", range(10, 14)),    # C2: words 10-13
        ("e1", "Evidence", range(20, 30)),  # E1: words 20-29
        ("e2", "Lead", range(0, 6)),
    ], kind="discourse_type")
    predicted = segments([
        ("e1", "Claim", range(0, 5)),      # with C1: 4/4 and 4/5 -> TP
        ("e1", "Claim", range(11, 18)),    # with C2: 3/4 but 3/7 < 0.5 -> FP, and C2 a FN
        ("e1", "Evidence", range(15, 25)),  # with E1: 5/10 and 5/10, max 0.5 -> matches, but loses to:
        ("e1", "Evidence", range(20, 25)),  # with E1: 5/10 and 5/5, max 1.0 -> TP; the other a FP
        ("e1", "Position", range(40, 45)),  # a class the truth lacks: not scored
    ])                                      # Lead: nothing predicted -> FN
    # Claim TP 1 FN 1 FP 1: 1 / (1 + 1) = 1/2; Evidence TP 1 FN 0 FP 1: 1 / 1.5 = 2/3; Lead: 0
    assert overlap_counts(truth, predicted) == {"Claim": (1, 1, 1), "Evidence": (1, 0, 1), "Lead": (0, 1, 0)}
    assert overlap_macro_f1(truth, predicted) == pytest.approx((1 / 2 + 2 / 3 + 0) / 3) == pytest.approx(7 / 18)
    assert score_feedback_comp(predicted, truth) == pytest.approx(7 / 18)


def test_overlap_of_exactly_half_both_ways_matches():
    gold = [frozenset(range(0, 4))]
    assert match_segments(gold, [frozenset(range(2, 6))]) == [(0, 0)]  # 2/4 and 2/4
    assert match_segments(gold, [frozenset(range(3, 7))]) == []  # 1/4
    assert match_segments([frozenset({0, 1})], [frozenset({1, 2, 3})]) == []  # 1/2 but 1/3
    assert match_segments([frozenset(range(5))], [frozenset(range(3, 8))]) == []  # 2/5 both ways
    truth = segments([("e", "Claim", range(0, 4))], kind="discourse_type")
    assert overlap_macro_f1(truth, segments([("e", "Claim", range(2, 6))])) == 1.0
    assert overlap_macro_f1(truth, segments([("e", "Claim", range(3, 7))])) == 0.0


def test_match_segments_pairs_each_gold_and_prediction_once_best_overlap_first():
    golds = [frozenset(range(0, 10))]
    predictions = [frozenset(range(2, 12)), frozenset(range(0, 10)), frozenset(range(0, 10))]  # a duplicate
    assert match_segments(golds, predictions) == [(0, 1)]  # 1.0 beats 0.8; the equal repeat comes later: a FP
    # the pair's score is the higher overlap, so a part of the gold (5/10 but 5/5) ties with the exact one
    assert match_segments(golds, [frozenset(range(0, 5)), frozenset(range(0, 10))]) == [(0, 0)]
    # one prediction half in each of two golds: the gold it covers whole (max 2/2) wins over 2/4
    assert match_segments([frozenset(range(0, 4)), frozenset({4, 5})], [frozenset(range(2, 6))]) == [(1, 0)]
    assert match_segments([frozenset()], [frozenset()]) == []  # an empty segment matches nothing


def random_feedback_case(rng):
    """Disjoint golds per (essay, class), predictions their ends moved, dropped or repeated; every
    (essay, class) on both sides, and no prediction matching two golds (where the graders differ)."""
    truth, predicted = [], []
    for essay in ("a", "b", "c"):
        for cls in ("Claim", "Evidence", "Lead"):
            cuts = sorted(int(c) for c in rng.choice(np.arange(1, 40), size=4, replace=False))
            golds = [range(s, e) for s, e in zip([0, *cuts], [*cuts, 40])][::2]
            preds = []
            for gold in golds:
                for _ in range(int(rng.integers(0, 3))):
                    start = max(0, gold.start + int(rng.integers(-4, 5)))
                    preds.append(range(start, max(start + 1, gold.stop + int(rng.integers(-4, 5)))))
            preds = preds or [range(int(rng.integers(40)), 41)]
            double = any(sum(len(set(p) & set(g)) * 2 >= max(len(g), len(p)) for g in golds) > 1 for p in preds)
            if double:
                return None
            truth += [(essay, cls, g) for g in golds]
            predicted += [(essay, cls, p) for p in preds]
    return segments(truth, kind="discourse_type"), shuffled(segments(predicted))


def test_overlap_macro_f1_agrees_with_score_feedback_comp_on_random_cases():
    rng, checked = np.random.default_rng(0), 0
    while checked < 12:
        case = random_feedback_case(rng)
        if case is not None:
            assert overlap_macro_f1(*case) == pytest.approx(score_feedback_comp(case[1], case[0]))
            checked += 1


def test_one_prediction_matching_two_golds_is_one_tp_where_score_feedback_comp_counts_two():
    truth = segments([("e", "Claim", [1]), ("e", "Claim", [2])], kind="discourse_type")
    predicted = segments([("e", "Claim", [1, 2])])  # 1/1 and 1/2 with each gold
    assert overlap_counts(truth, predicted) == {"Claim": (1, 1, 0)}
    assert overlap_macro_f1(truth, predicted) == pytest.approx(2 / 3)
    assert score_feedback_comp(predicted, truth) == 1.0


def test_score_feedback_comp_adds_phantom_counts_for_essays_one_side_lacks():
    truth = segments([("a", "Claim", range(3))], kind="discourse_type")
    extra_prediction = segments([("a", "Claim", range(3)), ("b", "Claim", range(5, 9))])
    assert overlap_counts(truth, extra_prediction) == {"Claim": (1, 0, 1)}  # TP 1, FP 1: 2/3
    assert overlap_macro_f1(truth, extra_prediction) == pytest.approx(2 / 3)
    assert score_feedback_comp(extra_prediction, truth) == pytest.approx(0.5)  # and a phantom FN
    extra_gold = segments([("a", "Claim", range(3)), ("b", "Claim", range(5, 9))], kind="discourse_type")
    assert overlap_macro_f1(extra_gold, segments([("a", "Claim", range(3))])) == pytest.approx(2 / 3)
    assert score_feedback_comp(segments([("a", "Claim", range(3))]), extra_gold) == pytest.approx(0.5)


def test_overlap_macro_f1_without_truth_is_1_only_if_nothing_is_predicted():
    empty = segments([])
    assert overlap_macro_f1(empty, empty) == 1.0
    assert overlap_macro_f1(empty, segments([("e", "Claim", [1])])) == 0.0
    with pytest.raises(ValueError, match="is not space-separated word indices"):
        overlap_macro_f1(pd.DataFrame({"id": ["e"], "class": ["Claim"], "predictionstring": ["1 two"]}), empty)


# -- characters <-> text.split() words --------------------------------------------------------------------------
TEXT = "Phones\n\nModern humans today are always on their phone.  They\u00a0are\u3000always\x1con"


def host_predictionstring(text, start, end):
    """How the Feedback host built train.csv's predictionstring from discourse_start and discourse_end."""
    first = len(text[:start].split())
    return list(range(first, min(first + len(text[start:end].split()), len(text.split()))))


def test_word_offsets_locate_exactly_the_words_of_split():
    assert [TEXT[s:e] for s, e in word_ranges(TEXT)] == TEXT.split()  # \xa0, \u3000, \x1c split too
    assert word_ranges("  a  bc ").tolist() == [[2, 3], [5, 7]]


def test_words_of_span_takes_every_word_with_a_character_inside():
    text = "hello big world"
    assert words_of_span(text, 0, 15) == [0, 1, 2]
    assert words_of_span(text, 2, 8) == [0, 1]  # cuts both words: both taken
    assert words_of_span(text, 5, 6) == []  # whitespace only
    assert words_of_span(text, 6, 6) == []  # empty
    assert words_of_span(text, 0, 6) == [0]  # half-open: end 6 is where "big" starts
    assert words_of_span(text, 9, 100) == [2]


def test_words_of_span_agrees_with_the_host_rule_unless_start_cuts_a_word():
    for start in range(len(TEXT) + 1):
        cuts = 0 < start < len(TEXT) and not TEXT[start - 1].isspace() and not TEXT[start].isspace()
        for end in range(start, len(TEXT) + 1):
            if not cuts:
                assert words_of_span(TEXT, start, end) == host_predictionstring(TEXT, start, end), (start, end)
    assert words_of_span("hello world", 2, 11) == [0, 1]
    assert host_predictionstring("hello world", 2, 11) == [1]  # drops "hello"


def test_span_of_words_round_trips_through_words_of_span():
    words = TEXT.split()
    for first in range(len(words)):
        for last in range(first, len(words)):
            start, end = span_of_words(TEXT, range(first, last + 1))
            assert TEXT[start:end].split()[0] == words[first] and TEXT[start:end].split()[-1] == words[last]
            assert words_of_span(TEXT, start, end) == list(range(first, last + 1))
    assert span_of_words(TEXT, "2 1") == (8, 21)  # a predictionstring, any order: "Modern humans"


def test_span_of_words_refuses_no_words_and_words_past_the_end():
    with pytest.raises(ValueError, match="no word indices") as error:
        span_of_words("a b", [])
    assert one_sentence(str(error.value))
    with pytest.raises(ValueError, match="outside the text's 2 words") as error:
        span_of_words("a b", [1, 2])
    assert one_sentence(str(error.value))
