"""Rule evaluate_images: one subject's image metrics (low-level and final reconstructions)."""

from pathlib import Path

from _common import begin, subject_of

started = begin(snakemake)

import logging

import numpy as np
import pandas as pd
import torch

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.evaluate.images import attribute_metrics, available_feature_fns, clip_image_features, image_metrics
from neurorecon.reconstruct.models import clip_location
from neurorecon.reconstruct.io import load_reconstructions
from neurorecon.stimuli.clip import load_clip
from neurorecon.stimuli.embeddings import load_embeddings
from neurorecon.stimuli.images import load_stimulus_images, read_stimulus_table

ATTRIBUTES = ("shape", "colour")  # columns of the synthetic world's stimulus table

cfg = snakemake.params.cfg
torch.set_num_threads(snakemake.threads)
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir))
feature_fns, notes = available_feature_fns(cfg["backbones"], clip)
for note in notes:
    logging.getLogger("neurorecon").warning(note)
tables = []
outputs = {"lowlevel": snakemake.input.lowlevel}
if "final" in snakemake.input.keys():
    outputs["diffusion"] = snakemake.input.final
stimuli = read_stimulus_table(snakemake.input.stimuli).set_index("stim_id")
attributes = [a for a in ATTRIBUTES if a in stimuli.columns]
embeddings = load_embeddings(Path(snakemake.input.embeddings))
train_ids = [s for s in embeddings["stim_ids"].astype(str) if stimuli.loc[s, "split"] == "train"]
train_features = embeddings["image"][np.isin(embeddings["stim_ids"].astype(str), train_ids)]
for stage, path in outputs.items():
    recon = load_reconstructions(Path(path))
    stim_ids = [str(s) for s in recon["stim_ids"]]
    truth = load_stimulus_images(snakemake.input.stimuli, stim_ids)
    rows = image_metrics(recon["images"], truth, cfg["size"], feature_fns, recon.get("ceiling"))
    if attributes:
        ceiling = recon.get("ceiling")
        rows += attribute_metrics(
            clip_image_features(clip, recon["images"]),
            clip_image_features(clip, ceiling) if ceiling is not None else None,
            {a: stimuli.loc[stim_ids, a].to_numpy() for a in attributes}, train_features,
            {a: stimuli.loc[train_ids, a].to_numpy() for a in attributes})
    tables.append(pd.DataFrame(rows).assign(modality=snakemake.params.modality, subject=subject_of(snakemake),
                                            method=snakemake.params.methods[stage], output="image"))
write_text_atomic(snakemake.output.metrics, pd.concat(tables).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.metrics], started=started, code_version=snakemake.params.code,
               extra={"subject": subject_of(snakemake), "skipped": notes})
