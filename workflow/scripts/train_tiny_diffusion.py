"""Rule train_tiny_diffusion: train the tiny CLIP-conditioned UNet in the VAE's latent space."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import pandas as pd
import torch
from PIL import Image

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.reconstruct.diffusion import train_tiny_unet
from neurorecon.reconstruct.models import best_device, clip_location, vae_location
from neurorecon.reconstruct.vae import encode_images, load_vae
from neurorecon.stimuli.clip import embed_images, load_clip
from neurorecon.stimuli.images import training_images

cfg = snakemake.params.cfg
torch.set_num_threads(snakemake.threads)
device = best_device()
vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=device)
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=device)
images, _ = training_images(cfg["training_images"], cfg["n_images"], vae.config.sample_size, [cfg["seed"], 13],
                            snakemake.input.get("stimuli"))
latents = encode_images(vae, images)
embeddings = embed_images(clip, [Image.fromarray(image) for image in images])
history = train_tiny_unet(latents, embeddings, cfg, Path(snakemake.output.config).parent.parent,
                          progress=lambda n: progress(range(n), "train tiny diffusion UNet (epochs)"),
                          device=device)
write_text_atomic(snakemake.output.history, pd.DataFrame(history).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="reconstruct", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.config, snakemake.output.weights, snakemake.output.scheduler,
                        snakemake.output.history],
               started=started, code_version=snakemake.params.code, extra={"final_loss": history[-1]["loss"], "device": device})
