"""How a refused input looks from Snakemake: the failing job's log ends in the one sentence."""
import subprocess
import sys

from archives import TRAIN, files, write_zip
from helpers import copy_workflow


def test_the_snakemake_error_of_a_refused_file_ends_in_its_sentence(tmp_path):
    """The failing job's log (shown by Snakemake) ends in the one sentence; nothing after download ran."""
    workdir = copy_workflow(tmp_path)
    archive = write_zip(tmp_path / "bad archive.zip", files(**{"train.tsv": TRAIN.replace("good\t4", "good\t7")}))
    done = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", "config/demo.yaml",
                           "--config", f"archive={archive}", "data_dir=data/bad", "results_dir=results/bad"],
                          cwd=workdir, capture_output=True, text=True)
    assert done.returncode != 0
    sentence = "line 7: column 'Sentiment': 7 is outside 0-4"
    log = (workdir / "data/bad/download.log").read_text()
    assert log.rstrip().splitlines()[-1].startswith("fasthf: DataError: ") and sentence in log.splitlines()[-1]
    assert sentence in done.stderr + done.stdout  # Snakemake shows the failed job's log
    assert not list((workdir / "results/bad").glob("*/tensors"))
    assert not (workdir / "data/bad/train.tsv").exists()
