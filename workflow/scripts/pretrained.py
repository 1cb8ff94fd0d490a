"""Snakemake entry point: the pretrained model (a fresh head of the task's outputs, of the kind the competition
reads: competition.head) and tokenizer, saved into one local folder."""
import json

from fasthf.inputs.competition import Competition
from fasthf.logs import job_log
from fasthf.models.architectures import fetch_pretrained

with job_log(snakemake.log[0], network=True):
    competition, task = Competition.load(snakemake.input.competition)
    info = fetch_pretrained(snakemake.params.model, task.output_names, snakemake.output[0], snakemake.params.seed,
                            competition.add_prefix_space, head=competition.head)
    print(json.dumps(info, indent=2))
