"""Snakemake entry point: submission.csv, validated against sampleSubmission.csv."""
import pandas as pd

from fasthf.data import read_sample_submission
from fasthf.logs import job_log
from fasthf.submission import make_submission, write_submission

with job_log(snakemake.log[0]):
    predictions = pd.read_csv(snakemake.input.predictions)
    sample = read_sample_submission(snakemake.input.sample_submission)
    # The sample's row order is the one Kaggle expects; the predictions carry their PhraseIds.
    labels = predictions.set_index("PhraseId").Sentiment.reindex(sample.PhraseId)
    submission = make_submission(sample.PhraseId, labels.fillna(-1))
    write_submission(snakemake.output[0], submission, sample)
    print(f"{snakemake.output[0]}: {len(submission)} rows, valid against {snakemake.input.sample_submission}")
