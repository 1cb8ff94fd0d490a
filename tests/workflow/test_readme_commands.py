"""The README's main job and what it says to run after it, as it writes them, in a fresh copy of the
workflow: Kaggle is the stand-in CLI (tests/fake_kaggle.py) and, the hub being out of reach, the model
is a tiny random RoBERTa given as `--config model=` (the one word added to the README's snakemake commands)."""
import json
import os
import shlex
import subprocess

import pandas as pd

from helpers import copy_workflow, fake_kaggle_env, readme_commands, rendered_text

SLUG = "sentiment-analysis-on-movie-reviews"


def readme_command(start: str) -> list[str]:
    return shlex.split(next(c for c in readme_commands() if c.startswith(start)))


def test_the_main_job_then_the_report_predict_and_validate(tmp_path, tiny_model_folder):
    (tmp_path / "clone").mkdir()
    workdir = copy_workflow(tmp_path / "clone")
    env = {**os.environ, **fake_kaggle_env(tmp_path, "secret-token-789")}  # KAGGLE_API_TOKEN, as exported
    main_job = readme_command("snakemake --cores 1")
    assert main_job == ["snakemake", "--cores", "1"]
    model = ["--config", f"model={tiny_model_folder('roberta')}"]
    done = subprocess.run([*main_job, *model], cwd=workdir, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert calls[0].startswith(f"competitions download -c {SLUG} -p data/{SLUG}")
    assert sum(line.startswith("competitions submit ") for line in calls) == 1
    results = workdir / "results" / SLUG
    assert json.loads((results / "submission_receipt.json").read_text())["public_score"] == 0.61234
    summary = pd.read_csv(results / "summary.csv").set_index("what").value
    assert summary["public score"] == "0.61234"
    # the tokenizer of the default competition reads each phrase as inside its sentence
    [tokenizer_config] = results.glob("*/pretrained/tokenizer_config.json")
    assert json.loads(tokenizer_config.read_text())["add_prefix_space"]

    report = readme_command("snakemake --report")
    subprocess.run([*report, *model], cwd=workdir, check=True, capture_output=True)
    first_page = rendered_text(workdir / report[2]).split("Save as SVG")[0]
    assert "public score 0.61234" in first_page and f"competition {SLUG}" in first_page

    predicted = subprocess.run(readme_command("fasthf predict"), cwd=workdir, capture_output=True, text=True)
    assert predicted.returncode == 0, predicted.stderr
    label, index = predicted.stdout.splitlines()[0].split("\t")
    assert label in {"negative", "somewhat negative", "neutral", "somewhat positive", "positive"}

    checked = subprocess.run(readme_command("fasthf validate-submission"), cwd=workdir, capture_output=True, text=True)
    assert checked.returncode == 0 and "valid against" in checked.stdout, checked.stdout + checked.stderr


def test_the_cpu_preset_command_plans_the_whole_run(tmp_path):
    """The hour on the real data cannot run here; its command, with the fixture for the archive, plans the rates
    and the plan its time limit expands the chains from, and without the limit every job."""
    workdir = copy_workflow(tmp_path)
    command = readme_command("snakemake --cores 2 --configfile config/cpu.yaml")
    command[-1] = "archive=tests/fixtures/sentiment-analysis-on-movie-reviews-mini.zip"
    done = subprocess.run([*command, "--dry-run"], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rates" in done.stdout and "plan" in done.stdout and "train_stage" not in done.stdout
    done = subprocess.run([*command, "time_limit=null", "--dry-run"], cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "train_stage" in done.stdout and "submission" in done.stdout and "rates" not in done.stdout
