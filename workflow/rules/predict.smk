rule predict:
    """A chain's last stage on the test rows (with read_alone, each row's two readings averaged). Its held-out
    rows were predicted by that stage's last validation pass (`stages/<last>/valid_outputs.csv`), with the same
    weights; a refit holds none out."""
    input:
        model=last_stage,
        test=of_members_model("tensors/test.safetensors"),
        competition=rules.download.output.competition,
        test_alone=lambda wildcards: of_members_model("tensors/test_alone.safetensors")(wildcards) if reads_alone() else [],
    output:
        test=f"{CHAIN}/test_outputs.csv",
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


rule held_out:
    """read_alone: a chain's held-out rows read alone too by its last stage; each row's outputs the mean of that
    reading and the stage's last validation pass (inside its group's text)."""
    input:
        model=last_stage,
        in_context=lambda wildcards: last_stage(wildcards, "valid_outputs.csv"),
        alone=of_members_model("tensors/train_alone.safetensors"),
        folds=rules.folds.output.folds,
        competition=rules.download.output.competition,
    output:
        held_out=f"{CHAIN}/valid_outputs.csv",
        timing=f"{CHAIN}/held_out.json",
    threads: INFER_THREADS
    resources:
        **INFER_RESOURCES,
    params:
        batch_size=config["eval_batch_size"],
        mixed_precision=config["mixed_precision"],
        torch_threads=config["torch_threads"],
    log:
        f"{CHAIN_LOGS}/held_out.log",
    script:
        "../scripts/held_out.py"


rule ensemble:
    """Out-of-fold score (the competition's metric) of every seed, member and the blend; blend weights fitted out of fold only."""
    input:
        held_out=lambda wildcards: held_out_outputs(),
        held_out_timing=lambda wildcards: held_out_outputs("timing"),
        stages=lambda wildcards: each_chain(f"{CHAIN}/stages.csv", [*chains(), *refits()]),
        test=lambda wildcards: each_chain(rules.predict.output.test, predicting()),
        timing=lambda wildcards: each_chain(rules.predict.output.timing, predicting()),
        plan=AFTER_PLAN,
        train=rules.download.output.train,
        test_file=rules.download.output.test,  # a span task's texts, to read its outputs per unit
        folds=rules.folds.output.folds,
        competition=rules.download.output.competition,
    output:
        members=report(f"{ENSEMBLE}/members.csv", caption="../report/members.rst", category="Ensemble"),
        score_plot=report(f"{ENSEMBLE}/scores.png", caption="../report/members.rst", category="Ensemble"),
        per_class=report(f"{ENSEMBLE}/per_class.csv", caption="../report/per_class.rst", category="Ensemble"),
        diagnostics=report(f"{ENSEMBLE}/diagnostics.png", caption="../report/confusion.rst", category="Ensemble"),
        oof=f"{ENSEMBLE}/oof_outputs.csv",
        test=f"{ENSEMBLE}/test_outputs.csv",
        metrics=f"{ENSEMBLE}/metrics.json",
    params:
        chains=lambda wildcards, input: chain_params(chains()),
        trained=lambda wildcards, input: chain_params([*chains(), *refits()]),
        predicting=lambda wildcards, input: chain_params(predicting()),
        refit=bool(config["refit"]),
        class_offsets=config["class_offsets"],
    log:
        f"{LOGS}/ensemble.log",
    script:
        "../scripts/ensemble.py"


rule memory:
    """Final test outputs: the ensemble's, except test texts found verbatim in the training file take what it says."""
    input:
        outputs=rules.ensemble.output.test,
        train=rules.download.output.train,
        test=rules.download.output.test,
        competition=rules.download.output.competition,
    output:
        predictions=f"{RESULTS}/predictions.csv",
        counts=report(f"{RESULTS}/memory.csv", caption="../report/memory.rst", category="Ensemble"),
    params:
        enabled=config["memory"],
    log:
        f"{LOGS}/memory.log",
    script:
        "../scripts/memory.py"


rule submission:
    """submission.csv in the sample submission's form, validated against it before it is written."""
    input:
        predictions=rules.memory.output.predictions,
        sample_submission=rules.download.output.sample_submission,
        test=rules.download.output.test,
        competition=rules.download.output.competition,
    output:
        f"{RESULTS}/submission.csv",
    log:
        f"{LOGS}/submission.log",
    script:
        "../scripts/submission.py"


rule export:
    """Inference bundle of an ensemble of one: the last stage's weights (safetensors), tokenizer, task and labels."""
    input:
        model=FIRST_CHAIN_MODEL,
        pretrained=f"{RESULTS}/{FIRST_CHAIN[0]}/pretrained",
        tensors=f"{RESULTS}/{FIRST_CHAIN[0]}/tensors/summary.json",  # the max_length the model was trained with
        competition=rules.download.output.competition,
    output:
        directory(f"{RESULTS}/bundle"),
    params:
        info={
            "model": MEMBERS[FIRST_CHAIN[0]]["model"],
            "stages": len(MEMBERS[FIRST_CHAIN[0]]["stages"]),
        },
    log:
        f"{LOGS}/export.log",
    script:
        "../scripts/export.py"
