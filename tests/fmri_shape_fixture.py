"""A miniature fMRI-Shape release for tests: the synthetic 3D world written small, then only what
the release holds copied out (``sub-0001/npy_data/<synset>/<uid>.npy`` and the split lists), plus
the views MinD-3D scores, the ground-truth meshes and a flatmap region map, each in its own folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

WORLD = dict(seed=3, n_test_objects=8, n_train_objects=40, frames=10, image_size=32, flatmap_size=16, shape_dim=8,
             latent_dim=8, signal_pct=2.0, noise_pct=[1.0, 1.0], ar_coef=0.4, objects_per_run=8, n_subjects=1)


def build_mini_fmri_shape(root: Path) -> dict[str, Path]:
    """Write the miniature release under ``root``; returns its folders (root, views, meshes, regions)."""
    from neurorecon.synth.shapes import write_shape_world

    world = root.parent / f"{root.name}-world"
    write_shape_world(WORLD, world)
    release = root / "release"
    shutil.copytree(world / "sub-0001" / "npy_data", release / "sub-0001" / "npy_data")
    for name in ("core_train_list.txt", "core_test_list.txt"):
        shutil.copyfile(world / name, release / name)
    shutil.copytree(world / "views", root / "views")
    shutil.copytree(world / "derivatives" / "groundtruth" / "meshes", root / "meshes")
    regions = root / "flatmap_regions.npy"
    np.save(regions, np.load(world / "derivatives" / "groundtruth" / "flatmap_rois.npy"))
    shutil.rmtree(world)
    return {"root": release, "views": root / "views", "meshes": root / "meshes", "regions": regions}
