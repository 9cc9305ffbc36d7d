"""Rule evaluate_images: one subject's image metrics (low-level and final reconstructions)."""

from pathlib import Path

from _common import begin, subject_of

started = begin(snakemake)

import logging

import pandas as pd
import torch

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.evaluate.images import ImageScorer
from neurorecon.evaluate.judge import load_judge
from neurorecon.reconstruct.models import clip_location
from neurorecon.reconstruct.io import load_reconstructions
from neurorecon.stimuli.clip import load_clip
from neurorecon.stimuli.embeddings import load_embeddings

cfg = snakemake.params.cfg
torch.set_num_threads(snakemake.threads)
scorer = ImageScorer(cfg, load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir)),
                     snakemake.input.stimuli, load_embeddings(Path(snakemake.input.embeddings)),
                     load_judge(Path(snakemake.input.judge).parent) if "judge" in snakemake.input.keys() else None)
for note in scorer.notes:
    logging.getLogger("neurorecon").warning(note)
outputs = {"lowlevel": snakemake.input.lowlevel}
if "final" in snakemake.input.keys():
    outputs["diffusion"] = snakemake.input.final
tables = []
for stage, path in outputs.items():
    recon = load_reconstructions(Path(path))
    rows = scorer.rows(recon["images"], recon.get("ceiling"), [str(s) for s in recon["stim_ids"]])
    tables.append(pd.DataFrame(rows).assign(modality=snakemake.params.modality, subject=subject_of(snakemake),
                                            method=snakemake.params.methods[stage], output="image"))
write_text_atomic(snakemake.output.metrics, pd.concat(tables).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.metrics], started=started, code_version=snakemake.params.code,
               extra={"subject": subject_of(snakemake), "skipped": scorer.notes})
