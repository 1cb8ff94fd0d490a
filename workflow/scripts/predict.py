"""Snakemake entry point: test-set probabilities from the last stage, in test-file order."""
from fasthf.architectures import load_checkpoint, set_threads
from fasthf.data import N_LABELS
from fasthf.tensors import TokenizedSplit
from fasthf.io import write_csv
from fasthf.logs import job_log
from fasthf.prediction import predict_probs, probabilities_frame

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    test = TokenizedSplit.load(snakemake.input.test)
    model = load_checkpoint(snakemake.input.model, n_labels=N_LABELS, max_token_id=test.max_token_id)
    probs = predict_probs(model, test, snakemake.params.batch_size, precision=snakemake.params.mixed_precision)
    frame = probabilities_frame(test.phrase_ids, probs)
    write_csv(snakemake.output.probs, frame)
    print(f"{len(frame)} test phrases; predicted classes: {frame.Sentiment.value_counts().sort_index().to_dict()}")
