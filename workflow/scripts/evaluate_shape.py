"""Rule evaluate_shape: one 3D subject's metrics of the decoded targets and, where a generator
ran, MinD-3D's metrics of the meshes (Chamfer, EMD, F-score, voxel IoU, semantic N-way on six
views, category accuracy), each with chance and the noise ceiling."""

import json
from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import numpy as np
import pandas as pd
import torch
from PIL import Image

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.decode.keyed import load_predictions
from neurorecon.decode.shape import TARGETS, load_shape_targets
from neurorecon.evaluate.shape import (
    category_rows, decoded_rows, fit_category_judge, geometry_rows, object_class_names, occupancy_features,
    semantic_rows, torchvision_vit_h14,
)
from neurorecon.evaluate.video import class_probabilities
from neurorecon.io.fmri_shape import read_object_lists, true_views, truth_points
from neurorecon.meshes import (
    load_mesh, mesh_sdf_grid, normalised_mesh, normalised_points, truth_mesh, voxel_occupancy,
)
from neurorecon.reconstruct.io import load_reconstructions
from neurorecon.reconstruct.models import best_device, clip_location
from neurorecon.stimuli.clip import embed_images, embed_texts, load_clip

cfg = snakemake.params.cfg
files = snakemake.params.files
torch.set_num_threads(snakemake.threads)
subject = snakemake.wildcards.shape_subject
uids, predicted, ceiling = load_predictions(Path(snakemake.input.predictions), TARGETS)
objects = read_object_lists(Path(snakemake.params.data_dir)).set_index("uid")
true = load_shape_targets(Path(snakemake.input.targets), uids)
table = pd.DataFrame(decoded_rows(predicted, true, ceiling)).assign(method="ridge")
notes = []
if snakemake.input.get("meshes"):
    recon = load_reconstructions(Path(snakemake.input.meshes))
    if [str(s) for s in recon["stim_ids"]] != uids:
        raise ValueError(f"{snakemake.input.meshes} and {snakemake.input.predictions} list different test objects")
    folder = Path(snakemake.input.meshes).parent
    notes += json.loads((folder / "manifest.json").read_text())["extra"].get("notes", [])
    sets = {"meshes": [load_mesh(folder / "meshes" / f"{uid}.ply") for uid in uids]}
    if "ceiling" in recon:
        sets["ceiling"] = [load_mesh(folder / "ceiling" / f"{uid}.ply") for uid in uids]
    rows = []
    if files.get("meshes") or files.get("points"):
        truth_meshes = [truth_mesh(Path(files["meshes"]), uid) for uid in uids] if files.get("meshes") else None
        true_points = ([truth_points(Path(files["points"]), uid, cfg["points"]) for uid in uids] if files.get("points")
                       else [normalised_points(mesh, cfg["points"]) for mesh in truth_meshes])
        points = {name: [normalised_points(mesh, cfg["points"]) for mesh in progress(meshes, f"sample {name}")]
                  for name, meshes in sets.items()}
        voxels = {name: [voxel_occupancy(normalised_mesh(mesh), cfg["voxel_resolution"]) for mesh in meshes]
                  for name, meshes in sets.items()}
        true_voxels = ([voxel_occupancy(normalised_mesh(mesh), cfg["voxel_resolution"]) for mesh in truth_meshes]
                       if truth_meshes is not None else None)
        rows += geometry_rows(points["meshes"], points.get("ceiling"), true_points, voxels["meshes"],
                              voxels.get("ceiling"), true_voxels, cfg)
        if truth_meshes is None:
            notes.append("voxel IoU skipped: ground-truth points but no meshes (data.fmri-shape.meshes)")
    else:
        notes.append("geometric metrics skipped: no ground-truth meshes or points (data.fmri-shape.meshes / points)")
    if "occupancy" in true:
        train_uids = objects.index[objects["split"] == "train"].tolist()
        judge = fit_category_judge(load_shape_targets(Path(snakemake.input.targets), train_uids, ("occupancy",))
                                   ["occupancy"], objects.loc[train_uids, "synset"].to_numpy())
        judged = {name: occupancy_features(np.stack([mesh_sdf_grid(mesh, 32) for mesh in meshes]))
                  for name, meshes in sets.items()}
        rows += category_rows(judge, judged["meshes"], judged.get("ceiling"), objects.loc[uids, "synset"].to_numpy())
    views = true_views(files["views"], uids, recon["images"].shape[2])
    clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=best_device())
    names = object_class_names() if cfg["classes"] is None else [
        line.strip() for line in Path(cfg["classes"]).read_text().splitlines() if line.strip()]
    class_embeddings = embed_texts(clip, names)
    scale = float(clip.model.logit_scale.exp())

    def clip_probs(views):
        flat = views.reshape(-1, *views.shape[2:])
        probs = class_probabilities(embed_images(clip, [Image.fromarray(v) for v in flat]), class_embeddings, scale)
        return probs.reshape(*views.shape[:2], -1)

    rows += semantic_rows("semantic_clip", clip_probs(recon["images"]), clip_probs(views),
                          clip_probs(recon["ceiling"]) if "ceiling" in recon else None, cfg["num_trials"])
    if cfg["vit_h14"]:
        classify = torchvision_vit_h14(cfg["vit_h14"])
        vit_probs = lambda views: classify(views.reshape(-1, *views.shape[2:])).reshape(*views.shape[:2], -1)  # noqa: E731
        rows += semantic_rows("semantic_vit_h14", vit_probs(recon["images"]), vit_probs(views),
                              vit_probs(recon["ceiling"]) if "ceiling" in recon else None, cfg["num_trials"])
    else:
        notes.append("ViT-H/14 N-way skipped: evaluate.shape.vit_h14 names no weights file")
    table = pd.concat([table, pd.DataFrame(rows).assign(method="generated")], ignore_index=True)
table = table.assign(modality="fmri", subject=subject, output="mesh")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"subject": subject, "notes": notes})
