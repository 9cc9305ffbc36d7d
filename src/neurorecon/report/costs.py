"""What each rule of a run cost: wall time and peak memory from Snakemake's per-job benchmark files.

Every rule declares ``benchmark: results/benchmarks/jobs/<rule>/<its log path>.tsv``, and log
paths carry the versions of the artifacts the job makes. The files of the current config are those
whose path holds one of its versions (or that belong to one of its unversioned rules, such as the
benchmarks); files of earlier configs stay on disk beside them and are left out. A job that was not
rerun keeps the file of the run that made its artifact, so the table is the cost of making what the
report shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

RULE_COLUMNS = ["rule", "jobs", "seconds_total", "seconds_max", "max_rss_mb", "cpu_seconds"]


def job_benchmarks(root: str | Path, versions: Iterable[str], unversioned_rules: Iterable[str] = ()) -> pd.DataFrame:
    """One row per job of the current config: rule, job (its path below the rule), seconds, peak
    resident memory (MB) and CPU seconds, read from Snakemake's benchmark TSVs under ``root``."""
    root = Path(root)
    versions, unversioned = set(versions), set(unversioned_rules)
    rows = []
    for path in sorted(root.glob("*/**/*.tsv")):
        rule, job = path.relative_to(root).parts[0], path.relative_to(root).with_suffix("").as_posix()
        if rule not in unversioned and not any(version in job for version in versions):
            continue
        table = pd.read_csv(path, sep="\t")
        if table.empty or "s" not in table.columns:
            continue
        last = table.iloc[-1]
        rows.append({"rule": rule, "job": job.split("/", 1)[1], "seconds": float(last["s"]),
                     "max_rss_mb": pd.to_numeric(last.get("max_rss"), errors="coerce"),
                     "cpu_seconds": pd.to_numeric(last.get("cpu_time"), errors="coerce")})
    return pd.DataFrame(rows, columns=["rule", "job", "seconds", "max_rss_mb", "cpu_seconds"])


def rule_costs(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: jobs, total and longest wall time, peak memory over its jobs, CPU time; costliest first."""
    if jobs.empty:
        return pd.DataFrame(columns=RULE_COLUMNS)
    table = jobs.groupby("rule").agg(jobs=("job", "size"), seconds_total=("seconds", "sum"),
                                     seconds_max=("seconds", "max"), max_rss_mb=("max_rss_mb", "max"),
                                     cpu_seconds=("cpu_seconds", "sum")).reset_index()
    return table.sort_values("seconds_total", ascending=False, ignore_index=True)[RULE_COLUMNS]
