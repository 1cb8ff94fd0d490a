"""Snakemake entry point: the last stage on the validation split, per class and as a confusion matrix."""
from fasthf.architectures import load_checkpoint, set_threads
from fasthf.data import LABEL_NAMES, N_LABELS
from fasthf.evaluation import confusion_matrix, per_class_accuracy, plot_confusion
from fasthf.io import save_figure, write_csv, write_json
from fasthf.logs import job_log
from fasthf.prediction import predict_probs
from fasthf.tensors import TokenizedSplit

with job_log(snakemake.log[0]):
    set_threads(snakemake.params.torch_threads)
    valid = TokenizedSplit.load(snakemake.input.valid)
    model = load_checkpoint(snakemake.input.model, n_labels=N_LABELS, max_token_id=valid.max_token_id)
    probs = predict_probs(model, valid, snakemake.params.batch_size, precision=snakemake.params.mixed_precision)
    matrix = confusion_matrix(valid.labels.numpy(), probs.argmax(dim=1).numpy(), N_LABELS)
    table = per_class_accuracy(matrix, LABEL_NAMES)
    accuracy = float(matrix.trace() / matrix.sum())
    write_csv(snakemake.output.per_class, table)
    write_json(snakemake.output.metrics, {"accuracy": accuracy, "valid_phrases": int(matrix.sum()),
                                          "confusion_matrix": matrix.tolist()})
    save_figure(snakemake.output.confusion,
                plot_confusion(matrix, LABEL_NAMES, f"validation, last stage: accuracy {accuracy:.4f}"))
    print(table.to_string(index=False))
