"""Snakemake entry point (read_alone): the second, lone reading of every row read inside its group's text."""
import json
import time
from pathlib import Path

from transformers import AutoTokenizer

from fasthf.encoding.tensor_cache import prepare_alone_tensors
from fasthf.inputs.competition import Competition
from fasthf.io import write_json
from fasthf.logs import job_log

with job_log(snakemake.log[0]):
    started = time.time()
    competition, task = Competition.load(snakemake.input.competition)
    tokenizer = AutoTokenizer.from_pretrained(snakemake.input.pretrained)
    summary = prepare_alone_tensors(snakemake.input.train, snakemake.input.test, tokenizer,
                                    Path(snakemake.output.train).parent, snakemake.params.max_length, competition, task)
    summary["seconds"] = round(time.time() - started, 2)
    write_json(snakemake.output.summary, summary)
    print(json.dumps(summary, indent=2))
