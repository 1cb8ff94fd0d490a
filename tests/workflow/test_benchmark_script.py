"""The speed benchmark runs end to end (on the fixture, tiny sizes, a tiny random BERT for MiniLM); its figures are
read by people, not asserted."""
import subprocess
import sys

from helpers import FIXTURE_ZIP, REPO


def test_speed_benchmark_runs_and_prints_every_figure(tiny_model_folder):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "speed.py"), "--archive", str(FIXTURE_ZIP),
                           "--model", str(tiny_model_folder("bert")),
                           "--train-phrases", "128", "--test-phrases", "256", "--pipeline-phrases", "16",
                           "--skip-rerun"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    for figure in ("preprocessing:", "GFLOP/s", "precision:", "(sortish)", "(random batches)", "HF Trainer defaults",
                   "HF Trainer informed", "ratio fasthf / informed Trainer", "fasthf predict_probs",
                   "pipeline defaults", "pipeline batched", "ratio fasthf / batched pipeline", "MFU",
                   "shared encoding:", "ratio fasthf shared / informed Trainer"):
        assert figure in done.stdout, figure
