rule submit:
    """`kaggle competitions submit` (once per submission file: the ledger stops repeats), then the public score."""
    input:
        submission=rules.submission.output[0],
        metrics=rules.ensemble.output.metrics,
    output:
        receipt=f"{RESULTS}/submission_receipt.json",
        submissions=report(f"{RESULTS}/submissions.csv", caption="../report/submissions.rst", category="Kaggle"),
    params:
        competition=config["competition"],
        message=lambda wildcards: config["submit_message"],  # {model} etc. are not wildcards
        model=describe_ensemble(),
        ledger=f"{RESULTS}/kaggle_submissions.jsonl",
        score_timeout_s=config["score_timeout_s"],
        score_poll_s=config["score_poll_s"],
    log:
        f"{LOGS}/submit.log",
    script:
        "../scripts/submit.py"
