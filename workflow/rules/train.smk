rule train_stage:
    """One gradual-unfreezing stage (freeze_to + fit_one_cycle) from the previous stage's checkpoint."""
    input:
        train=rules.preprocess.output.train,
        valid=rules.preprocess.output.valid,
        previous=checkpoint_before,
    output:
        model=directory(f"{RESULTS}/stages/{{stage}}/model"),
        metrics=f"{RESULTS}/stages/{{stage}}/metrics.json",
        history=f"{RESULTS}/stages/{{stage}}/history.csv",
        loss_plot=f"{RESULTS}/stages/{{stage}}/loss.png",
    wildcard_constraints:
        stage=r"\d+",
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
        f"{RESULTS}/stages.csv",
    log:
        f"{LOGS}/stages_table.log",
    script:
        "../scripts/stages_table.py"
