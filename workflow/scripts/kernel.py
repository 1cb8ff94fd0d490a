"""Snakemake entry point: the kernel folder (kernel-metadata.json and the script that applies the package)."""
from fasthf.inputs.competition import Competition
from fasthf.logs import job_log
from fasthf.routes.kernels import KERNEL_METADATA, owner, write_kernel_folder

with job_log(snakemake.log[0]):
    competition, _ = Competition.load(snakemake.input.competition)
    folder = write_kernel_folder(snakemake.output[0], competition.slug, owner(snakemake.params.username),
                                 snakemake.params.gpu)
    print(f"kernel folder {folder}: {KERNEL_METADATA} and the script; run it as Kaggle would with "
          f"FASTHF_KAGGLE_INPUT=<input tree> FASTHF_KAGGLE_WORKING=<out> python {folder}/fasthf-submission.py")
