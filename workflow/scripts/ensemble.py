"""Snakemake entry point: out-of-fold table of every seed, member and the blend; the blended test outputs."""
from collections import defaultdict

import pandas as pd

from fasthf.inputs.competition import Competition
from fasthf.io import read_json
from fasthf.logs import job_log
from fasthf.outputs.output_forms import outputs_form

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    form = outputs_form(task)  # a row of outputs per text, or a line per token (span tasks)
    held_out, test, seconds, models = defaultdict(list), defaultdict(list), defaultdict(float), {}
    for chain, held_out_csv in zip(snakemake.params.chains, snakemake.input.held_out):
        models[chain["member"]] = chain["model"]
        held_out[chain["member"], chain["seed"]].append(form.table.read(held_out_csv))
    # A chain's time: its training (its held-out rows predicted by its last stage's validation pass) and,
    # for the chains that predict the test rows, that prediction.
    for chain, stages_csv in zip(snakemake.params.trained, snakemake.input.stages):
        seconds[chain["member"], chain["seed"]] += pd.read_csv(stages_csv).seconds.sum()
    # With refit, a (member, seed)'s test outputs are its refit's (trained on every row); the folds keep
    # the out-of-fold figure and the weights, and predict no test rows.
    for chain, timing_json in zip(snakemake.params.chains, snakemake.input.held_out_timing):  # read_alone's reading
        seconds[chain["member"], chain["seed"]] += read_json(timing_json)["held_out"]["seconds"]
    for chain, test_csv, timing_json in zip(snakemake.params.predicting, snakemake.input.test, snakemake.input.timing):
        test[chain["member"], chain["seed"]].append(form.table.read(test_csv))
        seconds[chain["member"], chain["seed"]] += read_json(timing_json)["test"]["seconds"]
    form.ensemble_files(snakemake.output, snakemake.input.train, snakemake.input.test_file,
                        pd.read_csv(snakemake.input.folds), competition, task, competition.metric_of(task), models,
                        held_out, test, seconds, decide=snakemake.params.class_offsets, refit=snakemake.params.refit)
