# fasthf: download -> pretrained -> preprocess -> one job per training stage -> predict
#         -> submission -> submit.   Run: snakemake --cores 1   (see README.md)
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/kaggle.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
