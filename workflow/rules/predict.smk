rule predict:
    """Test-set probabilities from the last stage, in the test file's row order."""
    input:
        model=f"{LAST_STAGE}/model",
        test=rules.preprocess.output.test,
    output:
        probs=f"{RESULTS}/test_probs.csv",
    params:
        batch_size=config["eval_batch_size"],
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
