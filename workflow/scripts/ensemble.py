"""Snakemake entry point: out-of-fold table of every seed, member and the blend; the blended test outputs."""
from collections import defaultdict

import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.io import read_json, save_figure, write_csv, write_json
from fasthf.logs import job_log
from fasthf.outputs.ensemble import Member, evaluate_ensemble, final_row
from fasthf.outputs.span_ensemble import span_ensemble_files
from fasthf.outputs.table import Predictions, mean, out_of_fold
from fasthf.outputs.token_table import TokenOutputs
from fasthf.training.evaluation import plot_scores


with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    metric = competition.metric_of(task)
    table_of = TokenOutputs if task.per_token else Predictions  # what the chains wrote
    held_out, test, seconds, models = defaultdict(list), defaultdict(list), defaultdict(float), {}
    for chain, held_out_csv in zip(snakemake.params.chains, snakemake.input.held_out):
        models[chain["member"]] = chain["model"]
        held_out[chain["member"], chain["seed"]].append(table_of.read(held_out_csv))
    # A chain's time: its training (its held-out rows predicted by its last stage's validation pass) and,
    # for the chains that predict the test rows, that prediction.
    for chain, stages_csv in zip(snakemake.params.trained, snakemake.input.stages):
        seconds[chain["member"], chain["seed"]] += pd.read_csv(stages_csv).seconds.sum()
    # With refit, a (member, seed)'s test outputs are its refit's (trained on every row); the folds keep
    # the out-of-fold figure and the weights, and predict no test rows.
    for chain, test_csv, timing_json in zip(snakemake.params.predicting, snakemake.input.test, snakemake.input.timing):
        test[chain["member"], chain["seed"]].append(table_of.read(test_csv))
        seconds[chain["member"], chain["seed"]] += read_json(timing_json)["test"]["seconds"]
    if task.per_token:  # a span task: blended per unit, decoded, scored (fasthf.outputs.span_ensemble)
        span_ensemble_files(snakemake.output, snakemake.input.train, snakemake.input.test_file,
                            pd.read_csv(snakemake.input.folds), competition, task, metric, models, held_out, test, seconds)
    else:
        members = [Member(name, model,
                          oof={seed: out_of_fold(held_out[name, seed]) for (m, seed) in held_out if m == name},
                          test={seed: mean(test[name, seed]) for (m, seed) in test if m == name},
                          seconds={seed: seconds[name, seed] for (m, seed) in seconds if m == name})
                   for name, model in models.items()]
        # The only targets: the training file's, and the folds its rows belong to.
        targets = task.encode(competition.read_train(snakemake.input.train))
        folds = pd.read_csv(snakemake.input.folds).set_index("row")
        result = evaluate_ensemble(members, targets, folds, task, metric, decide=snakemake.params.class_offsets)

        table = result["table"]
        write_csv(snakemake.output.members, table)
        save_figure(snakemake.output.score_plot, plot_scores(table, metric))
        result["oof"].write(snakemake.output.oof)
        result["test"].write(snakemake.output.test)
        write_csv(snakemake.output.per_class, task.diagnostics(result["targets"], result["oof"].outputs))
        score = float(final_row(table, result["decision"])[metric.name])
        save_figure(snakemake.output.diagnostics, task.plot_diagnostics(result["targets"], result["oof"].outputs,
                                                                        f"ensemble, out of fold: {metric.name} {score:.4f}"))
        write_json(snakemake.output.metrics, {"metric": metric.name, "score": score, metric.name: score,
                                              "greater_is_better": metric.greater_is_better,
                                              "blend_loss": task.surrogate, "task": task.kind,
                                              "oof_rows": int(len(result["oof"].rows)), "weights": result["weights"],
                                              "folds": int(folds.fold[folds.fold >= 0].nunique()),
                                              "decision": result["decision"],
                                              "test_outputs": ("each member's refit on every training row"
                                                               if snakemake.params.refit else "the mean of the folds' models")})
        pd.set_option("display.width", 200)
        print(table.to_string(index=False))
        print(f"weights (fitted on out-of-fold predictions, minimising {task.surrogate}):", result["weights"])
        if result["decision"]:
            decision = result["decision"]
            print(f"{decision['rule']} (fitted on out-of-fold outputs, scored cross-fitted): {decision['fitted']}; "
                  f"{metric.name} {decision['without']:.4f} -> {decision['with']:.4f}: "
                  f"{'used on test' if decision['used'] else 'not used'}: {decision['why']}")
