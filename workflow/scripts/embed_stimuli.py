"""Rule embed_stimuli: CLIP image and caption embeddings of every stimulus."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import numpy as np
import torch
from PIL import Image

from neurorecon.artifacts import write_json_atomic, write_manifest
from neurorecon.io.inputs import read_tsv
from neurorecon.reconstruct.models import best_device
from neurorecon.stimuli.clip import caption_retrieval, embed_images, embed_texts, load_clip
from neurorecon.stimuli.embeddings import save_embeddings

clip_cfg = snakemake.params.clip
torch.set_num_threads(snakemake.threads)
model = snakemake.params.model_dir if clip_cfg["model"] == "tiny" else clip_cfg["model"]
bundle = load_clip(model, clip_cfg["pretrained"], device=best_device())
stimuli = read_tsv(snakemake.input.stimuli, required=("stim_id", "stim_file", "split"))
root = Path(snakemake.input.stimuli).parent.parent
images = [Image.open(root / f).convert("RGB") for f in stimuli["stim_file"]]
image_embeddings = embed_images(bundle, images)
has_captions = "caption" in stimuli.columns
text_embeddings = embed_texts(bundle, list(stimuli["caption"])) if has_captions else np.zeros_like(image_embeddings)
save_embeddings(Path(snakemake.output.embeddings), list(stimuli["stim_id"].astype(str)), image_embeddings, text_embeddings)
test = (stimuli["split"] == "test").to_numpy()
retrieval = (caption_retrieval(image_embeddings[test], text_embeddings[test], list(stimuli["caption"][test]))
             if has_captions else {"note": "the stimulus table has no captions"})
write_json_atomic(snakemake.output.retrieval, {"model": bundle.name, "split": "test", **retrieval})
write_manifest(Path(snakemake.output.manifest).parent, stage="stimuli", config=clip_cfg,
               inputs=[snakemake.input.stimuli, *([snakemake.input.clip_config] if "clip_config" in snakemake.input.keys() else [])],
               outputs=[snakemake.output.embeddings], started=started, code_version=snakemake.params.code,
               extra={"caption_retrieval": retrieval})
