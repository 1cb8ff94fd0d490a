"""What a run's plan would have chosen on a faster or slower machine (issue 36, item 2): the rates a run measured
(its `plan.json`) scaled by `--speed`, the same limit, time already spent and allocations, planned again by
`fasthf.training.time_plan.make_plan`. The members' stages are given as freeze_to:epochs (the last stage's epochs
are the allocation's), the same for every member; lr_find, refit and the held-out fraction as in the run.

    python benchmarks/replan.py results/cpu/plan.json --speed 4 --stages 0:2
    python benchmarks/replan.py results/cpu/plan.json --speed 4 --stages 0:2 --allocations 5:1:3 5:1:4 5:2:2

`--allocations` (folds:seeds:epochs, from the least time to the most; :alone adds read_alone) replaces the run's
own list. `--rates` takes a member's rates from a `rates.json` of its own (the member its folder names), measured
again, for example with read_alone: the run's limit and time spent stay the plan's.

    python benchmarks/replan.py results/cpu/plan.json --speed 4 --stages 0:2 --allocations 5:1:3 5:1:3:alone \
        --rates results/cpu-read-alone/mpnet-shared/rates.json
"""
from __future__ import annotations

import argparse

from pathlib import Path

from fasthf.io import read_json
from fasthf.training.time_plan import Allocation, MemberTime, Rates, format_duration, make_plan


def numbers(text: str) -> tuple[int, ...]:
    """"0:2" -> (0, 2): a stage as freeze_to:epochs, an allocation as folds:seeds:epochs."""
    return tuple(int(x) for x in text.split(":"))


def allocation(text: str) -> Allocation:
    """"5:1:3" -> 5 folds, 1 seed, 3 epochs; "5:1:3:alone" reads the rows alone too (read_alone)."""
    alone = text.endswith(":alone")
    return Allocation(*numbers(text.removesuffix(":alone")), read_alone=alone)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plan")
    parser.add_argument("--speed", type=float, required=True, help="the rates' multiple: 4 is four times as fast")
    parser.add_argument("--stages", nargs="+", required=True, help="each stage as freeze_to:epochs, e.g. 0:2")
    parser.add_argument("--valid-fraction", type=float, default=0.1)
    parser.add_argument("--lr-find-batches", type=int, default=0)
    parser.add_argument("--refit", action="store_true")
    parser.add_argument("--allocations", nargs="+", help="each as folds:seeds:epochs[:alone]; the run's own list if left out")
    parser.add_argument("--rates", nargs="+", default=[], help="a member's rates.json, in place of the plan's rates")
    args = parser.parse_args(argv)

    measured = read_json(args.plan)
    stages = tuple(numbers(stage) for stage in args.stages)
    members = []
    given = {Path(path).parent.name: read_json(path) for path in args.rates}
    for name, rates in {**measured["rates"], **given}.items():
        frozen = {k: v * args.speed for k, v in (rates.get("frozen_per_s") or {}).items()} or None
        scaled = Rates(**{**rates, "train_per_s": rates["train_per_s"] * args.speed,
                          "predict_per_s": rates["predict_per_s"] * args.speed, "frozen_per_s": frozen,
                          "alone_per_s": rates.get("alone_per_s") and rates["alone_per_s"] * args.speed})
        members.append(MemberTime(name, stages, scaled, args.lr_find_batches))
    allocations = ([allocation(a) for a in args.allocations] if args.allocations
                   else [Allocation(**candidate["allocation"]) for candidate in measured["candidates"]])
    plan = make_plan(measured["time_limit_s"], measured["spent_before_plan_s"], members, allocations,
                     args.valid_fraction, args.refit, measured["margin"])
    print(f"at {args.speed:g}x the measured rates: {plan['why']}")
    for candidate in plan["candidates"]:
        end = measured["spent_before_plan_s"] + candidate["seconds"]["total"]
        print(f"  {Allocation(**candidate['allocation']).describe()}: ends at {format_duration(end)}")


if __name__ == "__main__":
    main()
