"""Rule synthesise_roi: images the tiny generator draws for each target voxel population, guided by
the subject's linear encoder (BrainDiVE), against unguided samples from the same noise; their
predicted activations and, on the synthetic world, how often they show the population's preference."""

from pathlib import Path

from _common import begin, progress, subject_of

started = begin(snakemake)

import numpy as np
import pandas as pd
import torch

from neurorecon.artifacts import atomic_path, write_manifest, write_text_atomic
from neurorecon.encode.linear import LinearEncoder
from neurorecon.encode.synthesis import (
    clip_embedder, population_condition, population_readout, population_score, preference_populations,
    roi_populations, synthesis_rows, synthesise, unit_images,
)
from neurorecon.evaluate.judge import judge_labels, load_judge
from neurorecon.reconstruct.diffusion import load_tiny_generator
from neurorecon.reconstruct.io import write_pngs
from neurorecon.reconstruct.models import best_device, clip_location, vae_location
from neurorecon.reconstruct.vae import load_vae
from neurorecon.responses import Responses
from neurorecon.stimuli.clip import load_clip
from neurorecon.stimuli.embeddings import load_embeddings
from neurorecon.stimuli.images import load_stimulus_images, read_stimulus_table

cfg, synthesis = snakemake.params.cfg, snakemake.params.cfg["synthesis"]
subject = subject_of(snakemake)
torch.set_num_threads(snakemake.threads)
device = best_device()
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
columns = responses.columns(cfg["rois"])
encoder = LinearEncoder.load(Path(snakemake.input.linear).parent)
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=device)
vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=device)
generator = load_tiny_generator(Path(snakemake.params.diffusion_dir), vae, device=device)
for module in (clip.model, vae, generator.unet):
    module.requires_grad_(False)
embed = clip_embedder(clip)

stimuli = read_stimulus_table(snakemake.input.stimuli).set_index("stim_id")
embeddings = load_embeddings(Path(snakemake.input.embeddings))
index = {str(s): i for i, s in enumerate(embeddings["stim_ids"])}
train_ids = [s for s in index if stimuli.at[s, "split"] == "train"]
train_embeddings = embeddings["image"][[index[s] for s in train_ids]]
names = None if synthesis["targets"] == "auto" else list(synthesis["targets"])
targets = roi_populations(responses.roi[columns], responses.roi_names, names)
attributes = ["colour", "shape"] if "judge" in snakemake.input.keys() else []
if attributes and synthesis["targets"] == "auto":
    with np.load(snakemake.input.truth, allow_pickle=False) as truth:
        truth_index = {str(s): i for i, s in enumerate(truth["stim_ids"])}
        clean = truth["stimulus_response_pct"][[truth_index[s] for s in train_ids]][:, columns]
    targets.update(preference_populations(clean, stimuli.loc[train_ids, attributes].reset_index(drop=True),
                                          synthesis["population_size"]))

draw = dict(steps=synthesis["steps"], seed=synthesis["seed"])
unguided = synthesise(generator, None, synthesis["images"], guidance_scale=0.0, **draw)
# embedded once, read out for every target
with torch.no_grad():
    natural = embed(unit_images(load_stimulus_images(snakemake.input.stimuli, train_ids, generator.image_size)))
    unguided_embeddings = embed(unit_images(unguided))
guided, rows = {}, []
for name, voxels in progress(list(targets.items()), f"synthesise for each target sub-{subject}"):
    guided[name] = synthesise(generator, population_score(encoder, voxels, embed), synthesis["images"],
                              guidance_scale=synthesis["guidance_scale"],
                              condition=population_condition(encoder, voxels, train_embeddings, cfg["captions"]["temperature"])
                              if synthesis["condition_guidance"] > 0 else None,
                              condition_guidance=synthesis["condition_guidance"], **draw)
    readout = population_readout(encoder, voxels)
    with torch.no_grad():
        natural_scores = np.sort(readout(natural).numpy())[::-1]
        rows.append({"target": name, "voxels": int(voxels.sum()),
                     "predicted_guided": float(readout(embed(unit_images(guided[name]))).mean()),
                     "predicted_unguided": float(readout(unguided_embeddings).mean()),
                     "predicted_top_natural": float(natural_scores[:synthesis["images"]].mean())})
table = pd.DataFrame(rows)
if attributes:
    judge = load_judge(Path(snakemake.input.judge).parent)
    seen_unguided = judge_labels(judge, unguided)
    for k, name in enumerate(table["target"]):
        if "=" in name:
            attribute, value = name.split("=", 1)
            table.loc[k, "hit_guided"] = float(np.mean(judge_labels(judge, guided[name])[attribute] == value))
            table.loc[k, "hit_unguided"] = float(np.mean(seen_unguided[attribute] == value))

out_dir = Path(snakemake.output.manifest).parent
with atomic_path(Path(snakemake.output.images)) as tmp, open(tmp, "wb") as handle:
    np.savez_compressed(handle, targets=np.asarray(list(guided)), guided=np.stack(list(guided.values())),
                        unguided=unguided)
for name, images in guided.items():
    write_pngs(out_dir / "images", [f"{name.replace('=', '-')}_{k}" for k in range(len(images))], images)
write_pngs(out_dir / "images", [f"unguided_{k}" for k in range(len(unguided))], unguided)
write_text_atomic(snakemake.output.targets, table.to_csv(sep="\t", index=False, float_format="%.4f"))
metrics = pd.DataFrame(synthesis_rows(table)).assign(modality="fmri", subject=subject, method="braindive",
                                                     output="synthesis")
write_text_atomic(snakemake.output.metrics, metrics.to_csv(sep="\t", index=False))
write_manifest(out_dir, stage="encode", config=synthesis, inputs=list(snakemake.input),
               outputs=[snakemake.output.images, snakemake.output.targets, snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"subject": subject, "targets": list(guided), "device": device})
