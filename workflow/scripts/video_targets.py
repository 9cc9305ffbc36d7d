"""Rule video_targets: every segment's keyframe CLIP embedding, blurry video and optical flow."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import numpy as np
import torch
from PIL import Image

from neurorecon.artifacts import write_manifest
from neurorecon.decode.video import (
    TARGETS, blurry_targets, flow_targets, keyframe_index, motion_direction, save_test_frames, save_video_targets,
)
from neurorecon.io.cc2017 import read_frames
from neurorecon.io.inputs import read_tsv
from neurorecon.reconstruct.models import best_device
from neurorecon.stimuli.clip import embed_images, load_clip

clip_cfg = snakemake.params.clip
torch.set_num_threads(snakemake.threads)
bundle = load_clip(snakemake.params.model_dir if clip_cfg["model"] == "tiny" else clip_cfg["model"],
                   clip_cfg["pretrained"], device=best_device())
clips = read_tsv(snakemake.input.clips, required=("stim_id", "split"))
root = Path(snakemake.params.data_dir)
arrays = {"stim_ids": [], "keyframe": [], "blurry": [], "flow": []}
for split in progress(("train", "test"), "video targets"):
    frames = read_frames(root, split)
    key = frames[:, keyframe_index(frames.shape[1])]
    arrays["stim_ids"] += clips.loc[clips["split"] == split, "stim_id"].astype(str).tolist()
    arrays["keyframe"].append(embed_images(bundle, [Image.fromarray(image) for image in key]))
    arrays["blurry"].append(blurry_targets(frames))
    arrays["flow"].append(flow_targets(frames))
    if split == "test":
        save_test_frames(Path(snakemake.output.test_frames), arrays["stim_ids"][-len(frames):], frames)
targets = {kind: np.concatenate(arrays[kind]) for kind in TARGETS}
save_video_targets(Path(snakemake.output.targets), arrays["stim_ids"], targets, frames.shape[1])
flow = targets["flow"]
extra = {"clip_model": bundle.name}
if "direction" in clips.columns:  # how often the true clips' own flow points the clip's way: a bound on decoding
    extra["flow_direction_acc"] = float((motion_direction(flow) == clips.set_index("stim_id").loc[
        arrays["stim_ids"], "direction"].to_numpy(int)).mean())
write_manifest(Path(snakemake.output.manifest).parent, stage="stimuli", config=clip_cfg,
               inputs=[snakemake.input.train_movie, snakemake.input.test_movie, snakemake.input.clips],
               outputs=[snakemake.output.targets, snakemake.output.test_frames],
               started=started, code_version=snakemake.params.code, extra=extra)
