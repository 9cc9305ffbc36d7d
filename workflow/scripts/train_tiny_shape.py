"""Rule train_tiny_shape: train the tiny shape generator (SDF voxel decoder and its shape-code
basis) on fresh procedural objects, conditioned on the tiny CLIP's embeddings of their views."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import pandas as pd
import torch

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.reconstruct.models import best_device, clip_location
from neurorecon.reconstruct.shape import shape_training_data, train_tiny_shape_model
from neurorecon.stimuli.clip import load_clip

cfg = snakemake.params.cfg
torch.set_num_threads(snakemake.threads)
device = best_device()
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=device)
embeddings, grids = shape_training_data(clip, cfg, cfg["image_size"], progress)
model, history = train_tiny_shape_model(embeddings, grids, cfg, device=device,
                                        progress=lambda n: progress(range(n), "train tiny shape generator (epochs)"))
model.save(Path(snakemake.output.config).parent, cfg)
write_text_atomic(snakemake.output.history, pd.DataFrame(history).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="reconstruct", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.config, snakemake.output.weights, snakemake.output.history],
               started=started, code_version=snakemake.params.code,
               extra={"final_loss": history[-1]["loss"], "device": device, "objects": len(grids)})
