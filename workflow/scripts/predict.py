"""Snakemake entry point: a chain's outputs (probabilities or values) for the test rows. Its held-out rows
were predicted by its last stage's validation pass (`valid_outputs.csv`)."""
import time

from fasthf.architectures import load_checkpoint
from fasthf.threads import set_threads
from fasthf.competition import Competition
from fasthf.io import write_json
from fasthf.logs import job_log
from fasthf.outputs import Predictions
from fasthf.prediction import predict_probs
from fasthf.tensors import load_split

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    _, task = Competition.load(snakemake.input.competition)
    test = load_split(snakemake.input.test)
    model = load_checkpoint(snakemake.input.model, n_labels=task.n_outputs, max_token_id=test.max_token_id)
    started = time.time()
    outputs = predict_probs(model, test, snakemake.params.batch_size, precision=snakemake.params.mixed_precision,
                            activation=task.activation)
    Predictions(test.rows.numpy(), outputs.numpy()).in_row_order().write(snakemake.output.test)
    timing = {"test": {"rows": len(test.rows), "seconds": round(time.time() - started, 2)}}
    write_json(snakemake.output.timing, timing)
    print(f"test: {len(test.rows)} rows in {timing['test']['seconds']} s")
