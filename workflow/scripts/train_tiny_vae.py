"""Rule train_tiny_vae: train the embedded default's tiny AutoencoderKL on synthetic scenes."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import pandas as pd
import torch

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.reconstruct.models import best_device
from neurorecon.reconstruct.vae import train_tiny_vae
from neurorecon.stimuli.images import training_images

cfg = snakemake.params.cfg
device = best_device()
torch.set_num_threads(snakemake.threads)
images, _ = training_images(cfg["training_images"], cfg["n_images"], cfg["image_size"], [cfg["seed"], 11],
                            snakemake.input.get("stimuli"))
history = train_tiny_vae(images, cfg, Path(snakemake.output.config).parent,
                         progress=lambda n: progress(range(n), "train tiny VAE (epochs)"),
                         device=device)
write_text_atomic(snakemake.output.history, pd.DataFrame(history).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="reconstruct", config=cfg,
               outputs=[snakemake.output.config, snakemake.output.weights, snakemake.output.history],
               started=started, code_version=snakemake.params.code, extra={"final": history[-1], "device": device})
