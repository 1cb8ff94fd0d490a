"""Snakemake entry point: sentence-grouped split and one batched tokenization into cached tensors."""
import json
import time
from pathlib import Path

from transformers import AutoTokenizer

from fasthf.tensors import prepare_tensors
from fasthf.io import write_json
from fasthf.logs import job_log

with job_log(snakemake.log[0]):
    started = time.time()
    tokenizer = AutoTokenizer.from_pretrained(snakemake.input.pretrained)
    summary = prepare_tensors(snakemake.input.train, snakemake.input.test, tokenizer,
                              Path(snakemake.output.train).parent, snakemake.params.valid_fraction,
                              snakemake.params.seed, snakemake.params.max_length)
    summary["seconds"] = round(time.time() - started, 2)
    write_json(snakemake.output.summary, summary)
    print(json.dumps(summary, indent=2))
