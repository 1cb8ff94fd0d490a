"""Snakemake entry point: submission.csv in the sample submission's form, validated against it."""
import pandas as pd

from fasthf.competition import Competition
from fasthf.ensemble import Predictions
from fasthf.logs import job_log
from fasthf.submission import make_submission, write_submission

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    test = competition.read_test(snakemake.input.test)
    outputs = Predictions.from_frame(pd.read_csv(snakemake.input.predictions)).aligned(range(len(test)))
    sample = competition.read_sample(snakemake.input.sample_submission)
    submission = make_submission(test[competition.id], outputs, sample, competition, task)
    write_submission(snakemake.output[0], submission, sample, competition, task)
    print(f"{snakemake.output[0]}: {len(submission)} rows ({competition.submission_form(task)}), valid "
          f"against {snakemake.input.sample_submission}")
