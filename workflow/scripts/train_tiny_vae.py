"""Rule train_tiny_vae: train the embedded default's tiny AutoencoderKL on synthetic scenes."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import numpy as np
import pandas as pd
import torch

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.reconstruct.vae import train_tiny_vae
from neurorecon.synth.scenes import draw_scene, sample_scenes

cfg = snakemake.params.cfg
torch.set_num_threads(snakemake.threads)
scenes = sample_scenes(cfg["n_images"], np.random.default_rng([cfg["seed"], 11]))
images = np.stack([draw_scene(scene, cfg["image_size"]) for scene in scenes])
history = train_tiny_vae(images, cfg, Path(snakemake.output.config).parent,
                         progress=lambda n: progress(range(n), "train tiny VAE (epochs)"))
write_text_atomic(snakemake.output.history, pd.DataFrame(history).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="reconstruct", config=cfg,
               outputs=[snakemake.output.config, snakemake.output.weights, snakemake.output.history],
               started=started, code_version=snakemake.params.code, extra={"final": history[-1]})
