rule evaluate:
    """The last stage on the validation split: per-class accuracy and confusion matrix."""
    input:
        model=f"{LAST_STAGE}/model",
        valid=rules.preprocess.output.valid,
    output:
        metrics=f"{RESULTS}/evaluation/metrics.json",
        per_class=report(
            f"{RESULTS}/evaluation/per_class.csv", caption="../report/per_class.rst", category="Evaluation"
        ),
        confusion=report(
            f"{RESULTS}/evaluation/confusion_matrix.png",
            caption="../report/confusion.rst",
            category="Evaluation",
        ),
    threads: INFER_THREADS
    resources:
        **INFER_RESOURCES,
    params:
        batch_size=config["eval_batch_size"],
        mixed_precision=config["mixed_precision"],
        torch_threads=config["torch_threads"],
    log:
        f"{LOGS}/evaluate.log",
    script:
        "../scripts/evaluate.py"


rule predict:
    """Test-set probabilities from the last stage, in the test file's row order."""
    input:
        model=f"{LAST_STAGE}/model",
        test=rules.preprocess.output.test,
    output:
        probs=f"{RESULTS}/test_probs.csv",
    threads: INFER_THREADS
    resources:
        **INFER_RESOURCES,
    params:
        batch_size=config["eval_batch_size"],
        mixed_precision=config["mixed_precision"],
        torch_threads=config["torch_threads"],
    log:
        f"{LOGS}/predict.log",
    script:
        "../scripts/predict.py"


rule submission:
    """submission.csv, validated against sampleSubmission.csv before it is written."""
    input:
        probs=rules.predict.output.probs,
        sample_submission=rules.download.output.sample_submission,
    output:
        f"{RESULTS}/submission.csv",
    log:
        f"{LOGS}/submission.log",
    script:
        "../scripts/submission.py"


rule export:
    """Inference bundle: the last stage's weights (safetensors), the tokenizer and the label names."""
    input:
        model=f"{LAST_STAGE}/model",
        pretrained=rules.pretrained.output[0],
    output:
        directory(f"{RESULTS}/bundle"),
    params:
        info={"model": config["model"], "max_length": config["max_length"], "stages": N_STAGES},
    log:
        f"{LOGS}/export.log",
    script:
        "../scripts/export.py"
