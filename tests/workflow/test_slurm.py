"""A chain through a real SLURM (one node on this machine, started by tests/slurm/cluster.sh, which
.ci/run calls) with profiles/slurm: each training stage is its own SLURM job, and the submission equals
the one a local run makes. The demo's jobs with a tiny random BERT and two stages: SLURM is under test,
not the model (MiniLM's five epochs under SLURM took nine of the suite's minutes).

Skipped, with the reason, where no SLURM runs here: start one with `bash tests/slurm/cluster.sh start`.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import NOTEBOOK_RULES, LIGHT_RULES, NETWORK_RULES, PATIENCE_S, RESULTS, copy_workflow

STATE = Path(os.environ.get("FASTHF_SLURM_DIR", "/tmp/fasthf-slurm"))


def slurm_unavailable() -> str | None:
    if (STATE / "unavailable").exists():
        return (STATE / "unavailable").read_text().strip()
    if shutil.which("sinfo") is None:
        return "no SLURM on this machine: `bash tests/slurm/cluster.sh start` installs and starts one"
    done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    if done.returncode != 0 or not re.search(r"idle|mix|alloc", done.stdout):
        return f"no SLURM node is up ({(done.stdout + done.stderr).strip()[:200]}): bash tests/slurm/cluster.sh start"
    return None


# The test cluster is one node of this machine's cores and no GPU, without an accounting database:
# the profile's GPU, thread and memory requests are scaled down, job states come from squeue.
TEST_CLUSTER = ["--slurm-status-command", "squeue", "--slurm-no-account", "--slurm-keep-successful-logs",
                "--slurm-init-seconds-before-status-checks", "2",
                "--default-resources", "slurm_partition=debug", "runtime=30", "mem_mb=1000",
                "--set-threads", *(f"{rule}={os.cpu_count()}" for rule in ("train_stage", "lr_find", "predict")),
                "--set-resources", *(f"{rule}:{key}={value}" for rule in ("train_stage", "lr_find", "predict")
                                     for key, value in (("gpu", 0), ("mem_mb", 4000)))]


LOCAL_RESULTS = "results/local"
# Two stages at fixed rates, no lr_find: each SLURM job waits on the plugin's status checks (10 s longer each
# time a check finds it still running), so a job that is not under test costs the chain half a minute.
SLURM_STAGES = """\
lr_find: false
stages:
  - {freeze_to: -1, epochs: 1, lr_max: 1.0e-3}
  - {freeze_to: 0, epochs: 1, lr_max: 1.0e-3, lr_decay: 0.9}
"""


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory, tiny_model_folder):
    """The chain through SLURM (results/demo); meanwhile the same chain run locally in a folder of its own
    (the SLURM run mostly waits on the queue). (SLURM's workdir, its output, the local run's results)."""
    reason = slurm_unavailable()
    if reason:
        pytest.skip(f"SLURM: {reason}")
    workdir, localdir = (copy_workflow(tmp_path_factory.mktemp(name)) for name in ("slurm", "local"))
    for folder in (workdir, localdir):
        (folder / "config" / "two-stages.yaml").write_text(SLURM_STAGES)
    chain = ["--configfile", "config/demo.yaml", "config/two-stages.yaml", "--config", f"model={tiny_model_folder('bert')}"]
    local_log = localdir / "snakemake.log"  # a file, not a pipe: nobody reads it until the SLURM run ends
    with open(local_log, "w") as log:
        local = subprocess.Popen(["snakemake", "--cores", "2", *chain, f"results_dir={LOCAL_RESULTS}"], cwd=localdir,
                                 stdout=subprocess.DEVNULL, stderr=log)
    done = subprocess.run(["snakemake", "--workflow-profile", "profiles/slurm", "--jobs", "2", *TEST_CLUSTER, *chain],
                          cwd=workdir, capture_output=True, text=True, timeout=2 * PATIENCE_S)
    local.wait(timeout=2 * PATIENCE_S)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    assert local.returncode == 0, local_log.read_text()[-6000:]
    return workdir, done.stdout + done.stderr, localdir / LOCAL_RESULTS


def slurm_job_ids(workdir: Path, rule: str) -> dict[str, str]:
    """{wildcards: SLURM job id} from the plugin's per-job logs (.snakemake/slurm_logs/rule_X/WILDCARDS/ID.log)."""
    logs = sorted((workdir / ".snakemake" / "slurm_logs" / f"rule_{rule}").rglob("*.log"))
    return {log.parent.name: log.stem for log in logs}


def test_each_training_stage_ran_as_its_own_slurm_job(slurm_run):
    workdir, _, _ = slurm_run
    stages = slurm_job_ids(workdir, "train_stage")
    assert len(stages) == 2 and len(set(stages.values())) == 2, stages
    for wildcards, job_id in stages.items():
        record = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
        assert "JobState=COMPLETED" in record, record  # the scheduler's own record of the job
        assert f"Comment=rule_train_stage_wildcards_{wildcards}" in record, record  # which stage it ran


def test_internet_steps_and_light_jobs_ran_on_the_submitting_machine(slurm_run):
    workdir, _, _ = slurm_run
    for rule in sorted((NETWORK_RULES | LIGHT_RULES) - {"submit"} - NOTEBOOK_RULES):  # the demo: a file route, no upload
        assert not slurm_job_ids(workdir, rule), f"{rule} is a localrule and must not become a SLURM job"
        assert rule == "download" or any((workdir / RESULTS).rglob(f"{rule}.log")), f"{rule} did not run"
    for rule in ("preprocess", "predict", "ensemble"):
        assert slurm_job_ids(workdir, rule), f"{rule} should have been a SLURM job"


def test_the_slurm_submission_equals_the_local_one(slurm_run):
    workdir, _, local = slurm_run
    slurm = (workdir / RESULTS / "submission.csv").read_bytes()
    assert slurm == (local / "submission.csv").read_bytes()
