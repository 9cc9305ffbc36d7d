"""The workflow on a real SLURM: tools/local-slurm.sh brings up one node with accounting (MariaDB +
slurmdbd, as clusters have it), the tiny config goes through `--executor slurm` with
profiles/slurm, and the jobs must be SLURM jobs whose results equal the local run's byte for byte.
A job that SLURM kills must end the run promptly. (The whole default config was run this way too,
by hand: 52 jobs, the same summary as a local run.)"""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from workflow_runs import artifact_digests, differing, planned_jobs, snakemake

pytestmark = pytest.mark.slow
LOCAL_SLURM = REPO / "tools" / "local-slurm.sh"
# The tiny config up to the fMRI embedding metrics: 15 jobs, the GPU-declaring CLIP training and
# embedding among them (the generative stages run in the local workflow tests).
SLURM_TARGETS = ("evaluate_embeddings",)


@pytest.fixture(scope="module")
def slurm_env() -> dict:
    """The environment that reaches the local cluster; stops the cluster afterwards only if this
    fixture started it."""
    if shutil.which("sbatch") is None and os.geteuid() != 0:
        pytest.skip("SLURM is not installed and installing it needs root")
    was_running = subprocess.run([LOCAL_SLURM, "status"], capture_output=True).returncode == 0
    started = subprocess.run([LOCAL_SLURM, "start"], capture_output=True, text=True, timeout=900)
    assert started.returncode == 0, started.stderr
    conf = subprocess.run([LOCAL_SLURM, "env"], capture_output=True, text=True, check=True).stdout
    yield {**os.environ, "SLURM_CONF": conf.strip().split("=", 1)[1]}
    if not was_running:
        subprocess.run([LOCAL_SLURM, "stop"], capture_output=True, timeout=120)


def slurm_workdir(workdir: Path) -> Path:
    """The tiny config for a CPU-only cluster and profiles/slurm with this cluster's account and
    partition filled in (what a user edits), checking status every few seconds."""
    config = yaml.safe_load((REPO / "config" / "examples" / "tiny.yaml").read_text())
    config["compute"] = {"gpus": 0}
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config))
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    profile["default-resources"].update(slurm_account="default", slurm_partition="debug")
    profile.update({"slurm-init-seconds-before-status-checks": 2, "latency-wait": 5})
    (workdir / "profile").mkdir()
    (workdir / "profile" / "config.yaml").write_text(yaml.safe_dump(profile))
    return workdir


def sacct_jobs(env: dict, since: str) -> list[dict]:
    """SLURM's accounting records of the jobs that started since ``since``."""
    fields = ["JobID", "JobName", "State", "ExitCode", "Account", "Comment"]
    out = subprocess.run(["sacct", "-X", "--parsable2", "--noheader", f"--starttime={since}",
                          f"--format={','.join(fields)}"], capture_output=True, text=True, env=env, check=True).stdout
    return [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line]


def test_tiny_config_runs_as_slurm_jobs_and_equals_the_local_run(slurm_env, finished_run, tmp_path):
    workdir = slurm_workdir(tmp_path)
    since = time.strftime("%Y-%m-%dT%H:%M:%S")
    result = snakemake(workdir, "--workflow-profile", "profile", "--until", *SLURM_TARGETS, cores=None, timeout=1800,
                       env=slurm_env)
    assert result.returncode == 0, result.stderr[-4000:]

    output = result.stdout + result.stderr
    planned = planned_jobs(output)
    run_id = re.search(r"SLURM run ID: ([0-9a-f-]+)", output).group(1)   # the plugin names every job so
    jobs = [job for job in sacct_jobs(slurm_env, since) if job["JobName"] == run_id]
    assert len(jobs) == sum(n for rule, n in planned.items() if rule != "all") >= 15   # each a SLURM job
    assert {job["State"] for job in jobs} == {"COMPLETED"} and {job["Account"] for job in jobs} == {"default"}
    assert {job["Comment"].split("_wildcards")[0].removeprefix("rule_") for job in jobs} == set(planned) - {"all"}

    reference = json.loads((finished_run / "digests.json").read_text())
    digests = artifact_digests(workdir)
    assert len(digests) > 40 and any(path.endswith("/sub-03/predictions.npz") for path in digests)
    assert differing(digests, reference) == []


def test_a_job_killed_by_slurm_fails_the_run_promptly_and_leaves_no_output(slurm_env, tmp_path):
    """A job that needs more memory than it asked for is killed by SLURM (the cluster enforces
    memory, as real ones do); the run must fail within a bounded time, not keep polling, and the
    job's outputs must not appear."""
    workdir = slurm_workdir(tmp_path)
    result = snakemake(workdir, "--workflow-profile", "profile", "--until", "train_tiny_clip",
                       "--set-resources", "train_tiny_clip:mem_mb=100", cores=None, timeout=300, env=slurm_env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Error in rule train_tiny_clip" in output and "SLURM status is: 'FAILED'" in output
    slurm_log = next((workdir / ".snakemake" / "slurm_logs" / "rule_train_tiny_clip").glob("*.log"))
    assert "exceeded memory limit" in slurm_log.read_text()
    assert not list(workdir.glob("results/**/open_clip_model.safetensors"))
