"""A run's time limit (config `time_limit`): how many folds, seeds and epochs fit, decided from rates measured
on the run's own tensors before any training; and the clock a resumed run keeps.

No torch here: the Snakefile reads the plan (`plan.json`, a Snakemake checkpoint, so the chains it chose are
ordinary chains) and the clock (`clock.json`); the rates come from `fasthf.training.rates`.

The arithmetic assumes the jobs run one after another (`--cores` as the train resources' threads): each chain's
stages (training at the rate of its freezing state, a validation pass after every epoch, a job's start each), each
predicting chain's test rows, and a job's start for each light job at the end (the ensemble, the submission, ...).
"""
from __future__ import annotations

import math
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from fasthf.io import read_json, write_json

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)\s*$")
SECONDS_IN = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text) -> float | None:
    """`60m`, `9h`, `90s` in seconds; None (or "null") for no limit. A bare number is refused: 60 would be an hour
    to one reader and a minute to another."""
    if text is None or text == "null":
        return None
    found = DURATION.match(str(text))
    if not found or float(found[1]) <= 0:
        raise ValueError(f"time_limit {text!r}: write a positive number and a unit, s, m or h (60m, 9h, 5400s)")
    return float(found[1]) * SECONDS_IN[found[2]]


def format_duration(seconds: float) -> str:
    """3725 -> "1h 02m", 450 -> "7m 30s", 42 -> "42s"."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


@dataclass(frozen=True)
class Rates:
    """A member's speeds, measured on its own tensors at the configured batch sizes and precision."""
    train_per_s: float    # training sequences a second, every layer trainable
    predict_per_s: float  # sequences predicted a second
    startup_s: float      # a job's start: the imports, the model and the tensors loaded
    sequences: int        # training sequences (a text, a window of a long one, or a group with encode: group)
    test_sequences: int
    batch_size: int       # training sequences a batch
    frozen_per_s: dict | None = None  # {freeze_to: training sequences a second} for the stages' other states
    alone_per_s: float | None = None  # read_alone: rows read alone predicted a second (None: read_alone off)
    alone_sequences: int = 0          # read_alone: training rows with a lone reading too (the held-out share is read)
    alone_test_sequences: int = 0     # read_alone: test rows with a lone reading too

    def training(self, freeze_to: int) -> float:
        """Training sequences a second in the state `freeze_to` leaves (every layer's rate where not measured)."""
        return float((self.frozen_per_s or {}).get(str(freeze_to), self.train_per_s)) if freeze_to else self.train_per_s


@dataclass(frozen=True)
class Allocation:
    """One way to spend the time: folds (1: one held-out split), seeds per member, the last stage's epochs, and
    (encode: group) whether the held-out and test rows are read alone too (config `read_alone`)."""
    folds: int
    seeds: int
    epochs: int
    read_alone: bool = False

    def describe(self) -> str:
        folds = "one held-out split" if self.folds == 1 else f"{self.folds} folds"
        return (f"{folds}, {self.seeds} seed{'s' * (self.seeds > 1)}, last stage {self.epochs} "
                f"epoch{'s' * (self.epochs > 1)}{', rows read alone too' * self.read_alone}")


@dataclass(frozen=True)
class MemberTime:
    """What the plan needs of a member: its stages as (freeze_to, epochs) (the last one's epochs the allocation
    replaces), its rates, and the batches of its lr_find (0: none; in the first stage's state)."""
    name: str
    stages: tuple[tuple[int, int], ...]
    rates: Rates
    lr_find_batches: int = 0


def held_out_share(folds: int, valid_fraction: float) -> float:
    return 1 / folds if folds > 1 else valid_fraction


def chain_seconds(member: MemberTime, allocation: Allocation, valid_fraction: float) -> dict:
    """One chain's predicted seconds: its stage jobs, its predict job (the test rows) and, with read_alone, its
    held-out rows' lone reading."""
    rates, held_out = member.rates, held_out_share(allocation.folds, valid_fraction)
    stages = [*member.stages[:-1], (member.stages[-1][0], allocation.epochs)]
    train = sum(epochs * rates.sequences * (1 - held_out) / rates.training(freeze_to) for freeze_to, epochs in stages)
    epochs = sum(epochs for _, epochs in stages)
    validate = epochs * rates.sequences * held_out / rates.predict_per_s  # fastai validates after every epoch
    stages = train + validate + len(stages) * rates.startup_s
    predict = rates.startup_s + rates.test_sequences / rates.predict_per_s
    reread = 0.0  # read_alone: the held-out rows' lone reading, a job of its own
    if allocation.read_alone:
        if not rates.alone_per_s:
            raise ValueError(f"{member.name}: an allocation reads rows alone, but the rates measured no lone reading")
        predict += rates.alone_test_sequences / rates.alone_per_s
        reread = rates.startup_s + rates.alone_sequences * held_out / rates.alone_per_s
    return {"stages": stages, "predict": predict, "held_out": reread,
            "validate_pass": rates.sequences * held_out / rates.predict_per_s}


def run_seconds(members: list[MemberTime], allocation: Allocation, valid_fraction: float, refit: bool,
                light_jobs: int) -> dict:
    """The whole run after the plan: every member's lr_find and chains' training, every predicting chain's
    prediction, and the light jobs: `light_jobs` for the run and one per chain (its stages table)."""
    training = prediction = 0.0
    chains = allocation.folds * allocation.seeds
    for member in members:
        rates = member.rates
        if member.lr_find_batches:
            training += rates.startup_s + member.lr_find_batches * rates.batch_size / rates.training(member.stages[0][0])
        chain = chain_seconds(member, allocation, valid_fraction)
        training += chain["stages"] * chains
        if refit:  # a refit per seed trains on every row (no validation to speak of) and predicts the test
            whole = chain_seconds(member, allocation, 0.0)
            training += whole["stages"] * allocation.seeds
        prediction += chain["predict"] * (allocation.seeds if refit else chains) + chain["held_out"] * chains
    tail = (light_jobs + len(members) * (chains + allocation.seeds * refit)) * max(m.rates.startup_s for m in members)
    return {"training": training, "prediction": prediction, "tail": tail, "total": training + prediction + tail}


class PlanError(ValueError):
    """No allocation fits the time limit."""


def make_plan(limit_s: float, spent_s: float, members: list[MemberTime], allocations: list[Allocation],
              valid_fraction: float, refit: bool = False, margin: float = 0.1, light_jobs: int = 5) -> dict:
    """The last of `allocations` (listed from the least to the most time) whose run is predicted to end within
    `limit_s` less the `margin` share, counting the `spent_s` already spent (download, tokenizing, the rates).

    Refused (PlanError) when not even the first fits, naming the limit it would need. The plan says what was
    chosen and why, every candidate's predicted seconds, the predicted end, and the training deadline: the
    moment (in seconds spent on the run) after which a stage stops early so that prediction still fits."""
    usable = limit_s * (1 - margin)
    candidates = [{"allocation": asdict(a), "seconds": run_seconds(members, a, valid_fraction, refit, light_jobs)}
                  for a in allocations]
    fitting = [i for i, c in enumerate(candidates) if spent_s + c["seconds"]["total"] <= usable]
    if not fitting:
        need = (spent_s + candidates[0]["seconds"]["total"]) / (1 - margin)
        raise PlanError(f"time_limit {format_duration(limit_s)} is too short: the smallest plan "
                        f"({allocations[0].describe()}) needs about {format_duration(need)} on this machine at the "
                        f"rates just measured ({format_duration(spent_s)} already spent, a {margin:.0%} margin kept); "
                        f"set time_limit to at least {math.ceil(need / 60)}m")
    index = fitting[-1]
    chosen, seconds = allocations[index], candidates[index]["seconds"]
    end = spent_s + seconds["total"]
    why = (f"the last of the allocations that fits: {chosen.describe()}, predicted to end at "
           f"{format_duration(end)} of {format_duration(limit_s)} ({margin:.0%} kept as a margin)")
    if index + 1 < len(allocations):
        over = spent_s + candidates[index + 1]["seconds"]["total"]
        why += f"; the next ({allocations[index + 1].describe()}) would end at {format_duration(over)}"
    return {"time_limit_s": limit_s, "spent_before_plan_s": round(spent_s, 1), "margin": margin,
            "rates": {m.name: asdict(m.rates) for m in members}, "candidates": candidates,
            "chosen": asdict(chosen), "why": why, "predicted_end_s": round(end, 1),
            "training_deadline_s": round(usable - seconds["prediction"] - seconds["tail"], 1),
            "validate_pass_s": {m.name: chain_seconds(m, chosen, valid_fraction)["validate_pass"] for m in members}}


def stage_deadline(plan: dict, clock: str | Path, member: str, batch_size: int, now: float | None = None) -> tuple:
    """For a stage of `member`: (the plan's training deadline as a `time.time()`, counting what the run has spent
    so far by `clock`; a training batch's seconds at the measured rate; a validation pass's seconds)."""
    now = time.time() if now is None else now
    deadline = now + plan["training_deadline_s"] - spent_seconds(clock, now)
    return deadline, batch_size / plan["rates"][member]["train_per_s"], plan["validate_pass_s"][member]


def planned_seeds(configured: list[int], count: int) -> list[int]:
    """`count` seeds: the member's own first, then the next unused numbers after its largest."""
    seeds = list(configured[:count])
    while len(seeds) < count:
        seeds.append(max(seeds) + 1)
    return seeds


# The clock: time spent on a run across its sessions (each `snakemake` start), so that a resumed run neither
# forgets what it spent nor counts the hours it lay killed.

def last_change(folder: str | Path) -> float | None:
    """The latest modification time of any file under `folder` (a session's last sign of work)."""
    latest = None
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                mtime = os.stat(os.path.join(root, name)).st_mtime
            except FileNotFoundError:  # written and renamed meanwhile
                continue
            latest = mtime if latest is None else max(latest, mtime)
    return latest


def start_session(path: str | Path, results: str | Path, now: float | None = None) -> list[dict]:
    """Open a session in `path` (clock.json): the last one's end is the last change under `results` (a run
    killed with -9 leaves no end of its own), a new one starts now."""
    path, now = Path(path), time.time() if now is None else now
    sessions = read_json(path) if path.exists() else []
    if sessions and sessions[-1].get("end") is None:
        changed = last_change(results) or sessions[-1]["start"]
        sessions[-1]["end"] = min(max(changed, sessions[-1]["start"]), now)
    sessions.append({"start": now, "end": None})
    write_json(path, sessions)  # whole or not at all: a run may be killed at any moment
    return sessions


def spent_seconds(path: str | Path, now: float | None = None) -> float:
    """Seconds spent on the run: every closed session's length and the open one's so far."""
    now = time.time() if now is None else now
    sessions = read_json(path) if Path(path).exists() else []
    return sum((now if s["end"] is None else s["end"]) - s["start"] for s in sessions)
