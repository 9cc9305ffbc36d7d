"""Rule reconstruct_categories: images drawn from held-out trials' decoded category embeddings
(and from the true categories' mean embeddings, the ceiling), judged by their nearest training
image in CLIP space."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import numpy as np
import pandas as pd
import torch
from PIL import Image

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.evaluate.images import attribute_metrics, clip_image_features
from neurorecon.io.inputs import read_tsv
from neurorecon.reconstruct.diffusion import load_tiny_generator, load_unclip_generator
from neurorecon.reconstruct.io import save_reconstructions, write_pngs
from neurorecon.reconstruct.models import best_device, clip_location, vae_location
from neurorecon.reconstruct.subject import choose_samples, draw_samples
from neurorecon.reconstruct.vae import load_vae
from neurorecon.stimuli.clip import embed_images, load_clip
from neurorecon.stimuli.embeddings import load_embeddings

cfg, categories = snakemake.params.cfg, snakemake.params.categories
torch.set_num_threads(snakemake.threads)
device = best_device()
if snakemake.params.diffusion["model"] == "tiny":
    vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=device)
    generator = load_tiny_generator(Path(snakemake.params.diffusion_dir), vae, device=device)
    size = vae.config.sample_size
else:
    generator = load_unclip_generator(snakemake.params.diffusion["model"], snakemake.params.sampling["noise_level"],
                                      device=device)
    size = snakemake.params.image_size
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=device)

with np.load(snakemake.input.predictions, allow_pickle=False) as data:
    labels, predicted, centroids = data["labels"], data["predicted"], data["centroids"]
    method = str(data["method"])
rng = np.random.default_rng(cfg["seed"])
trials = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == k), min(cfg["trials_per_category"], (labels == k).sum()),
                                            replace=False) for k in range(len(categories))]))
sampling = {**snakemake.params.sampling, "strength": 1.0}  # drawn from noise: there is no low-level image
start = np.full((len(trials), size, size, 3), 128, np.uint8)
drawn = {}
for name, conditioning in (("images", predicted[trials]), ("ceiling", centroids[labels[trials]])):
    samples = draw_samples(generator, start, conditioning, sampling, progress=lambda b: progress(b, f"draw {name}"))
    n, k = samples.shape[:2]
    features = embed_images(clip, [Image.fromarray(x) for x in samples.reshape(n * k, *samples.shape[2:])])
    drawn[name] = samples[np.arange(n), choose_samples(features.reshape(n, k, -1), conditioning)]

stimuli = read_tsv(snakemake.input.stimuli)
embeddings = load_embeddings(Path(snakemake.input.embeddings))
train = stimuli["split"] == "train"
index = {str(s): i for i, s in enumerate(embeddings["stim_ids"])}
reference = embeddings["image"][[index[str(s)] for s in stimuli.loc[train, "stim_id"]]]
names = np.array([c["folder"] for c in categories])
rows = attribute_metrics(clip_image_features(clip, drawn["images"]), clip_image_features(clip, drawn["ceiling"]),
                         {"category": names[labels[trials]]}, reference,
                         {"category": stimuli.loc[train, "category"].to_numpy()})
table = pd.DataFrame(rows).assign(modality="eeg", subject=snakemake.params.subject, method=f"{method}-diffusion",
                                  output="image")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
trial_ids = [f"trial{t:04d}-{names[labels[t]]}" for t in trials]
out_dir = Path(snakemake.output.manifest).parent
write_pngs(out_dir / "images", trial_ids, drawn["images"])
save_reconstructions(Path(snakemake.output.reconstructions), trial_ids, drawn["images"], drawn["ceiling"])
write_manifest(out_dir, stage="reconstruct", config={**cfg, "sampling": sampling}, inputs=list(snakemake.input),
               outputs=[snakemake.output.reconstructions, snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"trials": trials.tolist(), "method": method})
