"""The tiny shape generator against simpler ways to turn decoded 3D targets into meshes, on one run's
decoded test objects: quality (MinD-3D's Chamfer distance, F-score, voxel IoU) per CPU-second.

  tiny      the shipped voxel SDF decoder, conditioned on the decoded embedding and shape code
  linear    the decoded shape code through the basis alone (principal components back to a grid)
  nearest   the training object whose true shape code is nearest the decoded one (retrieval)

Run after `snakemake` on the default config (it reads the newest 3D folders under results/):
    python benchmarks/shape_generator.py [--results results] [--model models/shape]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.decode.keyed import load_predictions
from neurorecon.decode.shape import TARGETS, load_shape_targets
from neurorecon.evaluate.shape import geometry_scores
from neurorecon.io.fmri_shape import read_object_lists
from neurorecon.meshes import normalised_mesh, normalised_points, truth_mesh, voxel_occupancy
from neurorecon.reconstruct.shape import load_tiny_shape_model, meshes_from_grids

CFG = {"emd_points": 256, "fscore_threshold": 0.05}


def newest(results: Path, pattern: str) -> Path:
    found = sorted(results.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(f"nothing matches {results / pattern}; run snakemake on the default config first")
    return found[-1]


def scores(meshes, truth_points, truth_voxels) -> dict[str, float]:
    points = [normalised_points(mesh) for mesh in meshes]
    voxels = [voxel_occupancy(normalised_mesh(mesh)) for mesh in meshes]
    values = geometry_scores(points, truth_points, voxels, truth_voxels, CFG)
    return {name: float(values[name].mean()) for name in ("chamfer_distance", "fscore", "voxel_iou")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--model", type=Path, default=Path("models/shape"))
    args = parser.parse_args()
    predictions = newest(args.results, "decode/shapes-*/shape01/predictions.npz")
    targets = newest(args.results, "stimuli/shapes-*/targets.npz")
    world = newest(args.results, "data/shapes-*")
    objects = read_object_lists(world)
    uids, decoded, _ = load_predictions(predictions, TARGETS)
    train_uids = objects.loc[objects["split"] == "train", "uid"].tolist()
    train_codes = load_shape_targets(targets, train_uids, ("shape",))["shape"]
    meshes_dir = world / "derivatives" / "groundtruth" / "meshes"
    truth = [truth_mesh(meshes_dir, uid) for uid in uids]
    truth_points = [normalised_points(mesh) for mesh in truth]
    truth_voxels = [voxel_occupancy(normalised_mesh(mesh)) for mesh in truth]
    model = load_tiny_shape_model(args.model)
    colours = decoded["colour"]

    def tiny():
        return meshes_from_grids(model.sdf(decoded["embedding"], decoded["shape"]), colours, uids)

    def linear():
        return meshes_from_grids(model.basis.decode(decoded["shape"]), colours, uids)

    def nearest():
        distance = ((decoded["shape"][:, None] - train_codes[None]) ** 2).sum(-1)
        return [truth_mesh(meshes_dir, train_uids[i]) for i in distance.argmin(axis=1)]

    rows = []
    for name, make in (("tiny", tiny), ("linear", linear), ("nearest", nearest)):
        started = time.process_time()
        meshes = make()
        seconds = (time.process_time() - started) / len(meshes)
        rows.append({"method": name, **scores(meshes, truth_points, truth_voxels), "cpu_s_per_mesh": seconds})
    print(f"{len(uids)} decoded test objects from {predictions}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
