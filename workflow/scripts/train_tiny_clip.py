"""Rule train_tiny_clip: train the embedded default's tiny OpenCLIP model on synthetic (or stimulus) image-caption pairs."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import pandas as pd
import torch

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.reconstruct.models import best_device
from neurorecon.stimuli.clip import train_tiny_clip
from neurorecon.stimuli.images import training_images

cfg = snakemake.params.cfg
device = best_device()
torch.set_num_threads(snakemake.threads)
# shape variants are synthetic scenes only; a dataset's own photographs come one by one
group = cfg["shape_variants"] if cfg["training_images"] == "synthetic" else 1
images, captions = training_images(cfg["training_images"], cfg["n_pairs"], cfg["image_size"], [cfg["seed"], 7],
                                   snakemake.input.get("stimuli"), shape_variants=group)
history = train_tiny_clip(images, captions, cfg, Path(snakemake.output.config).parent,
                          progress=lambda n: progress(range(n), "train tiny CLIP (epochs)"),
                          device=device, group=group)
write_text_atomic(snakemake.output.history, pd.DataFrame(history).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="stimuli", config=cfg,
               outputs=[snakemake.output.config, snakemake.output.weights, snakemake.output.history],
               started=started, code_version=snakemake.params.code, extra={"final_loss": history[-1]["loss"], "device": device})
