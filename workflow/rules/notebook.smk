# The code-competition route (competition.route: notebook): Kaggle runs a notebook offline on a hidden test
# set, so the inference half of the DAG travels as a package and a kernel folder; with `submit`, the package
# is uploaded, the kernel pushed, its run awaited and its output submitted (each once: kaggle_submissions.jsonl).


rule package:
    """The weights whose test outputs the submission uses, the blend, the decision rule, memory, the tokenizers,
    the competition and fasthf as a wheel, in one folder that predicts any test file (fasthf.routes.package)."""
    input:
        models=lambda wildcards: each_last_stage("model", predicting()),
        timing=lambda wildcards: each_chain(rules.predict.output.timing, predicting()),  # the measured rate
        plan=AFTER_PLAN,
        tokenizers=[f"{RESULTS}/{BUILDS_FOR[member]}/pretrained" for member in MEMBERS],
        tensors=[f"{RESULTS}/{BUILDS_FOR[member]}/tensors/summary.json" for member in MEMBERS],
        metrics=rules.ensemble.output.metrics,
        train=rules.download.output.train,
        competition=rules.download.output.competition,
    output:
        directory(f"{RESULTS}/package"),
    params:
        chains=lambda wildcards, input: chain_params(predicting()),
        members=list(MEMBERS),
        memory=config["memory"],
        read_alone=lambda wildcards: reads_alone(),
        prediction={"batch_size": config["eval_batch_size"], "mixed_precision": config["mixed_precision"]},
        username=config["notebook"]["username"],
        runtime_limit=config["notebook"]["runtime_limit"],
        hidden_test_rows=config["notebook"]["hidden_test_rows"],
    log:
        f"{LOGS}/package.log",
    script:
        "../scripts/package.py"


rule kernel:
    """The folder `kaggle kernels push` takes: kernel-metadata.json (internet off; the competition and the
    package as inputs) and the script that applies the package where Kaggle runs it."""
    input:
        competition=rules.download.output.competition,
    output:
        directory(f"{RESULTS}/kernel"),
    params:
        username=config["notebook"]["username"],
        gpu=config["notebook"]["gpu"],
    log:
        f"{LOGS}/kernel.log",
    script:
        "../scripts/kernel.py"


rule upload_package:
    """The package as a new version of its Kaggle dataset, only when its content changed."""
    input:
        package=rules.package.output[0],
    output:
        f"{RESULTS}/kaggle/package_upload.json",
    params:
        ledger=LEDGER,
        max_bytes=int(config["notebook"]["max_package_gb"] * 1e9),
    log:
        f"{LOGS}/upload_package.log",
    script:
        "../scripts/upload_package.py"


rule push_kernel:
    """`kaggle kernels push`, once per kernel folder and package; the version from the CLI's answer."""
    input:
        kernel=rules.kernel.output[0],
        upload=rules.upload_package.output[0],
    output:
        f"{RESULTS}/kaggle/kernel_push.json",
    params:
        ledger=LEDGER,
    log:
        f"{LOGS}/push_kernel.log",
    script:
        "../scripts/push_kernel.py"


rule run_kernel:
    """The pushed version's run on Kaggle, awaited: its status polled, a failure's message shown, a timeout."""
    input:
        rules.push_kernel.output[0],
    output:
        f"{RESULTS}/kaggle/kernel_run.json",
    params:
        ledger=LEDGER,
        timeout_s=config["notebook"]["timeout_s"],
        poll_s=config["notebook"]["poll_s"],
    log:
        f"{LOGS}/run_kernel.log",
    script:
        "../scripts/run_kernel.py"


if COMPETITION.route == "notebook":

    rule submit:
        """`kaggle competitions submit -k -v -f submission.csv` (once per kernel version), then the public score."""
        input:
            run=rules.run_kernel.output[0],
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
            "../scripts/submit_notebook.py"
