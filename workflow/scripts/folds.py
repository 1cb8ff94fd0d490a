"""Snakemake entry point: the folds table (which training rows each fold holds out)."""
from fasthf.inputs.competition import Competition
from fasthf.inputs.folds import assign_folds, fold_summary
from fasthf.io import write_csv
from fasthf.logs import job_log

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    train = competition.read_train(snakemake.input.train)
    table = assign_folds(competition.ids(train), competition.groups(train), snakemake.params.folds,
                         snakemake.params.valid_fraction, snakemake.params.seed, task.stratify_by(task.encode(train)))
    write_csv(snakemake.output.folds, table)
    summary = fold_summary(table)
    write_csv(snakemake.output.summary, summary)
    print(summary.to_string(index=False))
