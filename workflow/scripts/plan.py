"""Snakemake entry point: the plan of a run with a time limit (plan.json), from the members' measured rates."""
import logging

from fasthf.io import read_json, write_json
from fasthf.logs import job_log
from fasthf.training.time_plan import (Allocation, MemberTime, Rates, format_duration, make_plan, parse_duration,
                                       spent_seconds)

with job_log(snakemake.log[0]):
    params = snakemake.params
    members = [MemberTime(name, tuple(map(tuple, stages)), Rates(**read_json(path)), params.lr_find_batches[name])
               for (name, stages), path in zip(params.stages.items(), snakemake.input.rates)]
    plan = make_plan(parse_duration(params.time_limit), spent_seconds(params.clock), members,
                     [Allocation(**a) for a in params.allocations], params.valid_fraction, params.refit, params.margin)
    logging.getLogger("fasthf").info("plan: %s; training ends by %s", plan["why"],
                                     format_duration(plan["training_deadline_s"]))
    write_json(snakemake.output.plan, plan)
