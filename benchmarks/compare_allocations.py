"""Score runs of the movie competition against one another on the same training sentences (issue 36, item 2).

Each argument is a run's results folder with out-of-fold outputs over every training phrase (`folds` >= 2):
each fold's last stage's `valid_outputs.csv` (the models alone, no offsets; several chains of a row averaged; with
read_alone the chain's own, both readings averaged) and
`ensemble/metrics.json` (the score with what the ensemble decided, offsets or not). For each run: accuracy and log
loss out of fold over all phrases, the same restricted to the phrases of config/cpu.yaml's held-out split (seed 42,
10% of the sentences: what its one-split runs were scored on), and against the first run, the share of resamples of
the sentences (with replacement, each with all its phrases) on which this run's accuracy is the higher. With several
runs, their outputs averaged row by row as well: each row is held out by every run's chains, so the mean is an
out-of-fold ensemble of the runs. A run of several seeds is also shown seed by seed.

`--folds` restricts every run to those folds' held-out phrases, for runs that trained only some of their folds (a
fold's phrases must be the same in each run: folds are drawn from the data, not the seed).

    python benchmarks/compare_allocations.py results/cpu results/allocations/mpnet-5-folds-3-epochs \
        --train data/sentiment-analysis-on-movie-reviews/train.tsv
    python benchmarks/compare_allocations.py results/allocations/mpnet-5-folds-{3-epochs,4-epochs,2-seeds-2-epochs} \
        --folds 0 1
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
    """The chain's held-out outputs: with read_alone the mean of both readings (the chain's own `valid_outputs.csv`),
    else its last stage's."""
    if (chain / "valid_outputs.csv").is_file():
        return chain / "valid_outputs.csv"
    stages = sorted((chain / "stages").iterdir(), key=lambda stage: int(stage.name))
    outputs = stages[-1] / "valid_outputs.csv"
    if not outputs.is_file():
        raise SystemExit(f"{chain}: its last stage has no held-out outputs yet ({outputs} is missing)")
    return outputs


def chain_outputs(results: Path, folds: list[int] | None) -> pd.DataFrame:
    """Every chain's last-stage held-out outputs in one table, with its seed: all folds, or those in `folds`."""
    chains = [chain for chain in sorted(results.glob("*/seed*/fold*"))
              if folds is None or int(chain.name.removeprefix("fold")) in folds]
    if not chains:
        raise SystemExit(f"{results}: no chains" + (f" of folds {folds}" if folds else ""))
    return pd.concat([pd.read_csv(last_stage_outputs(chain)).assign(seed=chain.parent.name) for chain in chains])


def by_row(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The rows held out and their outputs, several chains of a row averaged."""
    mean = table.drop(columns="seed").groupby("row").mean()
    return mean.index.to_numpy(), mean.filter(like="out_").to_numpy()


def run_outputs(results: Path, rows: int, folds: list[int] | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The run's outputs (its chains averaged by row) and, with several seeds, each seed's alone."""
    table = chain_outputs(results, folds)
    held_out, outputs = by_row(table)
    if folds is None and not np.array_equal(held_out, np.arange(rows)):
        raise SystemExit(f"{results}: out-of-fold outputs cover {len(held_out)} of the {rows} training phrases; "
                         "only runs with folds >= 2 have them for every phrase (or give --folds)")
    runs = {str(results): (held_out, outputs)}
    if table["seed"].nunique() > 1:
        runs.update({f"{results} {seed} alone": by_row(chains) for seed, chains in table.groupby("seed")})
    return runs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--train", type=Path, default=Path("data/sentiment-analysis-on-movie-reviews/train.tsv"))
    parser.add_argument("--folds", nargs="+", type=int, help="only these folds' held-out phrases")
    args = parser.parse_args(argv)

    train = pd.read_csv(args.train, sep="\t", keep_default_na=False)
    runs = {}
    for run in args.runs:
        runs.update(run_outputs(run, len(train), args.folds))
    held_out = next(iter(runs.values()))[0]
    for name, (rows, _) in runs.items():
        if not np.array_equal(rows, held_out):
            raise SystemExit(f"{name} holds out other phrases than {args.runs[0]} ({len(rows)} against "
                             f"{len(held_out)}): its folds are not the same")
    runs = {name: outputs for name, (_, outputs) in runs.items()}
    y, sentences = train["Sentiment"].to_numpy()[held_out], train["SentenceId"].to_numpy()[held_out]
    split = held_out_groups(train["SentenceId"].to_numpy(), valid_fraction=0.1, seed=42)[held_out]
    decided = {str(run): f"{json.loads((run / 'ensemble' / 'metrics.json').read_text())['score']:.4f}"
               for run in args.runs if args.folds is None}
    if len(args.runs) > 1:  # every row held out by each run's chains: their mean is out of fold too
        runs["the runs' outputs averaged"] = np.mean([runs[str(run)] for run in args.runs], axis=0)
    first_name, first = next(iter(runs.items()))
    first_right = first.argmax(axis=1) == y

    def share_won(right: np.ndarray) -> str:
        won = clear_gain(lambda rows: right[rows].mean(), lambda rows: first_right[rows].mean(), sentences,
                         METRICS["accuracy"])
        return f"{won:.0%}"

    phrases = ("all phrases" if args.folds is None else
               f"the phrases of fold{'s' * (len(args.folds) > 1)} {', '.join(map(str, args.folds))}")
    print(f"| run | out of fold, {phrases} | log loss | its ensemble as decided (offsets where used) | "
          f"cpu.yaml's split phrases | beats the first on (of {RESAMPLES} sentence resamples) |")
    print("|---|---|---|---|---|---|")
    for name, outputs in runs.items():
        right = outputs.argmax(axis=1) == y
        versus = "" if name == first_name else share_won(right)
        print(f"| {name} | {accuracy(y, outputs):.4f} | {log_loss(y, outputs):.4f} | {decided.get(name, '')} | "
              f"{accuracy(y[split], outputs[split]):.4f} ({split.sum():,} phrases) | {versus} |")


if __name__ == "__main__":
    main()
