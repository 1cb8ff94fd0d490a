rule submit:
    """`kaggle competitions submit`, once per submission file (the ledger stops repeats)."""
    input:
        submission=rules.submission.output[0],
        metrics=f"{LAST_STAGE}/metrics.json",
    output:
        receipt=f"{RESULTS}/submission_receipt.json",
    params:
        competition=config["competition"],
        message=lambda wildcards: config["submit_message"],  # {model} etc. are not wildcards
        model=config["model"],
        ledger=f"{RESULTS}/kaggle_submissions.jsonl",
    log:
        f"{LOGS}/submit.log",
    script:
        "../scripts/submit.py"
