"""Snakemake entry point: out-of-fold table of every seed, member and the blend; the blended test probabilities."""
from collections import defaultdict

import pandas as pd

from fasthf.data import LABEL_NAMES, N_LABELS, read_train
from fasthf.ensemble import Member, Predictions, evaluate_ensemble, mean, out_of_fold, plot_accuracy
from fasthf.evaluation import confusion_matrix, per_class_accuracy, plot_confusion
from fasthf.io import read_json, save_figure, write_csv, write_json
from fasthf.logs import job_log

with job_log(snakemake.log[0]):
    held_out, test, seconds, models = defaultdict(list), defaultdict(list), defaultdict(float), {}
    inputs = zip(snakemake.params.chains, snakemake.input.held_out, snakemake.input.test,
                 snakemake.input.timing, snakemake.input.stages)
    for chain, held_out_csv, test_csv, timing_json, stages_csv in inputs:
        key = (chain["member"], chain["seed"])
        models[chain["member"]] = chain["model"]
        held_out[key].append(Predictions.from_frame(pd.read_csv(held_out_csv)))
        test[key].append(Predictions.from_frame(pd.read_csv(test_csv)))
        timing = read_json(timing_json)
        seconds[key] += pd.read_csv(stages_csv).seconds.sum() + timing["held_out"]["seconds"] + timing["test"]["seconds"]
    members = [Member(name, model,
                      oof={seed: out_of_fold(held_out[name, seed]) for (m, seed) in held_out if m == name},
                      test={seed: mean(test[name, seed]) for (m, seed) in test if m == name},
                      seconds={seed: seconds[name, seed] for (m, seed) in seconds if m == name})
               for name, model in models.items()]
    # The only targets: training labels of the held-out phrases (train.tsv), and the folds they belong to.
    train = read_train(snakemake.input.train).set_index("PhraseId")
    folds = pd.read_csv(snakemake.input.folds).set_index("PhraseId").fold
    result = evaluate_ensemble(members, train.Sentiment, folds)

    table = result["table"]
    write_csv(snakemake.output.members, table)
    save_figure(snakemake.output.accuracy_plot, plot_accuracy(table))
    oof = result["oof"].to_frame()
    oof.insert(1, "label", result["labels"])
    write_csv(snakemake.output.oof, oof)
    write_csv(snakemake.output.test, result["test"].to_frame())
    matrix = confusion_matrix(result["labels"], oof.Sentiment, N_LABELS)
    write_csv(snakemake.output.per_class, per_class_accuracy(matrix, LABEL_NAMES))
    accuracy = float(table.accuracy.iloc[-1])
    save_figure(snakemake.output.confusion,
                plot_confusion(matrix, LABEL_NAMES, f"ensemble, out of fold: accuracy {accuracy:.4f}"))
    write_json(snakemake.output.metrics, {"accuracy": accuracy, "oof_phrases": int(len(oof)),
                                          "weights": result["weights"], "confusion_matrix": matrix.tolist(),
                                          "folds": int(folds[folds >= 0].nunique())})
    pd.set_option("display.width", 200)
    print(table.to_string(index=False))
    print("weights (fitted on out-of-fold predictions):", result["weights"])
