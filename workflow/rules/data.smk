rule download:
    """Competition files: `kaggle competitions download`, or the local `archive`; unpacked, checked against
    the competition's description, and the task inferred (competition.json)."""
    input:
        archive=config["archive"] or [],
    output:
        train=data_file("train"),
        test=data_file("test"),
        sample_submission=data_file("sample_submission"),
        competition=f"{DATA}/{COMPETITION_JSON}",
    params:
        competition=asdict(COMPETITION),
    log:
        f"{DATA}/download.log",
    script:
        "../scripts/download.py"


rule folds:
    """Which training rows each fold holds out (grouped, or stratified by label); shared by every member and seed."""
    input:
        train=rules.download.output.train,
        competition=rules.download.output.competition,
        plan=AFTER_PLAN,
    output:
        folds=f"{RESULTS}/folds.csv",
        summary=report(f"{RESULTS}/folds_summary.csv", caption="../report/folds.rst", category="Data"),
    params:
        folds=lambda wildcards, input: run_shape()[0],
        valid_fraction=config["valid_fraction"],
        seed=config["seed"],
    log:
        f"{LOGS}/folds.log",
    script:
        "../scripts/folds.py"


rule pretrained:
    """A model with a fresh head (one output per class or target) and its tokenizer, saved locally; one per
    model, in the folder of the first member that fine-tunes it."""
    input:
        competition=rules.download.output.competition,
    output:
        directory(f"{MEMBER}/pretrained"),
    params:
        model=lambda wildcards: MEMBERS[wildcards.member]["model"],
        seed=config["seed"],
    log:
        f"{LOGS}/{{member}}/pretrained.log",
    script:
        "../scripts/pretrained.py"


rule preprocess:
    """Tokenize every training and test text once per model (members that share it share these); the folds pick their rows later."""
    input:
        train=rules.download.output.train,
        test=rules.download.output.test,
        competition=rules.download.output.competition,
        pretrained=rules.pretrained.output[0],
    output:
        train=f"{MEMBER}/tensors/train.safetensors",
        test=f"{MEMBER}/tensors/test.safetensors",
        summary=f"{MEMBER}/tensors/summary.json",
        example_batch=report(
            f"{MEMBER}/tensors/example_batch.csv",
            caption="../report/example_batch.rst",
            category="Data",
            subcategory="{member}",
        ),
    params:
        seed=config["seed"],
        max_length=config["max_length"],
        encode=config["encode"],
        window_stride=config.get("window_stride"),
        duel_swap=config.get("duel_swap", False),
    log:
        f"{LOGS}/{{member}}/preprocess.log",
    script:
        "../scripts/preprocess.py"


rule alone_tensors:
    """read_alone: the rows that shared encoding reads inside their group's text, each tokenized alone too (a
    second reading, averaged with the first at prediction); training reads the grouped tensors only."""
    input:
        train=rules.download.output.train,
        test=rules.download.output.test,
        competition=rules.download.output.competition,
        pretrained=rules.pretrained.output[0],
    output:
        train=f"{MEMBER}/tensors/train_alone.safetensors",
        test=f"{MEMBER}/tensors/test_alone.safetensors",
        summary=f"{MEMBER}/tensors/alone.json",
    params:
        max_length=config["max_length"],
    log:
        f"{LOGS}/{{member}}/alone_tensors.log",
    script:
        "../scripts/alone_tensors.py"
