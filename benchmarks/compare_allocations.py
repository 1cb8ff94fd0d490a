"""Score runs of the movie competition against one another on the same training sentences (issue 36, item 2).

Each argument is a run's results folder with out-of-fold outputs over every training phrase (`folds` >= 2):
each fold's last stage's `valid_outputs.csv` (the models alone, no offsets; several chains of a row averaged) and
`ensemble/metrics.json` (the score with what the ensemble decided, offsets or not). For each run: accuracy and log
loss out of fold over all phrases, the same restricted to the phrases of config/cpu.yaml's held-out split (seed 42,
10% of the sentences: what its one-split runs were scored on), and against the first run, the share of resamples of
the sentences (with replacement, each with all its phrases) on which this run's accuracy is the higher. With several
runs, their outputs averaged row by row as well: each row is held out by every run's chains, so the mean is an
out-of-fold ensemble of the runs.

    python benchmarks/compare_allocations.py results/cpu results/allocations/mpnet-5-folds-3-epochs \
        --train data/sentiment-analysis-on-movie-reviews/train.tsv
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from fasthf.inputs.folds import held_out_groups
from fasthf.outputs.decisions import RESAMPLES, clear_gain
from fasthf.outputs.metrics import METRICS, accuracy, log_loss


def last_stage_outputs(chain: Path) -> Path:
    stages = sorted((chain / "stages").iterdir(), key=lambda stage: int(stage.name))
    return stages[-1] / "valid_outputs.csv"


def oof_outputs(results: Path, rows: int) -> np.ndarray:
    chains = sorted(results.glob("*/seed*/fold*"))
    table = pd.concat([pd.read_csv(last_stage_outputs(chain)) for chain in chains])
    table = table.groupby("row").mean().reset_index()
    if len(table) != rows or not (table["row"].to_numpy() == np.arange(rows)).all():
        raise SystemExit(f"{results}: out-of-fold outputs cover {len(table)} of the {rows} training phrases; "
                         "only runs with folds >= 2 have them for every phrase")
    return table.filter(like="out_").to_numpy()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--train", type=Path, default=Path("data/sentiment-analysis-on-movie-reviews/train.tsv"))
    args = parser.parse_args(argv)

    train = pd.read_csv(args.train, sep="\t", keep_default_na=False)
    y, sentences = train["Sentiment"].to_numpy(), train["SentenceId"].to_numpy()
    split = held_out_groups(sentences, valid_fraction=0.1, seed=42)
    runs = {str(run): oof_outputs(run, len(train)) for run in args.runs}
    decided = {str(run): f"{json.loads((run / 'ensemble' / 'metrics.json').read_text())['score']:.4f}"
               for run in args.runs}
    if len(runs) > 1:  # every row held out by each run's chains: their mean is out of fold too
        runs["the runs' outputs averaged"] = np.mean(list(runs.values()), axis=0)
    first_name, first = next(iter(runs.items()))
    first_right = first.argmax(axis=1) == y

    def share_won(right: np.ndarray) -> str:
        won = clear_gain(lambda rows: right[rows].mean(), lambda rows: first_right[rows].mean(), sentences,
                         METRICS["accuracy"])
        return f"{won:.0%}"

    print("| run | out of fold, all phrases | log loss | its ensemble as decided (offsets where used) | "
          f"cpu.yaml's split phrases | beats the first on (of {RESAMPLES} sentence resamples) |")
    print("|---|---|---|---|---|---|")
    for name, outputs in runs.items():
        right = outputs.argmax(axis=1) == y
        versus = "" if name == first_name else share_won(right)
        print(f"| {name} | {accuracy(y, outputs):.4f} | {log_loss(y, outputs):.4f} | {decided.get(name, '')} | "
              f"{accuracy(y[split], outputs[split]):.4f} ({split.sum():,} phrases) | {versus} |")


if __name__ == "__main__":
    main()
