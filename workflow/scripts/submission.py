"""Snakemake entry point: submission.csv in the sample submission's form, validated against it."""
from fasthf.inputs.competition import Competition
from fasthf.logs import job_log
from fasthf.outputs.output_forms import outputs_form
from fasthf.outputs.submission import make_submission, write_submission

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    test = competition.read_test(snakemake.input.test)
    form = outputs_form(task)  # a span task's answers are decoded from its units here
    outputs = form.answers(task, test, form.read(snakemake.input.predictions, test))
    sample = competition.read_sample(snakemake.input.sample_submission)
    submission = make_submission(competition.ids(test), outputs, sample, competition, task)
    write_submission(snakemake.output[0], submission, sample, competition, task)
    print(f"{snakemake.output[0]}: {len(submission)} rows ({competition.submission_form(task)}), valid "
          f"against {snakemake.input.sample_submission}")
