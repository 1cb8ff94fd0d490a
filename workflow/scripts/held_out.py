"""Snakemake entry point (read_alone): a chain's held-out rows read alone by its last stage, averaged with the
stage's own outputs for them (read inside their group's text)."""
import time

from fasthf.inputs.competition import Competition
from fasthf.inputs.folds import FoldData, fold_number
from fasthf.io import write_json
from fasthf.logs import job_log
from fasthf.models.architectures import load_checkpoint
from fasthf.outputs.prediction import with_lone_reading
from fasthf.outputs.table import Predictions
from fasthf.threads import set_threads

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    competition, task = Competition.load(snakemake.input.competition)
    alone = FoldData(snakemake.input.alone, snakemake.input.folds, fold_number(snakemake.wildcards.split),
                     every_row=False).held_out()
    model = load_checkpoint(snakemake.input.model, n_labels=task.n_outputs, max_token_id=alone.max_token_id,
                            head=competition.head)
    started = time.time()
    in_context = Predictions.read(snakemake.input.in_context)
    with_lone_reading(model, in_context, alone, snakemake.params.batch_size, precision=snakemake.params.mixed_precision,
                      activation=task.activation).write(snakemake.output.held_out)
    timing = {"held_out": {"rows": len(in_context.rows), "read_alone": len(alone.rows),
                           "seconds": round(time.time() - started, 2)}}
    write_json(snakemake.output.timing, timing)
    print(f"held out: {len(alone.rows)} of {len(in_context.rows)} rows read alone too in {timing['held_out']['seconds']} s")
