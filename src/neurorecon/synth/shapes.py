"""Synthetic 3D world: procedural objects seen turning, and the fMRI they evoke, written in the
layout fMRI-Shape releases (MinD-3D).

Each object (synth/objects.py) turns once while it is shown for ``frames`` TRs; the views are
rendered with VTK. Objects follow each other in runs of ``objects_per_run``. A subject's voxels
lie on a cortical flatmap (``flatmap_size`` pixels a side, an ellipse of cortex), as fMRI-Shape's
(frames, 256, 256) flatmaps, in three regions: early visual (EVC: retinotopic receptive fields
on the opponent-colour maps of the view shown at each TR), a shape region (LOC: the object's
shape code, the principal components of its signed-distance grid, whatever its colour) and a
semantic region (HVC: a nonlinear latent of its category and colour). The BOLD is each TR's
drive convolved with the canonical HRF over the run, plus AR(1) noise, z-scored per pixel over
all runs as fMRI-Shape's files are; an object's file holds the TRs of its own presentation, so
the first two still carry the previous object (why the anchors score frames 2-7).

Written: ``sub-00NN/npy_data/<synset>/<uid>.npy`` (frames, S, S) float32, ``core_train_list.txt``
and ``core_test_list.txt`` (lines ``synset/uid.npy``), ``objects.tsv``, the six views MinD-3D
scores as ``views/<uid>/{0..5}.png``, and under ``derivatives/groundtruth/``: each object's mesh
(``meshes/<uid>.ply``), its 2048 normalised surface points (``points/<uid>.npy``, as MinD-3D's
ground-truth clouds), the flatmap's regions (``flatmap_rois.npy``) and per subject the noise-free
frames and the populations' codes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from neurorecon.artifacts import atomic_path, write_json_atomic, write_text_atomic
from neurorecon.meshes import mesh_from_sdf, normalised_points, save_mesh
from neurorecon.preprocess.hrf import double_gamma_hrf, hrf_regressors
from neurorecon.render import EVAL_VIEWS, Renderer, turntable
from neurorecon.synth.fmri import ar1_noise
from neurorecon.synth.objects import CATEGORIES, GRID_EXTENT, Object3D, sample_objects, sdf_grid
from neurorecon.synth.scenes import COLOURS, lowlevel_features, retinotopic_weights
from neurorecon.synth.video import zscore_columns
from neurorecon.synth.world import semantic_latent

TR = 2.0
ROI_LABELS = {1: "EVC", 2: "LOC", 3: "HVC"}
MESH_RESOLUTION = 48      # marching-cubes grid of the true meshes
CODE_RESOLUTION = 24      # SDF grid whose principal components are the shape code the brain carries
POINTS = 2048


def flatmap_rois(size: int) -> np.ndarray:
    """The flatmap's regions (size x size int): an ellipse of cortex split along x into EVC (1),
    LOC (2) and HVC (3); 0 outside cortex, as fMRI-Shape's flatmaps are zero outside their mask."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    inside = ((xx - size / 2) / (0.48 * size)) ** 2 + ((yy - size / 2) / (0.36 * size)) ** 2 <= 1
    region = 1 + np.minimum((xx / size * 3).astype(int), 2)
    return np.where(inside, region, 0)


def shape_codes(objects: list[Object3D], n_components: int) -> np.ndarray:
    """The objects' shape codes: principal components of their SDF grids, standardised (objects x n)."""
    grids = np.stack([sdf_grid(obj, CODE_RESOLUTION).ravel() for obj in objects])
    centred = grids - grids.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return zscore_columns(u[:, :n_components] * s[:n_components])


def semantic_codes(objects: list[Object3D], latent_dim: int, rng: np.random.Generator) -> np.ndarray:
    """A nonlinear latent of each object's category and colour (one-hots), as the image world's semantics."""
    categories, colours = list(CATEGORIES), list(COLOURS)
    features = np.stack([np.concatenate([np.eye(len(categories))[categories.index(o.category)],
                                         np.eye(len(colours))[colours.index(o.colour)]]) for o in objects])
    return semantic_latent(features, latent_dim, rng)


def population_drive(view_features: np.ndarray, shape: np.ndarray, semantic: np.ndarray, rois: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Noise-free drive of every cortical pixel at every TR (objects, frames, pixels), unit variance
    per population, and each population's weights. ``view_features`` (objects, frames, features)
    are the low-level maps of the views shown; ``shape`` and ``semantic`` the objects' codes."""
    n_objects, n_frames, n_features = view_features.shape
    cortex = rois[rois > 0]
    counts = [int((cortex == label).sum()) for label in ROI_LABELS]
    grid = int(np.sqrt(n_features // 3))
    evc = view_features.reshape(-1, n_features) @ retinotopic_weights(counts[0], grid, rng).T
    loc_weights = rng.normal(0, 1, (shape.shape[1], counts[1]))
    hvc_weights = rng.normal(0, 1, (semantic.shape[1], counts[2]))
    per_object = {2: np.repeat(shape @ loc_weights, n_frames, axis=0),
                  3: np.repeat(semantic @ hvc_weights, n_frames, axis=0)}
    drive = np.zeros((n_objects * n_frames, len(cortex)))
    drive[:, cortex == 1] = zscore_columns(evc)
    for label, values in per_object.items():
        drive[:, cortex == label] = zscore_columns(values)
    return drive.reshape(n_objects, n_frames, -1), {"loc_weights": loc_weights, "hvc_weights": hvc_weights}


def simulate_runs(drive: np.ndarray, objects_per_run: int, noise_pct: float, ar_coef: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """BOLD of objects shown back to back in runs, cut per object: (noisy, noise-free), each
    (objects, frames, pixels). Each TR's drive is a TR-long event convolved with the canonical HRF."""
    n_objects, n_frames, n_pixels = drive.shape
    noisy, clean = np.empty(drive.shape), np.empty(drive.shape)
    hrf = double_gamma_hrf(6.0)
    for start in range(0, n_objects, objects_per_run):
        block = slice(start, min(start + objects_per_run, n_objects))
        events = drive[block].reshape(-1, n_pixels)
        times = np.arange(len(events)) * TR
        design = hrf_regressors(times, np.full(len(events), TR), times, hrf)
        bold = design @ events
        noisy[block] = (bold + ar1_noise(bold.shape, noise_pct, ar_coef, rng)).reshape(-1, n_frames, n_pixels)
        clean[block] = bold.reshape(-1, n_frames, n_pixels)
    return noisy, clean


def _zscore_pixels(noisy: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both by the noisy data's mean and sd per pixel over every object and frame (fMRI-Shape's
    z-scoring pooled over runs), so the noise-free frames stay in the files' units."""
    flat = noisy.reshape(-1, noisy.shape[-1])
    mean, sd = flat.mean(axis=0), flat.std(axis=0)
    return (noisy - mean) / sd, (clean - mean) / sd


def _to_flatmap(values: np.ndarray, rois: np.ndarray) -> np.ndarray:
    """Cortical pixel values (..., pixels) onto the flatmap (..., S, S), zero outside cortex."""
    maps = np.zeros((*values.shape[:-1], *rois.shape), dtype=np.float32)
    maps[..., rois > 0] = values
    return maps


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array)


def render_objects(objects: list[Object3D], frames: int, image_size: int, root: Path, progress=lambda x, _: x):
    """Write each object's true mesh, normalised points and the six scored views; returns the
    turntable views (objects, frames, H, W, 3) uint8 the brain sees, one per TR."""
    truth = root / "derivatives" / "groundtruth"
    views_seen = np.empty((len(objects), frames, image_size, image_size, 3), dtype=np.uint8)
    with Renderer(image_size) as renderer:
        for index, obj in enumerate(progress(objects, "rendering objects")):
            mesh = mesh_from_sdf(sdf_grid(obj, MESH_RESOLUTION), GRID_EXTENT, obj.rgb, obj.uid)
            save_mesh(mesh, truth / "meshes" / f"{obj.uid}.ply")
            _save_npy(truth / "points" / f"{obj.uid}.npy", normalised_points(mesh, POINTS).astype(np.float32))
            for k, image in enumerate(renderer.render(mesh, EVAL_VIEWS)):
                path = root / "views" / obj.uid / f"{k}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    Image.fromarray(image).save(tmp, format="PNG")
            views_seen[index] = renderer.render(mesh, turntable(frames))
    return views_seen


def write_shape_world(cfg: dict, root: Path, progress=lambda x, _: x) -> pd.DataFrame:
    """Make the objects, render them and simulate every subject into ``root`` in fMRI-Shape's
    layout; returns the object table (also ``objects.tsv``). Test objects come first."""
    rng = np.random.default_rng([cfg["seed"], 5])
    n_test, n_train = cfg["n_test_objects"], cfg["n_train_objects"]
    objects = sample_objects(n_test + n_train, rng)
    split = np.array(["test"] * n_test + ["train"] * n_train)
    table = pd.DataFrame([obj.as_record() for obj in objects]).assign(split=split)
    root.mkdir(parents=True, exist_ok=True)
    seen = render_objects(objects, cfg["frames"], cfg["image_size"], root, progress)
    features = lowlevel_features(seen.reshape(-1, *seen.shape[2:])).reshape(len(objects), cfg["frames"], -1)
    shape = shape_codes(objects, cfg["shape_dim"])
    semantic = semantic_codes(objects, cfg["latent_dim"], rng)
    rois = flatmap_rois(cfg["flatmap_size"])
    truth = root / "derivatives" / "groundtruth"
    _save_npy(truth / "flatmap_rois.npy", rois.astype(np.int16))
    low, high = cfg["noise_pct"]
    for index in range(cfg["n_subjects"]):
        subject_rng = np.random.default_rng([cfg["seed"], 6, index])
        drive, weights = population_drive(features, shape, semantic, rois, subject_rng)
        noise = low if cfg["n_subjects"] == 1 else low + (high - low) * index / (cfg["n_subjects"] - 1)
        # presentation order: objects are shown shuffled, so runs mix test and training objects
        order = subject_rng.permutation(len(objects))
        noisy, clean = np.empty_like(drive), np.empty_like(drive)
        noisy[order], clean[order] = simulate_runs(drive[order] * cfg["signal_pct"], cfg["objects_per_run"], noise,
                                                   cfg["ar_coef"], subject_rng)
        noisy, clean = _zscore_pixels(noisy, clean)
        label = f"sub-{index + 1:04d}"
        for obj, frames in zip(objects, _to_flatmap(noisy, rois)):
            _save_npy(root / label / "npy_data" / obj.synset / f"{obj.uid}.npy", frames)
        with atomic_path(truth / f"{label}_groundtruth.npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, uids=np.array([o.uid for o in objects]),
                                    clean=_to_flatmap(clean, rois), shape_code=shape, semantic=semantic,
                                    presentation_order=order, **weights)
        write_json_atomic(truth / f"{label}_groundtruth.json", {
            "noise_pct": noise, "ar_coef": cfg["ar_coef"], "signal_pct": cfg["signal_pct"], "tr": TR,
            "roi_labels": ROI_LABELS,
            "description": "clean: noise-free frames (objects, frames, S, S) in the files' z-scored units, objects "
                           "in objects.tsv order; shape_code: what LOC carries; semantic: what HVC carries; "
                           "flatmap_rois.npy: 1 EVC, 2 LOC, 3 HVC, 0 outside cortex",
        })
    for name in ("train", "test"):
        lines = [f"{obj.synset}/{obj.uid}.npy" for obj, part in zip(objects, split) if part == name]
        write_text_atomic(root / f"core_{name}_list.txt", "\n".join(lines) + "\n")
    write_text_atomic(root / "objects.tsv", table.to_csv(sep="\t", index=False))
    return table
