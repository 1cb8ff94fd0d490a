"""Snakemake entry point: submission.csv in the sample submission's form, validated against it."""
from fasthf.inputs.competition import Competition
from fasthf.logs import job_log
from fasthf.outputs.submission import make_submission, write_submission
from fasthf.outputs.span_ensemble import answers
from fasthf.outputs.table import read_in_file_order
from fasthf.outputs.token_table import TokenOutputs

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    test = competition.read_test(snakemake.input.test)
    if task.per_token:  # a span task: each text's spans decoded from its units (fasthf.outputs.span_ensemble)
        outputs = answers(task, task.texts(test), TokenOutputs.read(snakemake.input.predictions))
    else:
        outputs = read_in_file_order(snakemake.input.predictions, len(test))
    sample = competition.read_sample(snakemake.input.sample_submission)
    submission = make_submission(competition.ids(test), outputs, sample, competition, task)
    write_submission(snakemake.output[0], submission, sample, competition, task)
    print(f"{snakemake.output[0]}: {len(submission)} rows ({competition.submission_form(task)}), valid "
          f"against {snakemake.input.sample_submission}")
