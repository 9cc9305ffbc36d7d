"""Rule train_tiny_diffusion: train the tiny CLIP-conditioned UNet in the VAE's latent space, and its
control branch for structure maps."""

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
from neurorecon.stimuli.clip import embed_images, embed_texts, load_clip
from neurorecon.stimuli.images import training_set
from neurorecon.stimuli.structure import structure_maps

cfg = snakemake.params.cfg
torch.set_num_threads(snakemake.threads)
device = best_device()
vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=device)
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=device)
images, captions, scenes = training_set(cfg["training_images"], cfg["n_images"], vae.config.sample_size,
                                        [cfg["seed"], 13], snakemake.input.get("stimuli"))
control = cfg["controlnet"]
maps = structure_maps(control["structure"], control["map_size"], images=images, scenes=scenes)
latents = encode_images(vae, images)
embeddings = embed_images(clip, [Image.fromarray(image) for image in images])
texts = embed_texts(clip, captions)
history = train_tiny_unet(latents, embeddings, texts, cfg, Path(snakemake.output.config).parent.parent,
                          progress=lambda n: progress(range(n), "train tiny diffusion UNet and control branch (epochs)"),
                          device=device, maps=maps)
write_text_atomic(snakemake.output.history, pd.DataFrame(history).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="reconstruct", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.config, snakemake.output.weights, snakemake.output.scheduler,
                        snakemake.output.history],
               started=started, code_version=snakemake.params.code, extra={"final_loss": history[-1]["loss"], "device": device})
