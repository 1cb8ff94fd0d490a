# With `time_limit`: each member's speeds measured on its own tensors, then the plan (a checkpoint) of how many
# folds, seeds and epochs fit; the chains it chooses are ordinary chains (common.smk, run_shape).


rule rates:
    """A few warmed-up training and prediction batches of a member's model on a sample of its tensors (every
    layer trainable, the configured batch sizes and precision), and how long a job takes to start."""
    input:
        train=of_members_model("tensors/train.safetensors"),
        test=of_members_model("tensors/test.safetensors"),
        pretrained=of_members_model("pretrained"),
        **({"train_alone": of_members_model("tensors/train_alone.safetensors"),
            "test_alone": of_members_model("tensors/test_alone.safetensors")} if MAY_READ_ALONE else {}),
        competition=rules.download.output.competition,
    output:
        f"{MEMBER}/rates.json",
    threads: TRAIN_THREADS
    resources:
        **TRAIN_RESOURCES,
    params:
        settings=train_settings,
        freeze_tos=lambda wildcards: [stage["freeze_to"] for stage in stages_of(wildcards)],
        torch_threads=config["torch_threads"],
    log:
        f"{LOGS}/{{member}}/rates.log",
    script:
        "../scripts/rates.py"


checkpoint plan:
    """The last of `time_plan`'s allocations (folds, seeds, the last stage's epochs) predicted to end within the
    time limit, counting the time already spent; refused, naming the limit that would fit, when not
    even the first fits."""
    input:
        rates=[f"{RESULTS}/{name}/rates.json" for name in MEMBERS],
    output:
        plan=PLAN,
    params:
        time_limit=config["time_limit"],
        # config read_alone: every allocation reads the rows alone too
        allocations=[{**a, **({"read_alone": True} if config["read_alone"] else {})}
                     for a in config["time_plan"]["allocations"]],
        margin=config["time_plan"]["margin"],
        stages={name: [[stage["freeze_to"], stage["epochs"]] for stage in member["stages"]]
                for name, member in MEMBERS.items()},
        lr_find_batches={name: config["lr_find_iterations"] if needs_lr_find(name) else 0 for name in MEMBERS},
        valid_fraction=config["valid_fraction"],
        refit=config["refit"],
        clock=CLOCK,
    log:
        f"{LOGS}/plan.log",
    script:
        "../scripts/plan.py"
