# fasthf: download (checked against the competition's description, task inferred) -> folds;
#         per model: pretrained -> preprocess; [with time_limit: rates per member -> plan, the checkpoint
#         that sets folds, seeds and epochs]; per member: [lr_find];
#         per (member, seed, fold) chain: one job per training stage -> predict (held-out and test);
#         ensemble (out-of-fold blend, the competition's metric) -> memory -> submission
#         -> submit (and the public score) -> summary; export (inference bundle of an ensemble of one).
#         A code competition (route: notebook): package -> upload_package; kernel -> push_kernel -> run_kernel
#         -> submit (the kernel's output).
# The competition is data: config `competition` (a preset of config/competitions/, or a description).
# Run: snakemake --cores 1   (see README.md)
from snakemake.utils import min_version, validate

from fasthf.config import booleans_from_command_line, nulls_from_command_line

min_version("9.0")


configfile: "config.yaml"


nulls_from_command_line(config, "workflow/schemas/config.schema.yaml")  # --config archive=null
booleans_from_command_line(config, "workflow/schemas/config.schema.yaml")  # --config duel_swap=true
validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


# Run where Snakemake runs, never as cluster jobs: the steps that reach the internet (Kaggle, the Hugging
# Face hub; compute nodes often have none; every job after `pretrained` reads local files only), and
# the ones that join small tables or copy files, which take seconds where a queue wait takes minutes.
# The ensemble, which fits weights and offsets over every member's outputs, stays a cluster job.
localrules:
    download,
    pretrained,
    submit,
    folds,
    stages_table,
    memory,
    submission,
    summary,
    export,
    package,
    kernel,
    upload_package,
    push_kernel,
    run_kernel,


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/plan.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/notebook.smk"
include: "workflow/rules/kaggle.smk"


rule all:
    input:
        final_outputs,
    default_target: True
