rule download:
    """Competition files: `kaggle competitions download`, or the local `archive`; unpacked and checked."""
    input:
        archive=config["archive"] or [],
    output:
        train=f"{DATA}/train.tsv",
        test=f"{DATA}/test.tsv",
        sample_submission=f"{DATA}/sampleSubmission.csv",
    params:
        competition=config["competition"],
    log:
        f"{DATA}/download.log",
    script:
        "../scripts/download.py"


rule pretrained:
    """The pretrained model with a fresh 5-class head, and its tokenizer, saved locally."""
    output:
        directory(f"{RESULTS}/pretrained"),
    params:
        model=config["model"],
        seed=config["seed"],
    log:
        f"{LOGS}/pretrained.log",
    script:
        "../scripts/pretrained.py"


rule preprocess:
    """Split by sentence and tokenize once; later steps read these tensors only."""
    input:
        train=rules.download.output.train,
        test=rules.download.output.test,
        pretrained=rules.pretrained.output[0],
    output:
        train=f"{RESULTS}/tensors/train.safetensors",
        valid=f"{RESULTS}/tensors/valid.safetensors",
        test=f"{RESULTS}/tensors/test.safetensors",
        summary=f"{RESULTS}/tensors/summary.json",
        example_batch=report(
            f"{RESULTS}/tensors/example_batch.csv",
            caption="../report/example_batch.rst",
            category="Data",
        ),
    params:
        valid_fraction=config["valid_fraction"],
        seed=config["seed"],
        max_length=config["max_length"],
    log:
        f"{LOGS}/preprocess.log",
    script:
        "../scripts/preprocess.py"
