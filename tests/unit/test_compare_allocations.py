"""benchmarks/compare_allocations.py scores runs on the same held-out phrases: all of them, or only the folds given
(for runs that trained some of their folds), each seed of a run alone as well, and refuses runs whose folds hold
out other phrases."""
import subprocess
import sys

import numpy as np
import pandas as pd

from helpers import REPO

SCRIPT = REPO / "benchmarks" / "compare_allocations.py"
# 6 phrases of 3 sentences, 5 classes; fold 0 holds out rows 0-2 (sentences 1, 2), fold 1 rows 3-5 (sentence 3)
TRAIN = pd.DataFrame({"PhraseId": range(1, 7), "SentenceId": [1, 1, 2, 3, 3, 3], "Phrase": list("abcdef"),
                      "Sentiment": [0, 1, 2, 3, 4, 4]})
FOLDS = {0: [0, 1, 2], 1: [3, 4, 5]}


def write_chain(run, seed, fold, answers, sure=0.6, rows=None):
    """A chain's held-out outputs: each row's answer at `sure` (one figure, or one a row), the rest shared."""
    stage = run / "member" / f"seed{seed}" / f"fold{fold}" / "stages" / "1"
    stage.mkdir(parents=True)
    rows = FOLDS[fold] if rows is None else rows
    sure = np.broadcast_to(np.asarray(sure, dtype=float), len(rows))
    outputs = np.repeat(((1 - sure) / 4)[:, None], 5, axis=1)
    outputs[np.arange(len(rows)), answers] = sure
    pd.DataFrame({"row": rows, **{f"out_{k}": outputs[:, k] for k in range(5)}}).to_csv(
        stage / "valid_outputs.csv", index=False)


def compare(tmp_path, *args):
    train = tmp_path / "train.tsv"
    TRAIN.to_csv(train, sep="\t", index=False)
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args), "--train", str(train)],
                          capture_output=True, text=True)


def table(done) -> dict[str, list[str]]:
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)}


def test_only_the_folds_given_are_scored_and_each_seed_is_shown_alone(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    write_chain(one, 42, 0, [0, 1, 2])          # fold 0 all right
    # two seeds, each sure where it is right: alone 2 of 3 and 1 of 3, averaged all 3
    write_chain(two, 42, 0, [0, 1, 0], sure=[0.9, 0.9, 0.3])
    write_chain(two, 43, 0, [1, 0, 2], sure=[0.3, 0.3, 0.9])
    write_chain(one, 42, 1, [0, 0, 0])          # fold 1 of run one: not asked for
    rows = table(compare(tmp_path, one, two, "--folds", 0))
    assert rows[str(one)][0] == "1.0000"
    assert rows[f"{two} seed42 alone"][0] == "0.6667"
    assert rows[f"{two} seed43 alone"][0] == "0.3333"
    assert rows[str(two)][0] == "1.0000"
    assert "the runs' outputs averaged" in rows


def test_without_folds_a_run_must_hold_out_every_phrase(tmp_path):
    run = tmp_path / "run"
    write_chain(run, 42, 0, [0, 1, 2])
    done = compare(tmp_path, run)
    assert done.returncode != 0 and "cover 3 of the 6 training phrases" in done.stderr


def test_runs_whose_folds_hold_out_other_phrases_are_refused(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    write_chain(one, 42, 0, [0, 1, 2])
    write_chain(two, 42, 0, [0, 1], rows=[0, 1])
    done = compare(tmp_path, one, two, "--folds", 0)
    assert done.returncode != 0 and "holds out other phrases" in done.stderr



def test_a_chain_with_both_readings_is_scored_on_their_mean_not_its_stages_outputs(tmp_path):
    """read_alone: the chain's own valid_outputs.csv (both readings averaged) stands for its held-out outputs."""
    run = tmp_path / "run"
    write_chain(run, 42, 0, [0, 0, 0])  # the stage's own reading: 1 of 3 right
    chain = run / "member" / "seed42" / "fold0"
    both = pd.DataFrame({"row": FOLDS[0], **{f"out_{k}": np.eye(5)[[0, 1, 2], k] for k in range(5)}})
    both.to_csv(chain / "valid_outputs.csv", index=False)  # the mean of both readings: all right
    assert table(compare(tmp_path, run, "--folds", 0))[str(run)][0] == "1.0000"
