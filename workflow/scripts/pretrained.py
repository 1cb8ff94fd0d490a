"""Snakemake entry point: the pretrained model and tokenizer, saved into one local folder."""
import json

from fasthf.architectures import fetch_pretrained
from fasthf.data import LABEL_NAMES
from fasthf.logs import job_log

with job_log(snakemake.log[0], network=True):
    info = fetch_pretrained(snakemake.params.model, LABEL_NAMES, snakemake.output[0], snakemake.params.seed)
    print(json.dumps(info, indent=2))
