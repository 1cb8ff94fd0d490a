"""The competition presets and their committed fixtures, as the tests use them, and each preset's run."""
import os
import signal
import subprocess
import time
from pathlib import Path

from fasthf.inputs.competition import Competition
from helpers import ONE_CORE_JOBS, PATIENCE_S, REPO

PRESETS = REPO / "config" / "competitions"
FIXTURES = REPO / "tests" / "fixtures"
SLUGS = ["sentiment-analysis-on-movie-reviews", "nlp-getting-started", "spooky-author-identification",
         "jigsaw-toxic-comment-classification-challenge", "commonlitreadabilityprize",
         "feedback-prize-english-language-learning"]
# The forms of MLE-bench's and MLE-Dojo's text competitions (docs/competitions.md), run once each.
BENCHMARK_SLUGS = ["us-patent-phrase-to-phrase-matching", "google-quest-challenge", "kaggle-llm-science-exam",
                   "lmsys-chatbot-arena", "quora-question-pairs", "random-acts-of-pizza",
                   "detecting-insults-in-social-commentary", "jigsaw-unintended-bias-in-toxicity-classification",
                   "learning-agency-lab-automated-essay-scoring-2", "wsdm-cup-multilingual-chatbot-arena"]
FIXTURE = {slug: FIXTURES / f"{slug}.zip" for slug in [*SLUGS, *BENCHMARK_SLUGS]}
FIXTURE["sentiment-analysis-on-movie-reviews"] = FIXTURES / "sentiment-analysis-on-movie-reviews-mini.zip"
EXPECTED = {  # slug: (task, metric, submission form)
    "sentiment-analysis-on-movie-reviews": ("multiclass", "accuracy", "labels"),
    "nlp-getting-started": ("binary", "f1", "labels"),
    "spooky-author-identification": ("multiclass", "log_loss", "probabilities"),
    "jigsaw-toxic-comment-classification-challenge": ("multilabel", "roc_auc", "probabilities"),
    "commonlitreadabilityprize": ("regression", "rmse", "probabilities"),
    "feedback-prize-english-language-learning": ("regression", "mcrmse", "probabilities"),
    "us-patent-phrase-to-phrase-matching": ("regression", "pearson", "probabilities"),
    "google-quest-challenge": ("regression", "spearman", "probabilities"),
    "kaggle-llm-science-exam": ("multiclass", "map_at_3", "ranked"),
    "lmsys-chatbot-arena": ("multiclass", "log_loss", "probabilities"),
    "quora-question-pairs": ("binary", "log_loss", "probabilities"),
    "random-acts-of-pizza": ("binary", "roc_auc", "probabilities"),
    "detecting-insults-in-social-commentary": ("binary", "roc_auc", "probabilities"),
    "jigsaw-unintended-bias-in-toxicity-classification": ("soft", "bias_auc", "probabilities"),
    "learning-agency-lab-automated-essay-scoring-2": ("multiclass", "quadratic_kappa", "labels"),
    "wsdm-cup-multilingual-chatbot-arena": ("binary", "accuracy", "labels"),
}


def preset(slug) -> Competition:
    return Competition.from_config(slug, PRESETS)


def preset_command(slug: str, model) -> list[str]:
    """`slug`'s preset on its fixture, with `model` (a tiny model has 128 positions), a core a job."""
    return ["snakemake", "--cores", "1", "--configfile", f"config/competitions/{slug}.yaml", "config/one-core-jobs.yaml",
            "--config", f"archive={FIXTURE[slug]}", f"model={model}", "max_length=128"]


def stage_one_recorded(workdir: Path, results: Path) -> bool:
    """Stage 1 finished and Snakemake recorded it: the chain's stage 2 job has started."""
    return any((workdir / results / "logs").glob("*/seed*/fold*/stage_2.log"))


# The one preset killed and resumed (a regression, a code competition), in its own two stages: the mechanism is
# the same for every preset, and the demo's run (tests/workflow/test_pipeline.py) is killed and resumed too. The
# others train one stage of one epoch: their files and forms are under test, not their stages.
KILLED = "commonlitreadabilityprize"
ONE_EPOCH = "stages:\n  - {name: all, freeze_to: 0, epochs: 1, lr_max: 0.001}\n"


def run_preset(workdir: Path, slug: str, model: Path) -> tuple:
    """`slug`'s preset on its fixture; `KILLED`'s killed (SIGKILL) once stage 1 is recorded, then run again to the
    end: (workdir, results, stage 1's metrics.json, its mtime after the kill, the last run's output)."""
    (workdir / "config" / "one-core-jobs.yaml").write_text(ONE_CORE_JOBS + ("" if slug == KILLED else ONE_EPOCH))
    command = preset_command(slug, model)
    results = Path("results") / slug
    if slug != KILLED:
        done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
        stage_one = next((workdir / results).glob("*/seed*/fold0/stages/1/metrics.json"))
        return workdir, workdir / results, stage_one, stage_one.stat().st_mtime_ns, done.stdout + done.stderr
    run = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.time() + PATIENCE_S
    while not stage_one_recorded(workdir, results):
        assert run.poll() is None and time.time() < deadline, f"{slug}: stage 1 never finished"
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    stage_one = next((workdir / results).glob("*/seed*/fold0/stages/1/metrics.json"))
    mtime = stage_one.stat().st_mtime_ns
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return workdir, workdir / results, stage_one, mtime, done.stdout + done.stderr


# A span preset's run, smaller: two folds, two short stages, short windows (a long text is read in several)
SMALL = """\
max_length: 16
folds: 2
torch_threads: 1
stages:
  - {name: head, freeze_to: -1, epochs: 1, lr_max: 2.0e-3}
  - {name: all, freeze_to: 0, epochs: 2, lr_max: 1.0e-3}
"""


# A preset's run in one stage (config/one-stage.yaml beside config/small.yaml)
ONE_STAGE = "stages:\n  - {name: all, freeze_to: 0, epochs: 2, lr_max: 2.0e-3}\n"


def preset_run(workdir, slug, model, *config, targets=(), configs=()):
    """`slug`'s preset on its fixture with config/small.yaml (and `configs`), two jobs at once: its command."""
    command = ["snakemake", *targets, "--cores", "2", "--configfile", f"config/competitions/{slug}.yaml",
               "config/small.yaml", *configs, "--config", f"model={model}", f"archive=tests/fixtures/{slug}.zip", *config]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    return command
