# A file competition takes submission.csv; a code competition's submit rule is in notebook.smk.
if COMPETITION.route == "file":

    rule submit:
        """`kaggle competitions submit` (once per submission file: the ledger stops repeats), then the public score."""
        input:
            submission=rules.submission.output[0],
            metrics=rules.ensemble.output.metrics,
        output:
            receipt=f"{RESULTS}/submission_receipt.json",
            submissions=report(f"{RESULTS}/submissions.csv", caption="../report/submissions.rst", category="Kaggle"),
        params:
            competition=COMPETITION.slug,
            message=lambda wildcards: config["submit_message"],  # {model} etc. are not wildcards
            model=describe_ensemble(),
            ledger=LEDGER,
            score_timeout_s=config["score_timeout_s"],
            score_poll_s=config["score_poll_s"],
        log:
            f"{LOGS}/submit.log",
        script:
            "../scripts/submit.py"


rule summary:
    """The report's front page: competition, task, metric, every member's and the blend's out-of-fold score,
    what memory set, and the public score once Kaggle gave one."""
    input:
        members=rules.ensemble.output.members,
        metrics=rules.ensemble.output.metrics,
        memory=rules.memory.output.counts,
        competition=rules.download.output.competition,
        receipt=rules.submit.output.receipt if config["submit"] else [],
        plan=AFTER_PLAN,
        stage_metrics=lambda wildcards: each_chain_stage("metrics.json") if TIME_LIMIT else [],
    output:
        table=report(f"{RESULTS}/summary.csv", caption="../report/summary.rst", category="1. Summary"),
        page=f"{RESULTS}/summary.rst",  # the report's front page (workflow/report/workflow.rst includes it)
    params:
        clock=CLOCK,
    log:
        f"{LOGS}/summary.log",
    script:
        "../scripts/summary.py"
