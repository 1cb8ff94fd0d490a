"""Snakemake entry point: a chain's probabilities for the phrases its fold held out and for the test phrases."""
import time

from fasthf.architectures import load_checkpoint, set_threads
from fasthf.data import N_LABELS
from fasthf.folds import FoldData
from fasthf.io import write_csv, write_json
from fasthf.logs import job_log
from fasthf.prediction import predict_probs, probabilities_frame
from fasthf.tensors import TokenizedSplit

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    held_out = FoldData(snakemake.input.tensors, snakemake.input.folds, int(snakemake.wildcards.fold)).held_out()
    test = TokenizedSplit.load(snakemake.input.test)
    model = load_checkpoint(snakemake.input.model, n_labels=N_LABELS,
                            max_token_id=max(held_out.max_token_id, test.max_token_id))
    timing = {}
    for name, split in (("held_out", held_out), ("test", test)):
        started = time.time()
        probs = predict_probs(model, split, snakemake.params.batch_size, precision=snakemake.params.mixed_precision)
        frame = probabilities_frame(split.phrase_ids, probs)
        timing[name] = {"phrases": len(split), "seconds": round(time.time() - started, 2)}
        if name == "held_out":
            frame.insert(1, "label", split.labels.numpy())
            timing[name]["accuracy"] = float((frame.Sentiment == frame.label).mean())
        write_csv(snakemake.output[name], frame)
        print(f"{name}: {len(frame)} phrases in {timing[name]['seconds']} s; predicted classes: "
              f"{frame.Sentiment.value_counts().sort_index().to_dict()}")
    write_json(snakemake.output.timing, timing)
    print(f"held-out accuracy {timing['held_out']['accuracy']:.4f}")
