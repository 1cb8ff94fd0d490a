"""Snakemake entry point: final test labels, with test phrases found verbatim in train.tsv taking its label."""
import pandas as pd

from fasthf.data import read_test, read_train
from fasthf.io import write_csv
from fasthf.logs import job_log
from fasthf.memory import apply_phrase_memory

with job_log(snakemake.log[0]):
    probs = pd.read_csv(snakemake.input.probs)
    final, counts = apply_phrase_memory(read_test(snakemake.input.test), probs.set_index("PhraseId").Sentiment,
                                        read_train(snakemake.input.train), enabled=snakemake.params.enabled)
    write_csv(snakemake.output.predictions, final)
    write_csv(snakemake.output.counts, pd.DataFrame([counts]))
