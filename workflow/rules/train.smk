rule lr_find:
    """fastai's lr_find in the first stage's freezing state: loss-vs-lr plot and suggested lr."""
    input:
        train=rules.preprocess.output.train,
        valid=rules.preprocess.output.valid,
        pretrained=rules.pretrained.output[0],
    output:
        result=f"{RESULTS}/lr_find/lr_find.json",
        plot=report(f"{RESULTS}/lr_find/lr_find.png", caption="../report/lr_find.rst", category="Training"),
    threads: TRAIN_THREADS
    resources:
        **TRAIN_RESOURCES,
    params:
        stage=config["stages"][0],
        settings=TRAIN_SETTINGS,
        torch_threads=config["torch_threads"],
    log:
        f"{LOGS}/lr_find.log",
    script:
        "../scripts/lr_find.py"


rule train_stage:
    """One gradual-unfreezing stage (freeze_to + fit_one_cycle) from the previous stage's checkpoint."""
    input:
        train=rules.preprocess.output.train,
        valid=rules.preprocess.output.valid,
        previous=checkpoint_before,
        lr_find=lr_find_result,
    output:
        model=directory(f"{RESULTS}/stages/{{stage}}/model"),
        metrics=f"{RESULTS}/stages/{{stage}}/metrics.json",
        history=report(
            f"{RESULTS}/stages/{{stage}}/history.csv",
            caption="../report/history.rst",
            category="Training",
            subcategory="stage {stage}",
        ),
        groups=report(
            f"{RESULTS}/stages/{{stage}}/groups.csv",
            caption="../report/groups.rst",
            category="Training",
            subcategory="stage {stage}",
        ),
        loss_plot=report(
            f"{RESULTS}/stages/{{stage}}/loss.png",
            caption="../report/loss.rst",
            category="Training",
            subcategory="stage {stage}",
        ),
    wildcard_constraints:
        stage=r"\d+",
    threads: TRAIN_THREADS
    resources:
        **TRAIN_RESOURCES,
    params:
        stage=stage_config,
        settings=TRAIN_SETTINGS,
        torch_threads=config["torch_threads"],
    log:
        f"{LOGS}/stage_{{stage}}.log",
    script:
        "../scripts/train_stage.py"


rule stages_table:
    """Every stage's validation metrics and time in one table."""
    input:
        expand(f"{RESULTS}/stages/{{stage}}/metrics.json", stage=range(1, N_STAGES + 1)),
    output:
        report(f"{RESULTS}/stages.csv", caption="../report/stages.rst", category="Training"),
    log:
        f"{LOGS}/stages_table.log",
    script:
        "../scripts/stages_table.py"
