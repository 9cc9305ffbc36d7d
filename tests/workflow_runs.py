"""Running the workflow from tests: the Snakemake command line, dry-run job tables, edited configs
and digests of the numeric artifacts two runs must share byte for byte."""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import REPO

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# Manifests, logs and the HTML report carry times; everything numeric must repeat exactly.
NUMERIC_SUFFIXES = (".npz", ".npy", ".safetensors", ".tsv", ".png", ".nii.gz", ".eeg", ".pt")


def snakemake(workdir: Path, *args: str, configfile: Path | None = None, snakefile: Path = REPO / "Snakefile",
              cores: int | None = 2, timeout: int = 1200, env: dict | None = None) -> subprocess.CompletedProcess:
    """One Snakemake run in ``workdir`` on its tiny.yaml (or ``configfile``)."""
    command = [*SNAKEMAKE, "--snakefile", str(snakefile), "--configfile", str(configfile or workdir / "tiny.yaml"),
               *(["--cores", str(cores)] if cores else []), *args]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from a run's "Job stats" table."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M)}


def edited_config(workdir: Path, section: tuple[str, ...], value) -> Path:
    """A copy of the workdir's tiny.yaml with one key set."""
    config = yaml.safe_load((workdir / "tiny.yaml").read_text())
    node = config
    for key in section[:-1]:
        node = node.setdefault(key, {})
    node[section[-1]] = value
    path = workdir / f"edited-{'-'.join(section)}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def artifact_digests(workdir: Path) -> dict[str, str]:
    """sha256 of every numeric artifact under results/, by path (gzip files by their content, as
    gzip headers carry a time); the jobs' benchmark files and the cost table built from them are
    timings, not artifacts, and left out."""
    digests = {}
    timings = workdir / "results" / "benchmarks" / "jobs"
    for path in sorted((workdir / "results").rglob("*")):
        if timings in path.parents or path == workdir / "results" / "benchmarks" / "rules.tsv":
            continue
        if path.is_file() and path.name.endswith(NUMERIC_SUFFIXES):
            data = path.read_bytes()
            digests[path.relative_to(workdir).as_posix()] = hashlib.sha256(
                gzip.decompress(data) if path.name.endswith(".gz") else data).hexdigest()
    return digests


def differing(digests: dict[str, str], reference: dict[str, str]) -> list[str]:
    """Paths whose digest differs from the reference's, or that the reference lacks."""
    return sorted(path for path, digest in digests.items() if reference.get(path) != digest)
