"""Rule report: results/summary.tsv and results/report.html for the current config's versions."""

import json
from pathlib import Path

from _common import begin

begin(snakemake)

import numpy as np
import pandas as pd

from neurorecon.artifacts import write_text_atomic
from neurorecon.report.html import condition_figure, loss_figure, reconstruction_grid, render_report
from neurorecon.report.summary import build_summary, summary_tsv
from neurorecon.reconstruct.io import load_reconstructions
from neurorecon.stimuli.images import load_stimulus_images

GRID_COLUMNS = 10
cross_subject = [*snakemake.input.get("shared_metrics", []), *snakemake.input.get("adapted_metrics", [])]
sensors = [path for modality in ("eeg", "seeg") for path in snakemake.input.get(f"{modality}_metrics", [])]
tables = [pd.read_csv(p, sep="\t", dtype={"subject": str})
          for p in [*snakemake.input.metrics, *cross_subject, *sensors, *snakemake.input.image_metrics]]
summary = build_summary(tables)
write_text_atomic(snakemake.output.summary, summary_tsv(summary))

titles = {"clip_history": "tiny CLIP (contrastive loss)", "vae_history": "tiny VAE",
          "diffusion_history": "tiny diffusion UNet"}
histories = {title: pd.read_csv(snakemake.input[key], sep="\t") for key, title in titles.items()
             if key in snakemake.input.keys()}
if "shared_history" in snakemake.input.keys():
    histories["cross-subject decoder"] = pd.read_csv(snakemake.input.shared_history, sep="\t")
for subject, path in zip(snakemake.params.adapt_subjects, snakemake.input.get("adapted_histories", [])):
    history = pd.read_csv(path, sep="\t")
    if len(history):
        histories[f"adaptation to sub-{subject}"] = history
benchmark = (pd.read_csv(snakemake.input.data_efficiency, sep="\t")
             if "data_efficiency" in snakemake.input.keys() else None)
grids = []
for index, subject in enumerate(snakemake.params.subjects):
    lowlevel = load_reconstructions(Path(snakemake.input.lowlevel[index]))
    stim_ids = [str(s) for s in lowlevel["stim_ids"][:GRID_COLUMNS]]
    rows = {"stimulus": load_stimulus_images(snakemake.input.stimuli, stim_ids), "low-level": lowlevel["images"]}
    if snakemake.input.final:
        final = load_reconstructions(Path(snakemake.input.final[index]))
        rows["final"] = final["images"]
        if "ceiling" in final:
            rows["final, noise-free"] = final["ceiling"]
    grids.append(reconstruction_grid({k: v[:GRID_COLUMNS] for k, v in rows.items()}, stim_ids, f"sub-{subject}"))
sensor_figures = {}
for modality, unit in (("eeg", "microvolts"), ("seeg", "high gamma, log10 ratio to baseline")):
    figures = []
    for subject, conditions, history in zip(snakemake.params.sensor_subjects[modality],
                                            snakemake.input.get(f"{modality}_conditions", []),
                                            snakemake.input.get(f"{modality}_histories", [])):
        with np.load(conditions, allow_pickle=False) as data:
            figures.append(condition_figure(dict(data), f"sub-{subject}: training trials by condition", unit))
        figures.append(loss_figure(pd.read_csv(history, sep="\t"), f"{modality} encoder, sub-{subject}"))
    if figures:
        sensor_figures[modality] = figures
notes = sorted({note for path in snakemake.input.image_manifests
                for note in json.loads(Path(path).read_text()).get("extra", {}).get("skipped", [])})
retrieval = json.loads(Path(snakemake.input.retrieval).read_text())
write_text_atomic(snakemake.output.html, render_report(summary, retrieval, snakemake.params.folders,
                                                       snakemake.params.versions, histories, grids, notes,
                                                       data_efficiency=benchmark, sensor_figures=sensor_figures))
