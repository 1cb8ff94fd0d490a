"""benchmarks/replan.py plans a run's measured rates again at a multiple of their speed: faster rates buy a later
allocation of the run's own list, or of the list given."""
import json
import subprocess
import sys

from helpers import REPO

from fasthf.training.time_plan import Allocation, MemberTime, Rates, make_plan

SCRIPT = REPO / "benchmarks" / "replan.py"
RATES = Rates(train_per_s=8.0, predict_per_s=40.0, startup_s=20.0, sequences=8544, test_sequences=3310, batch_size=16)
OWN = [Allocation(1, 1, 2), Allocation(3, 1, 2), Allocation(5, 1, 2), Allocation(5, 1, 3)]


def replan(tmp_path, *args) -> str:
    plan = make_plan(3 * 3600, 60, [MemberTime("mpnet", ((0, 2),), RATES)], OWN, valid_fraction=0.1)
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "plan.json"), "--stages", "0:2", *args],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_faster_rates_buy_a_later_allocation_of_the_runs_own_list(tmp_path):
    assert "fits: 3 folds, 1 seed" in replan(tmp_path, "--speed", "1")
    assert "fits: 5 folds, 1 seed, last stage 3 epochs" in replan(tmp_path, "--speed", "4")


def test_a_list_given_replaces_the_runs_own(tmp_path):
    out = replan(tmp_path, "--speed", "4", "--allocations", "5:1:3", "5:2:2", "5:1:30")
    assert "fits: 5 folds, 2 seeds, last stage 2 epochs" in out and "the next (5 folds, 1 seed, last stage 30" in out
    assert out.count(": ends at") == 3


def test_a_members_rates_measured_again_replace_the_plans_and_read_alone_costs_time(tmp_path):
    """Rates with read_alone (the rows read alone predicted at their own rate) push the 4x plan back a step."""
    from dataclasses import asdict

    folder = tmp_path / "mpnet"
    folder.mkdir()
    alone = Rates(8.0, 40.0, 20.0, 8544, 3310, 16, alone_per_s=18.0, alone_sequences=150000, alone_test_sequences=60000)
    (folder / "rates.json").write_text(json.dumps(asdict(alone)))
    given = ("--rates", str(folder / "rates.json"))
    out = replan(tmp_path, "--speed", "4", *given, "--allocations", "5:1:2", "5:1:2:alone", "5:1:3:alone")
    assert "fits: 5 folds, 1 seed, last stage 2 epochs, rows read alone too" in out
    assert "fits: 5 folds, 1 seed, last stage 3 epochs" in replan(tmp_path, "--speed", "4", *given)  # not bought
