"""Snakemake entry point: the folds table (which training phrases each fold holds out)."""
from fasthf.data import read_train
from fasthf.folds import assign_folds, fold_summary
from fasthf.io import write_csv
from fasthf.logs import job_log

with job_log(snakemake.log[0]):
    table = assign_folds(read_train(snakemake.input.train), snakemake.params.folds, snakemake.params.valid_fraction,
                         snakemake.params.seed)
    write_csv(snakemake.output.folds, table)
    summary = fold_summary(table)
    write_csv(snakemake.output.summary, summary)
    print(summary.to_string(index=False))
