"""Snakemake entry point: a chain's outputs (probabilities or values) for the test rows, with read_alone each
row's two readings averaged. Its held-out rows were predicted by its last stage's validation pass
(`valid_outputs.csv`)."""
import time

from fasthf.encoding.tensor_cache import load_split
from fasthf.inputs.competition import Competition
from fasthf.io import write_json
from fasthf.logs import job_log
from fasthf.models.architectures import load_checkpoint
from fasthf.outputs.prediction import outputs_table, predict_probs, with_lone_reading
from fasthf.threads import set_threads

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    competition, task = Competition.load(snakemake.input.competition)
    test = load_split(snakemake.input.test)
    model = load_checkpoint(snakemake.input.model, n_labels=task.n_outputs, max_token_id=test.max_token_id,
                            head=competition.head)  # as the stages trained it
    started = time.time()
    outputs = predict_probs(model, test, snakemake.params.batch_size, precision=snakemake.params.mixed_precision,
                            activation=task.activation)
    predictions = outputs_table(test, outputs)  # a row per test row (its windows pooled), or per token (spans)
    if snakemake.input.test_alone:  # read_alone: the rows read inside their group's text, read alone too
        predictions = with_lone_reading(model, predictions, load_split(snakemake.input.test_alone),
                                        snakemake.params.batch_size, precision=snakemake.params.mixed_precision,
                                        activation=task.activation)
    predictions.write(snakemake.output.test)
    timing = {"test": {"rows": len(set(predictions.rows.tolist())), "seconds": round(time.time() - started, 2)}}
    write_json(snakemake.output.timing, timing)
    print(f"test: {timing['test']['rows']} rows in {timing['test']['seconds']} s")
