"""Rule train_tiny_video: train the tiny video UNet (motion modules on the tiny image UNet's layers)."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import pandas as pd
import torch

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.reconstruct.diffusion import load_tiny_generator
from neurorecon.reconstruct.models import best_device, clip_location, vae_location
from neurorecon.reconstruct.vae import load_vae
from neurorecon.reconstruct.video import train_tiny_video_unet, video_training_data
from neurorecon.stimuli.clip import load_clip

cfg = snakemake.params.cfg
torch.set_num_threads(snakemake.threads)
device = best_device()
vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=device)
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=device)
image_unet = load_tiny_generator(Path(snakemake.params.diffusion_dir), vae, device=device).unet
latents, keyframes, flows = video_training_data(clip, vae, cfg["n_clips"], cfg["seed"])
history = train_tiny_video_unet(latents, keyframes, flows, image_unet, cfg, Path(snakemake.output.config).parent.parent,
                                progress=lambda n: progress(range(n), "train tiny video UNet (epochs)"), device=device)
write_text_atomic(snakemake.output.history, pd.DataFrame(history).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="reconstruct", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.config, snakemake.output.weights, snakemake.output.tokens,
                        snakemake.output.scheduler, snakemake.output.history],
               started=started, code_version=snakemake.params.code,
               extra={"final_loss": history[-1]["loss"], "device": device, "clips": len(latents)})
