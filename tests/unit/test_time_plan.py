"""The time limit's plan (fasthf.training.time_plan): durations, the plan from given rates, the refusal that names
the limit needed, and the clock a resumed run keeps."""
import json
import os

import pytest

from fasthf.training.time_plan import (Allocation, MemberTime, PlanError, Rates, format_duration, make_plan,
                                       parse_duration, planned_seeds, run_seconds, spent_seconds, stage_deadline,
                                       start_session)

# fasthf's default allocations (workflow/schemas/config.schema.yaml, time_plan)
ALLOCATIONS = [Allocation(1, 1, 1), Allocation(1, 1, 2), Allocation(3, 1, 2), Allocation(5, 1, 2), Allocation(5, 1, 3),
               Allocation(5, 2, 3), Allocation(5, 3, 3)]
# about MPNet's shape on the movie reviews with encode: group (8,544 sentences, 16 a batch), at made-up rates
RATES = Rates(train_per_s=8.0, predict_per_s=40.0, startup_s=20.0, sequences=8544, test_sequences=3310, batch_size=16)


def member(rates=RATES, stages=((0, 2),), lr_find=0):
    return MemberTime("mpnet", stages, rates, lr_find)


@pytest.mark.parametrize("text, seconds", [("60m", 3600), ("9h", 32400), ("90s", 90), (" 1.5h ", 5400),
                                           (None, None), ("null", None)])
def test_a_duration_is_a_number_and_a_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["an hour", "60", 60, "0m", "-5m", "60 min"])
def test_a_duration_without_its_unit_is_refused_saying_how_to_write_one(text):
    with pytest.raises(ValueError, match="s, m or h"):
        parse_duration(text)


def test_durations_read_as_people_write_them():
    assert [format_duration(s) for s in (42, 450, 3725)] == ["42s", "7m 30s", "1h 02m"]


def test_a_runs_seconds_are_its_chains_stages_predictions_and_light_jobs():
    """One held-out split of 10%, one seed, two epochs, no lr_find: worked out by hand."""
    seconds = run_seconds([member()], Allocation(1, 1, 2), valid_fraction=0.1, refit=False, light_jobs=5)
    train = 2 * 8544 * 0.9 / 8.0
    validate = 2 * 8544 * 0.1 / 40.0
    assert seconds["training"] == pytest.approx(train + validate + 20.0)  # one stage job's start
    assert seconds["prediction"] == pytest.approx(20.0 + 3310 / 40.0)
    assert seconds["tail"] == pytest.approx((5 + 1) * 20.0)  # the run's light jobs and one stages table
    assert seconds["total"] == pytest.approx(seconds["training"] + seconds["prediction"] + seconds["tail"])


def test_a_frozen_stage_counts_at_its_own_measured_rate_and_the_allocation_sets_the_last_stages_epochs():
    rates = Rates(8.0, 40.0, 20.0, 8544, 3310, 16, frozen_per_s={"-1": 24.0})
    two = run_seconds([member(rates, ((-1, 1), (0, 1)))], Allocation(1, 1, 3), 0.1, False, 5)
    one = run_seconds([member(rates, ((0, 1),))], Allocation(1, 1, 3), 0.1, False, 5)
    assert two["training"] - one["training"] == pytest.approx(8544 * 0.9 / 24.0 + 8544 * 0.1 / 40.0 + 20.0)
    assert rates.training(-2) == 8.0  # a state not measured: every layer's rate, never a guess that is faster


def test_lr_find_and_more_folds_seeds_and_epochs_each_cost_time():
    base = run_seconds([member()], Allocation(1, 1, 2), 0.1, False, 5)["total"]
    assert run_seconds([member(lr_find=100)], Allocation(1, 1, 2), 0.1, False, 5)["total"] == pytest.approx(
        base + 20.0 + 100 * 16 / 8.0)
    for more in (Allocation(3, 1, 2), Allocation(1, 2, 2), Allocation(1, 1, 3)):
        assert run_seconds([member()], more, 0.1, False, 5)["total"] > base


def test_the_plan_takes_the_last_allocation_that_fits_and_says_why():
    plan = make_plan(3600, 300, [member()], ALLOCATIONS, valid_fraction=0.1)
    totals = [300 + c["seconds"]["total"] for c in plan["candidates"]]
    fits = [total <= 3600 * 0.9 for total in totals]
    chosen = max(i for i, fit in enumerate(fits) if fit)
    assert plan["chosen"] == {"folds": ALLOCATIONS[chosen].folds, "seeds": ALLOCATIONS[chosen].seeds,
                              "epochs": ALLOCATIONS[chosen].epochs, "read_alone": False}
    assert plan["predicted_end_s"] == pytest.approx(totals[chosen], abs=0.1)
    assert ALLOCATIONS[chosen].describe() in plan["why"] and ALLOCATIONS[chosen + 1].describe() in plan["why"]
    seconds = plan["candidates"][chosen]["seconds"]
    assert plan["training_deadline_s"] == pytest.approx(3600 * 0.9 - seconds["prediction"] - seconds["tail"], abs=0.1)
    assert plan["rates"]["mpnet"]["train_per_s"] == 8.0
    json.dumps(plan)  # plan.json


def test_four_times_the_rates_buy_more_of_the_list():
    slow = make_plan(3600, 300, [member()], ALLOCATIONS, 0.1)
    fast = make_plan(3600, 300, [member(Rates(32.0, 160.0, 20.0, 8544, 3310, 16))], ALLOCATIONS, 0.1)
    assert ALLOCATIONS.index(Allocation(**fast["chosen"])) > ALLOCATIONS.index(Allocation(**slow["chosen"]))


def test_a_limit_too_short_for_the_smallest_plan_is_refused_naming_the_limit_that_fits():
    with pytest.raises(PlanError) as refused:
        make_plan(600, 300, [member()], ALLOCATIONS, 0.1)
    message = str(refused.value)
    assert message.startswith("time_limit 10m 00s is too short: the smallest plan (one held-out split, 1 seed, "
                              "last stage 1 epoch) needs about ")
    minutes = int(message.rsplit("at least ", 1)[1].rstrip("m"))
    plan = make_plan(minutes * 60, 300, [member()], ALLOCATIONS, 0.1)  # the limit it names is enough
    assert plan["chosen"] == {"folds": 1, "seeds": 1, "epochs": 1, "read_alone": False}


def test_more_seeds_start_with_the_members_own():
    assert planned_seeds([42], 3) == [42, 43, 44]
    assert planned_seeds([7, 42], 3) == [7, 42, 43]
    assert planned_seeds([7, 42], 1) == [7]


def test_the_clock_counts_each_session_to_its_last_sign_of_work(tmp_path):
    """A session killed with -9 leaves no end: the next start closes it at the last file the run changed,
    so the hours it lay dead are not counted."""
    results, clock = tmp_path / "results", tmp_path / "results" / "clock.json"
    results.mkdir()
    start_session(clock, results, now=1000.0)
    (results / "stage.log").write_text("...")
    os.utime(results / "stage.log", (1600.0, 1600.0))
    os.utime(clock, (1000.0, 1000.0))
    sessions = start_session(clock, results, now=90000.0)  # resumed the next day
    assert sessions[0] == {"start": 1000.0, "end": 1600.0} and sessions[1] == {"start": 90000.0, "end": None}
    assert spent_seconds(clock, now=90060.0) == pytest.approx(600 + 60)


def test_a_stage_deadline_is_the_plans_less_what_the_run_has_spent(tmp_path):
    clock = tmp_path / "clock.json"
    clock.write_text(json.dumps([{"start": 0.0, "end": 500.0}, {"start": 10000.0, "end": None}]))
    plan = {"training_deadline_s": 3000.0, "rates": {"mpnet": {"train_per_s": 8.0}}, "validate_pass_s": {"mpnet": 21.4}}
    deadline, batch_s, validate_s = stage_deadline(plan, clock, "mpnet", batch_size=16, now=10100.0)
    assert deadline == pytest.approx(10100.0 + 3000.0 - 600.0)
    assert (batch_s, validate_s) == (2.0, 21.4)


def test_read_alone_adds_the_lone_readings_of_the_test_and_of_each_chains_held_out_rows_at_their_own_rate():
    alone = Rates(8.0, 40.0, 20.0, 8544, 3310, 16, alone_per_s=100.0, alone_sequences=150000,
                  alone_test_sequences=60000)
    once, twice = (run_seconds([member(alone)], Allocation(5, 1, 2, read_alone), 0.1, False, 5)
                   for read_alone in (False, True))
    # each of the 5 chains reads the test rows alone, and its fifth of the training rows (a job each)
    assert twice["prediction"] - once["prediction"] == pytest.approx(5 * (60000 / 100.0 + 20.0 + 150000 / 5 / 100.0))
    assert twice["training"] == once["training"]  # training reads the spans only
    assert once == run_seconds([member(RATES)], Allocation(5, 1, 2), 0.1, False, 5)  # not bought: not counted
    assert Allocation(5, 1, 3, True).describe() == "5 folds, 1 seed, last stage 3 epochs, rows read alone too"
    with pytest.raises(ValueError, match="the rates measured no lone reading"):
        run_seconds([member(RATES)], Allocation(5, 1, 2, True), 0.1, False, 5)
