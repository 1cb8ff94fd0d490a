"""Snakemake entry point: one batched tokenization of a member's training and test texts into cached tensors."""
import json
import time
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer

from fasthf.encoding.tensor_cache import load_split, prepare_tensors
from fasthf.inputs.competition import Competition
from fasthf.io import write_csv, write_json
from fasthf.logs import job_log
from fasthf.training.evaluation import decoded_batch

with job_log(snakemake.log[0]):
    started = time.time()
    competition, task = Competition.load(snakemake.input.competition)
    tokenizer = AutoTokenizer.from_pretrained(snakemake.input.pretrained)
    summary = prepare_tensors(snakemake.input.train, snakemake.input.test, tokenizer,
                              Path(snakemake.output.train).parent, snakemake.params.max_length, competition, task,
                              snakemake.params.encode, snakemake.params.window_stride, snakemake.params.duel_swap)
    summary["seconds"] = round(time.time() - started, 2)
    write_json(snakemake.output.summary, summary)
    # A few training rows as the model will see them, to check the special tokens and padding by eye
    # (with encode: group, two units and every row read from them).
    train = load_split(snakemake.output.train)
    shown = 2 if snakemake.params.encode == "group" else 8
    rows = np.random.default_rng(snakemake.params.seed).choice(len(train), size=min(shown, len(train)), replace=False)
    write_csv(snakemake.output.example_batch, decoded_batch(train, tokenizer, rows.tolist(), task))
    print(json.dumps(summary, indent=2))
