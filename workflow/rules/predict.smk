rule predict:
    """A chain's last stage on the phrases its fold held out and on the test phrases."""
    input:
        model=last_stage,
        tensors=rules.preprocess.output.train,
        test=rules.preprocess.output.test,
        folds=rules.folds.output.folds,
    output:
        held_out=f"{CHAIN}/held_out_probs.csv",
        test=f"{CHAIN}/test_probs.csv",
        timing=f"{CHAIN}/predict.json",
    threads: INFER_THREADS
    resources:
        **INFER_RESOURCES,
    params:
        batch_size=config["eval_batch_size"],
        mixed_precision=config["mixed_precision"],
        torch_threads=config["torch_threads"],
    log:
        f"{CHAIN_LOGS}/predict.log",
    script:
        "../scripts/predict.py"


rule ensemble:
    """Out-of-fold accuracy of every seed, member and the blend; blend weights fitted out of fold only."""
    input:
        held_out=each_chain(rules.predict.output.held_out),
        test=each_chain(rules.predict.output.test),
        timing=each_chain(rules.predict.output.timing),
        stages=each_chain(f"{CHAIN}/stages.csv"),
        train=rules.download.output.train,
        folds=rules.folds.output.folds,
    output:
        members=report(f"{ENSEMBLE}/members.csv", caption="../report/members.rst", category="Ensemble"),
        accuracy_plot=report(f"{ENSEMBLE}/accuracy.png", caption="../report/members.rst", category="Ensemble"),
        per_class=report(f"{ENSEMBLE}/per_class.csv", caption="../report/per_class.rst", category="Ensemble"),
        confusion=report(f"{ENSEMBLE}/confusion_matrix.png", caption="../report/confusion.rst", category="Ensemble"),
        oof=f"{ENSEMBLE}/oof_probs.csv",
        test=f"{ENSEMBLE}/test_probs.csv",
        metrics=f"{ENSEMBLE}/metrics.json",
    params:
        chains=[{"member": member, "model": MEMBERS[member]["model"], "seed": seed, "fold": fold} for member, seed, fold in CHAINS],
    log:
        f"{LOGS}/ensemble.log",
    script:
        "../scripts/ensemble.py"


rule phrase_memory:
    """Final test labels: the ensemble's, except test phrases found verbatim in train.tsv take its label."""
    input:
        probs=rules.ensemble.output.test,
        train=rules.download.output.train,
        test=rules.download.output.test,
    output:
        predictions=f"{RESULTS}/predictions.csv",
        counts=report(f"{RESULTS}/phrase_memory.csv", caption="../report/phrase_memory.rst", category="Ensemble"),
    params:
        enabled=config["phrase_memory"],
    log:
        f"{LOGS}/phrase_memory.log",
    script:
        "../scripts/phrase_memory.py"


rule submission:
    """submission.csv, validated against sampleSubmission.csv before it is written."""
    input:
        predictions=rules.phrase_memory.output.predictions,
        sample_submission=rules.download.output.sample_submission,
    output:
        f"{RESULTS}/submission.csv",
    log:
        f"{LOGS}/submission.log",
    script:
        "../scripts/submission.py"


rule export:
    """Inference bundle of an ensemble of one: the last stage's weights (safetensors), tokenizer, labels."""
    input:
        model=FIRST_CHAIN_MODEL,
        pretrained=f"{RESULTS}/{CHAINS[0][0]}/pretrained",
    output:
        directory(f"{RESULTS}/bundle"),
    params:
        info={
            "model": MEMBERS[CHAINS[0][0]]["model"],
            "max_length": config["max_length"],
            "stages": len(MEMBERS[CHAINS[0][0]]["stages"]),
        },
    log:
        f"{LOGS}/export.log",
    script:
        "../scripts/export.py"
