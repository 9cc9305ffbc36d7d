"""Rule shape_targets: every object's view embedding, colour and blurry front view, and where its
mesh is known, its shape code (in the tiny generator's basis) and the category judge's voxels."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import numpy as np
import torch
from PIL import Image

from neurorecon.artifacts import write_manifest
from neurorecon.decode.shape import blurry_view, object_colour, save_shape_targets
from neurorecon.evaluate.shape import occupancy_features
from neurorecon.io.fmri_shape import read_object_lists, view_paths
from neurorecon.meshes import mesh_sdf_grid, truth_mesh
from neurorecon.reconstruct.models import best_device
from neurorecon.reconstruct.shape import load_tiny_shape_model
from neurorecon.stimuli.clip import embed_images, load_clip

clip_cfg = snakemake.params.clip
torch.set_num_threads(snakemake.threads)
bundle = load_clip(snakemake.params.model_dir if clip_cfg["model"] == "tiny" else clip_cfg["model"],
                   clip_cfg["pretrained"], device=best_device())
objects = read_object_lists(Path(snakemake.params.data_dir))
files = snakemake.params.files
basis = load_tiny_shape_model(Path(snakemake.params.shape_dir)).basis if snakemake.input.get("shape_config") else None
resolution = round(len(basis.mean) ** (1 / 3)) if basis is not None else 32
arrays = {"embedding": [], "colour": [], "view": [], "grid": []}
for uid in progress(objects["uid"], "3D targets"):
    views = np.stack([np.asarray(Image.open(path).convert("RGB")) for path in view_paths(Path(files["views"]), uid)])
    arrays["embedding"].append(embed_images(bundle, [Image.fromarray(view) for view in views]).mean(axis=0))
    arrays["colour"].append(object_colour(views))
    arrays["view"].append(blurry_view(views[0]))
    if files.get("meshes"):
        arrays["grid"].append(mesh_sdf_grid(truth_mesh(Path(files["meshes"]), uid), resolution))
targets = {kind: np.stack(arrays[kind]) for kind in ("embedding", "colour", "view")}
if arrays["grid"]:
    grids = np.stack(arrays["grid"])
    targets["occupancy"] = occupancy_features(grids)
    if basis is not None:
        targets["shape"] = basis.encode(grids)
save_shape_targets(Path(snakemake.output.targets), objects["uid"], targets)
write_manifest(Path(snakemake.output.manifest).parent, stage="stimuli", config=clip_cfg,
               inputs=[snakemake.input.train_list, snakemake.input.test_list], outputs=[snakemake.output.targets], started=started,
               code_version=snakemake.params.code,
               extra={"clip_model": bundle.name, "objects": int(len(objects)), "targets": sorted(targets),
                      "meshes": bool(arrays["grid"])})
