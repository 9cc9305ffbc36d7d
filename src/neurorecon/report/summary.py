"""results/summary.tsv: the one long table every run ends in (columns fixed by docs/architecture.md)."""

from __future__ import annotations

import pandas as pd

SUMMARY_COLUMNS = ["modality", "subject", "method", "output", "metric", "value", "chance", "ceiling", "n"]


def build_summary(metric_tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-subject metric tables and add the across-subject mean as subject ``all``."""
    per_subject = pd.concat(metric_tables, ignore_index=True)
    missing = [c for c in SUMMARY_COLUMNS if c not in per_subject.columns]
    if missing:
        raise ValueError(f"metric tables lack column(s) {missing}")
    per_subject = per_subject[SUMMARY_COLUMNS].astype({"subject": str})
    keys = ["modality", "method", "output", "metric"]
    mean = (per_subject.groupby(keys, sort=False)
            .agg(value=("value", "mean"), chance=("chance", "mean"),
                 ceiling=("ceiling", lambda c: c.mean() if c.notna().all() else float("nan")), n=("n", "sum"))
            .reset_index().assign(subject="all"))
    summary = pd.concat([per_subject, mean[SUMMARY_COLUMNS]], ignore_index=True)
    return summary.sort_values(["modality", "method", "output", "metric", "subject"], kind="stable").reset_index(drop=True)


def summary_tsv(summary: pd.DataFrame) -> str:
    """The summary as TSV text: 4 decimals, empty cells where a ceiling is unknown."""
    return summary.to_csv(sep="\t", index=False, float_format="%.4f", na_rep="")
