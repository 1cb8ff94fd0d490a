"""Snakemake entry point: the inference bundle (weights in safetensors, tokenizer, labels)."""
from fasthf.bundle import export_bundle
from fasthf.logs import job_log

with job_log(snakemake.log[0]):
    export_bundle(snakemake.input.model, snakemake.input.pretrained, snakemake.output[0], dict(snakemake.params.info))
    print(f"bundle written to {snakemake.output[0]}; try: fasthf predict --bundle {snakemake.output[0]} \"a fine movie\"")
