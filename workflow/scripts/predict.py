"""Snakemake entry point: a chain's outputs (probabilities or values) for the rows its fold held out and
for the test rows; a refit (nothing held out) predicts the test rows only."""
import time

from fasthf.architectures import load_checkpoint, set_threads
from fasthf.competition import Competition
from fasthf.folds import FoldData, fold_number
from fasthf.io import write_csv, write_json
from fasthf.logs import job_log
from fasthf.prediction import outputs_frame, predict_probs
from fasthf.tensors import TokenizedSplit

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    competition, task = Competition.load(snakemake.input.competition)
    metric = competition.metric_of(task)
    splits = {"test": TokenizedSplit.load(snakemake.input.test)}
    data = FoldData(snakemake.input.tensors, snakemake.input.folds, fold_number(snakemake.wildcards.split))
    if data.holds_out:
        splits = {"held_out": data.held_out(), **splits}
    model = load_checkpoint(snakemake.input.model, n_labels=task.n_outputs,
                            max_token_id=max(split.max_token_id for split in splits.values()))
    timing = {}
    for name, split in splits.items():
        started = time.time()
        outputs = predict_probs(model, split, snakemake.params.batch_size, precision=snakemake.params.mixed_precision,
                                activation=task.activation)
        frame = outputs_frame(split.rows, outputs, task.output_columns)
        timing[name] = {"rows": len(split), "seconds": round(time.time() - started, 2)}
        if name == "held_out":
            timing[name][metric.name] = metric.score(split.labels.numpy(), outputs.numpy())
        write_csv(snakemake.output[name], frame)
        print(f"{name}: {len(frame)} rows in {timing[name]['seconds']} s")
    write_json(snakemake.output.timing, timing)
    if "held_out" in timing:
        print(f"held-out {metric.name} {timing['held_out'][metric.name]:.4f}")
