"""Rule report: results/summary.tsv and results/report.html for the current config's versions."""

import json
from pathlib import Path

from _common import begin

begin(snakemake)

import pandas as pd

from neurorecon.artifacts import write_text_atomic
from neurorecon.report.html import render_report
from neurorecon.report.summary import build_summary, summary_tsv

summary = build_summary([pd.read_csv(p, sep="\t", dtype={"subject": str}) for p in snakemake.input.metrics])
write_text_atomic(snakemake.output.summary, summary_tsv(summary))
history = pd.read_csv(snakemake.input.clip_history, sep="\t") if "clip_history" in snakemake.input.keys() else None
retrieval = json.loads(Path(snakemake.input.retrieval).read_text())
write_text_atomic(snakemake.output.html, render_report(summary, retrieval, snakemake.params.folders,
                                                       snakemake.params.versions, history))
