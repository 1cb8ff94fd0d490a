rule lr_find:
    """fastai's lr_find in the first stage's freezing state (fold 0): loss-vs-lr plot and suggested lr."""
    input:
        tensors=of_members_model("tensors/train.safetensors"),
        folds=rules.folds.output.folds,
        pretrained=of_members_model("pretrained"),
        competition=rules.download.output.competition,
    output:
        result=f"{MEMBER}/lr_find/lr_find.json",
        plot=report(
            f"{MEMBER}/lr_find/lr_find.png",
            caption="../report/lr_find.rst",
            category="Training",
            subcategory="{member}",
        ),
    threads: TRAIN_THREADS
    resources:
        **TRAIN_RESOURCES,
    params:
        stage=lambda wildcards: stages_of(wildcards)[0],
        settings=train_settings,
        num_it=config["lr_find_iterations"],
        torch_threads=config["torch_threads"],
    log:
        f"{LOGS}/{{member}}/lr_find.log",
    script:
        "../scripts/lr_find.py"


rule train_stage:
    """One gradual-unfreezing stage of one chain (freeze_to + fit_one_cycle) from the previous checkpoint."""
    input:
        tensors=of_members_model("tensors/train.safetensors"),
        folds=rules.folds.output.folds,
        previous=checkpoint_before,
        lr_find=lr_find_result,
        competition=rules.download.output.competition,
        plan=AFTER_PLAN,
    output:
        model=directory(f"{CHAIN}/stages/{{stage}}/model"),
        metrics=f"{CHAIN}/stages/{{stage}}/metrics.json",
        valid_outputs=f"{CHAIN}/stages/{{stage}}/valid_outputs.csv",
        history=report(
            f"{CHAIN}/stages/{{stage}}/history.csv",
            caption="../report/history.rst",
            category="Training",
            subcategory="{member} seed {seed} {split}",
        ),
        groups=report(
            f"{CHAIN}/stages/{{stage}}/groups.csv",
            caption="../report/groups.rst",
            category="Training",
            subcategory="{member} seed {seed} {split}",
        ),
        loss_plot=report(
            f"{CHAIN}/stages/{{stage}}/loss.png",
            caption="../report/loss.rst",
            category="Training",
            subcategory="{member} seed {seed} {split}",
        ),
    threads: TRAIN_THREADS
    resources:
        **TRAIN_RESOURCES,
    params:
        stage=planned_stage,
        settings=train_settings,
        torch_threads=config["torch_threads"],
        clock=CLOCK if TIME_LIMIT else None,  # with time_limit, the stage stops early by the plan's deadline
    log:
        f"{CHAIN_LOGS}/stage_{{stage}}.log",
    script:
        "../scripts/train_stage.py"


rule stages_table:
    """One chain's stages: held-out metrics and time, one row each."""
    input:
        chain_stage_metrics,
    output:
        report(
            f"{CHAIN}/stages.csv",
            caption="../report/stages.rst",
            category="Training",
            subcategory="{member} seed {seed} {split}",
        ),
    log:
        f"{CHAIN_LOGS}/stages_table.log",
    script:
        "../scripts/stages_table.py"
