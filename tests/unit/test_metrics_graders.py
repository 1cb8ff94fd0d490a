"""The competition metrics against the competitions' own graders (MLE-bench's `grade.py`, MLE-Dojo's
`metric.py`), each grader re-stated here in its own terms: submission and answers as DataFrames, rows
matched by id, the edge cases as the grader handles them."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.preprocessing import MultiLabelBinarizer

from fasthf.outputs.metrics import METRICS, predicted_tags

ROOT = Path(__file__).resolve().parents[2]


def frames(y, outputs, columns, rng):
    """(submission, answers) as the graders read them: an id column, then `columns`, rows shuffled apart."""
    ids = [f"id{i:04d}" for i in range(len(y))]
    answers = pd.DataFrame({"id": ids, **{c: v for c, v in zip(columns, np.asarray(y).reshape(len(y), -1).T)}})
    submission = pd.DataFrame({"id": ids, **{c: v for c, v in zip(columns, np.asarray(outputs).reshape(len(y), -1).T)}})
    return submission.sample(frac=1, random_state=int(rng.integers(1 << 30))), answers.sample(frac=1, random_state=1)


def by_id(frame):
    return frame.assign(id=frame["id"].astype(str)).sort_values("id").reset_index(drop=True)


# -- us-patent-phrase-to-phrase-matching: pearson --------------------------------------------------------------
def patent_grader(submission, answers):
    """Both graders: rows sorted by id, scipy's pearsonr of the answers' and the submission's score."""
    return pearsonr(by_id(answers)["score"], by_id(submission)["score"])[0]


def test_pearson_is_the_patent_graders_correlation():
    rng = np.random.default_rng(0)
    y = rng.choice([0, 0.25, 0.5, 0.75, 1.0], size=(60, 1))
    outputs = y + rng.normal(scale=0.3, size=y.shape)
    assert METRICS["pearson"].score(y, outputs) == pytest.approx(patent_grader(*frames(y, outputs, ["score"], rng)))
    assert METRICS["pearson"].score(y, -outputs) == pytest.approx(-METRICS["pearson"].score(y, outputs))
    # several columns: the mean of each column's r
    y2, out2 = np.hstack([y, y[::-1]]), np.hstack([outputs, rng.random((60, 1))])
    expected = np.mean([patent_grader(*frames(y2[:, k], out2[:, k], ["score"], rng)) for k in range(2)])
    assert METRICS["pearson"].score(y2, out2) == pytest.approx(expected)


def test_pearson_of_a_constant_prediction_is_0_where_the_grader_gives_nan():
    rng = np.random.default_rng(1)
    y = rng.random((20, 1))
    with pytest.warns(Warning):
        assert np.isnan(patent_grader(*frames(y, np.full_like(y, 0.5), ["score"], rng)))
    assert METRICS["pearson"].score(y, np.full_like(y, 0.5)) == 0.0


# -- google-quest-challenge: spearman ---------------------------------------------------------------------------
def quest_grader_dojo(submission, answers):
    """MLE-Dojo: per target column (every column after the id) spearmanr, a nan counting 0; the mean."""
    answers, submission = by_id(answers), by_id(submission)
    correlations = []
    for column in answers.columns[1:]:
        r = spearmanr(answers[column], submission[column]).correlation
        correlations.append(0.0 if np.isnan(r) else r)
    return np.mean(correlations) if correlations else 0.0


def quest_grader_mlebench(submission, answers):
    """MLE-bench: the same mean, but a nan column is kept (the score turns nan)."""
    answers, submission = by_id(answers), by_id(submission)
    return np.mean([spearmanr(submission[c], answers[c]).correlation for c in answers.columns[1:]])


def test_spearman_is_the_quest_graders_mean_rank_correlation_with_ties_and_constant_columns():
    rng = np.random.default_rng(2)
    columns = [f"t{k}" for k in range(30)]
    y = rng.integers(0, 4, (80, 30)) / 3  # google-quest's targets: a few fractions, many ties
    outputs = 1 / (1 + np.exp(-(y + rng.normal(scale=0.7, size=y.shape))))
    outputs[:, 3] = np.round(outputs[:, 3], 1)  # ties in the prediction
    score = METRICS["spearman"].score(y, outputs)
    assert score == pytest.approx(quest_grader_dojo(*frames(y, outputs, columns, rng)))
    assert score == pytest.approx(quest_grader_mlebench(*frames(y, outputs, columns, rng)))
    y[:, 5] = 1.0  # a constant target
    outputs[:, 7] = 0.2  # a constant prediction
    score = METRICS["spearman"].score(y, outputs)
    with pytest.warns(Warning):
        dojo = quest_grader_dojo(*frames(y, outputs, columns, rng))
    assert score == pytest.approx(dojo)
    with pytest.warns(Warning):
        assert np.isnan(quest_grader_mlebench(*frames(y, outputs, columns, rng)))
    kept = [k for k in range(30) if k not in (5, 7)]
    assert score == pytest.approx(METRICS["spearman"].score(y[:, kept], outputs[:, kept]) * 28 / 30)


# -- kaggle-llm-science-exam: map_at_3 --------------------------------------------------------------------------
def science_grader(submission, answers):
    """MLE-Dojo: the first three space-separated labels; 1/k at the first k that is the answer, else 0; the mean."""
    answers, submission = by_id(answers), by_id(submission)
    total = 0.0
    for truth, predicted in zip(answers["answer"], submission["prediction"]):
        for k, label in enumerate(predicted.split()[:3], start=1):
            if label == truth:
                total += 1 / k
                break
    return total / len(answers) if len(answers) else 0.0


def science_frames(y, outputs, letters):
    """The submission a ranked form writes, ranked here by sorting (probability down, then letter order)."""
    ids = [str(i) for i in range(len(y))]
    top = [" ".join(letters[c] for c in sorted(range(len(p)), key=lambda c: (-p[c], c))[:3]) for p in outputs]
    submission = pd.DataFrame({"id": ids, "prediction": top}).iloc[::-1]
    return submission, pd.DataFrame({"id": ids, "answer": [letters[c] for c in y]})


def test_map_at_3_is_the_science_exam_graders_with_ties_ranked_by_class_order():
    rng = np.random.default_rng(3)
    letters = "ABCDE"
    outputs = rng.dirichlet(np.ones(5), size=50)
    y = rng.integers(0, 5, 50)
    ties = np.array([[0.2] * 5, [0.2] * 5, [0.3, 0.1, 0.3, 0.3, 0.0], [0.1, 0.3, 0.3, 0.3, 0.0],
                     [0.25, 0.25, 0.25, 0.25, 0.0]])
    outputs = np.vstack([outputs, ties])
    y = np.concatenate([y, [1, 4, 3, 3, 3]])  # ranks 2, out, 3, 3, out
    score = METRICS["map_at_3"].score(y, outputs)
    assert score == pytest.approx(science_grader(*science_frames(y, outputs, letters)))
    assert METRICS["map_at_3"].score(y[-5:], outputs[-5:]) == pytest.approx((1 / 2 + 0 + 1 / 3 + 1 / 3 + 0) / 5)
    assert METRICS["map_at_3"].score(y, np.eye(5)[y]) == 1.0
    binary = rng.dirichlet(np.ones(2), size=30)  # two classes: a top 2
    yb = rng.integers(0, 2, 30)
    assert METRICS["map_at_3"].score(yb, binary) == pytest.approx(science_grader(*science_frames(yb, binary, "AB")))


# -- facebook-recruiting-iii-keyword-extraction: tags_f1 (MLE-Dojo), tags_micro_f1 (MLE-bench) ---------------------
def tags_grader_dojo(submission, answers):
    """MLE-Dojo: per row, sets of the whitespace-split str() of each cell; both empty: 1; else F1 (0 where
    precision + recall is 0); the mean."""
    answers, submission = by_id(answers), by_id(submission)
    scores = []
    for truth, predicted in zip(answers["Tags"], submission["Tags"]):
        t, p = set(str(truth).split()), set(str(predicted).split())
        if not t and not p:
            scores.append(1.0)
            continue
        tp = len(t & p)
        precision, recall = (tp / len(p) if p else 0.0), (tp / len(t) if t else 0.0)
        scores.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    return np.mean(scores)


def tags_grader_mlebench(submission, answers):
    """MLE-bench: a MultiLabelBinarizer on the answers' tags (a predicted tag no answer holds is dropped);
    micro F1."""
    answers, submission = by_id(answers), by_id(submission)
    classes = sorted({tag for tags in answers["Tags"] if isinstance(tags, str) for tag in tags.split()})
    binarizer = MultiLabelBinarizer(classes=classes, sparse_output=True)
    truth = binarizer.fit_transform(answers["Tags"].fillna("").str.split())
    with pytest.warns(UserWarning, match="unknown class"):  # the case below predicts a tag no answer holds
        predicted = binarizer.transform(submission["Tags"].fillna("").str.split())
    return f1_score(truth, predicted, average="micro")


def tag_frames(y, outputs, vocabulary):
    """The answers' Tags cells from y (an empty set: an empty cell, read back as nan), the submission's from
    the tags the test picks itself: p >= 0.5, or the single most probable."""
    def cell(row):
        return " ".join(vocabulary[k] for k in np.flatnonzero(row)) or np.nan

    picked = [(p >= 0.5) if (p >= 0.5).any() else (np.arange(len(p)) == int(np.argmax(p))) for p in outputs]
    ids = np.arange(len(y))
    return (pd.DataFrame({"Id": ids, "Tags": [cell(r) for r in picked]}).iloc[::-1].rename(columns={"Id": "id"}),
            pd.DataFrame({"Id": ids, "Tags": [cell(r) for r in y]}).rename(columns={"Id": "id"}))


def tags_case(seed=4):
    rng = np.random.default_rng(seed)
    vocabulary = ["c#", "java", "php", "javascript", "android", "jquery", "c++", "python"]
    y = (rng.random((70, 8)) < 0.25).astype(float)
    y[:, 7] = 0  # a tag no answer holds...
    y[3] = 0  # ...and rows without a tag
    y[11] = 0
    outputs = np.clip(y * 0.5 + rng.random(y.shape) * 0.6, 0, 1)
    outputs[:5, 7] = 0.9  # ...predicted all the same
    outputs[20:26] = rng.random((6, 8)) * 0.45  # no tag reaches 0.5: the most probable one is written
    return y, outputs, vocabulary


def test_tags_f1_is_mle_dojos_mean_row_f1_with_empty_sets():
    y, outputs, vocabulary = tags_case()
    score = METRICS["tags_f1"].score(y, outputs)
    assert score == pytest.approx(tags_grader_dojo(*tag_frames(y, outputs, vocabulary)))
    assert predicted_tags(outputs).any(axis=1).all()  # never an empty set: a row without tags scores 0
    assert METRICS["tags_f1"].score(y[[3, 11]], outputs[[3, 11]]) == 0.0
    assert METRICS["tags_f1"].score(y[:1], y[:1]) == 1.0
    # the grader's own rule for two empty sets (which the metric never meets: it always writes a tag)
    empty = pd.DataFrame({"id": ["1"], "Tags": [""]})
    assert tags_grader_dojo(empty, empty) == 1.0


def test_tags_micro_f1_is_mle_benchs_micro_f1_over_the_answers_tags():
    y, outputs, vocabulary = tags_case()
    score = METRICS["tags_micro_f1"].score(y, outputs)
    assert score == pytest.approx(tags_grader_mlebench(*tag_frames(y, outputs, vocabulary)))
    # a predicted tag that no answer holds is not a false positive there: plain micro F1 is lower
    assert score > f1_score(y, predicted_tags(outputs), average="micro")
    assert METRICS["tags_micro_f1"].score(y, outputs) != pytest.approx(METRICS["tags_f1"].score(y, outputs))


# -- jigsaw-unintended-bias-in-toxicity-classification: bias_auc -------------------------------------------
def dojo_safe_auc(truth, score):
    return np.nan if np.unique(truth).size == 1 else roc_auc_score(truth, score)


def dojo_power_mean(values, p=-5):
    values = [v for v in values if not np.isnan(v)]
    return np.nan if not values else np.power(np.mean(np.power(np.array(values), p)), 1 / p)


def jigsaw_grader_dojo(submission, answers, identities):
    """MLE-Dojo: toxicity and identities binarised at >= 0.5, raw predictions; an empty or one-class AUC is
    nan and left out of its power mean; a nan overall AUC or power mean adds 0."""
    merged = pd.merge(by_id(answers), by_id(submission).rename(columns={"toxicity": "prediction"}), on="id")
    toxic = (merged["toxicity"] >= 0.5).astype(int)
    overall = dojo_safe_auc(toxic, merged["prediction"])
    lists = [[], [], []]
    for column in identities:
        present = merged[column] >= 0.5
        masks = [present, ((toxic == 1) & ~present) | ((toxic == 0) & present),
                 ((toxic == 0) & ~present) | ((toxic == 1) & present)]
        for found, mask in zip(lists, masks):
            found.append(dojo_safe_auc(toxic[mask], merged.loc[mask, "prediction"]) if mask.any() else np.nan)
    means = [dojo_power_mean(found) for found in lists]
    return 0.25 * (0.0 if np.isnan(overall) else overall) + sum(0.25 * m for m in means if not np.isnan(m))


def jigsaw_grader_mlebench(submission, answers, identities, p=-5, w=0.25):
    """MLE-bench: predictions binarised at 0.5 too; no undefined AUC allowed; power means over all identities."""
    answers, submission = by_id(answers), by_id(submission)
    predicted = (submission["toxicity"] >= 0.5).astype(int).to_numpy()
    toxic = (answers["toxicity"] >= 0.5).astype(int).to_numpy()
    aucs = []
    for column in identities:
        member = answers[column].apply(lambda x: 1 if x >= 0.5 else 0).to_numpy() == 1
        aucs.append([roc_auc_score(toxic[m], predicted[m]) for m in
                     (member, (toxic == 0) & member | (toxic == 1) & ~member,
                      (toxic == 1) & member | (toxic == 0) & ~member)])
    means = [(sum(a[i] ** p for a in aucs) / len(identities)) ** (1 / p) for i in range(3)]
    return w * roc_auc_score(toxic, predicted) + sum(w * m for m in means)


def jigsaw_case(seed=5, n=300):
    rng = np.random.default_rng(seed)
    toxicity = rng.choice([0.0, 0.1, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0], size=n, p=[.4, .1, .1, .1, .1, .1, .05, .05])
    identities = rng.choice([0.0, 0.3, 0.5, 1.0], size=(n, 3), p=[.6, .1, .1, .2])
    score = np.clip(toxicity * 0.6 + rng.random(n) * 0.5, 0, 1)
    return toxicity, identities, score


def jigsaw_arrays(toxicity, identities, score):
    """The soft task's y (toxicity, then the identities) and outputs (a sigmoid per column)."""
    y = np.column_stack([toxicity, identities])
    outputs = np.column_stack([score, np.full_like(identities, 0.5)])
    return y, outputs


def test_bias_auc_is_mle_dojos_metric_with_empty_one_class_and_nan_identities():
    toxicity, identities, score = jigsaw_case()
    names = ["male", "female", "muslim", "jewish", "black", "white"]
    identities = np.column_stack([identities, np.zeros(len(score)), np.zeros(len(score)), np.full(len(score), np.nan)])
    identities[:40, 3] = 1.0  # jewish: members, none of them toxic (its subgroup AUC and BNSP AUC are undefined)
    toxicity[:40] = 0.0
    identities[:5, 5] = 0.9  # white: nan but for five members
    identities[:, 4] = 0.0  # black: no member
    y, outputs = jigsaw_arrays(toxicity, identities, score)
    rng = np.random.default_rng(6)
    submission, answers = frames(y, outputs, ["toxicity", *names], rng)
    expected = jigsaw_grader_dojo(submission[["id", "toxicity"]], answers, names)
    assert METRICS["bias_auc"].score(y, outputs) == pytest.approx(expected)
    # the one-class and empty subgroups change nothing but their own AUCs: dropping their columns ...
    kept = np.r_[0, 1, 2, 3, 6]
    assert METRICS["bias_auc"].score(y[:, kept], outputs[:, kept]) != pytest.approx(expected)
    # ... an undefined overall AUC adds 0; no identity column: the overall AUC alone
    overall = roc_auc_score(toxicity >= 0.5, score)
    assert METRICS["bias_auc"].score(y[:, :1], outputs[:, :1]) == pytest.approx(0.25 * overall)


def test_bias_auc_agrees_with_mle_bench_where_predictions_are_0_1_and_every_auc_defined():
    toxicity, identities, score = jigsaw_case(seed=7)
    names = ["male", "female", "muslim"]
    hard = (score >= 0.5).astype(float)  # MLE-bench binarises predictions; 0/1 predictions stay as they are
    y, outputs = jigsaw_arrays(toxicity, identities, hard)
    rng = np.random.default_rng(8)
    submission, answers = frames(y, outputs, ["toxicity", *names], rng)
    expected = jigsaw_grader_mlebench(submission[["id", "toxicity"]], answers, names)
    assert METRICS["bias_auc"].score(y, outputs) == pytest.approx(expected)
    assert jigsaw_grader_dojo(submission[["id", "toxicity"]], answers, names) == pytest.approx(expected)
    # raw scores (Kaggle, MLE-Dojo) are not MLE-bench's binarised ones
    y, outputs = jigsaw_arrays(toxicity, identities, score)
    submission, answers = frames(y, outputs, ["toxicity", *names], rng)
    assert METRICS["bias_auc"].score(y, outputs) != pytest.approx(
        jigsaw_grader_mlebench(submission[["id", "toxicity"]], answers, names))


# -- soft targets for roc_auc and log_loss ------------------------------------------------------------------------
def test_roc_auc_and_log_loss_score_soft_targets():
    rng = np.random.default_rng(9)
    y = rng.choice([0.0, 0.2, 0.5, 0.7, 1.0], size=(100, 3))
    y[:10, 2] = np.nan  # an identity column's unlabelled rows count as negative
    outputs = np.clip(np.nan_to_num(y) * 0.5 + rng.random(y.shape) * 0.6, 0.01, 0.99)
    truth = np.nan_to_num(y) >= 0.5
    expected = np.mean([roc_auc_score(truth[:, k], outputs[:, k]) for k in range(3)])
    assert METRICS["roc_auc"].score(y, outputs) == pytest.approx(expected)
    soft = y[:, :2]
    bce = -(soft * np.log(outputs[:, :2]) + (1 - soft) * np.log(1 - outputs[:, :2])).mean()
    assert METRICS["log_loss"].score(soft, outputs[:, :2]) == pytest.approx(bce)
    assert METRICS["roc_auc"].score(truth.astype(float), outputs) == pytest.approx(expected)  # 0/1 unchanged


# -- the table ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, tasks, uses, greater", [
    ("pearson", ("regression",), "scores", True),
    ("spearman", ("regression", "soft"), "scores", True),
    ("map_at_3", ("binary", "multiclass"), "ranked", True),
    ("tags_f1", ("tags",), "labels", True),
    ("tags_micro_f1", ("tags",), "labels", True),
    ("bias_auc", ("soft",), "scores", True),
])
def test_the_new_metrics_are_in_the_table(name, tasks, uses, greater):
    metric = METRICS[name]
    assert (metric.tasks, metric.uses, metric.greater_is_better) == (tasks, uses, greater)


def test_soft_and_tags_are_scored_where_the_formula_fits_and_the_schema_names_every_metric():
    assert "soft" in METRICS["roc_auc"].tasks and "soft" in METRICS["log_loss"].tasks
    assert "tags" in METRICS["accuracy"].tasks and "tags" in METRICS["f1"].tasks
    assert "soft" not in METRICS["accuracy"].tasks and "soft" not in METRICS["f1"].tasks
    import yaml

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())

    def metric_enums(node):
        if isinstance(node, dict):
            if isinstance(node.get("metric"), dict) and "enum" in node["metric"]:
                yield node["metric"]["enum"]
            for value in node.values():
                yield from metric_enums(value)
        elif isinstance(node, list):
            for value in node:
                yield from metric_enums(value)

    enums = list(metric_enums(schema))
    assert enums and all(set(enum) - {None} == set(METRICS) for enum in enums)
