"""Reconstructions on disk: one npz per subject and output (no pickles), plus PNGs for people.

Kept free of torch so that the report can read them in a light environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from neurorecon.artifacts import atomic_path, verify_artifact


def save_reconstructions(path: Path, stim_ids: Sequence[str], images: np.ndarray, ceiling: np.ndarray | None,
                         **extra: np.ndarray) -> None:
    """Reconstructions as npz (no pickles): stim_ids, images, optional ceiling and extra arrays."""
    arrays = {"stim_ids": np.asarray(stim_ids), "images": images, **extra}
    if ceiling is not None:
        arrays["ceiling"] = ceiling
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)


def load_reconstructions(path: Path) -> dict[str, np.ndarray]:
    """The arrays a reconstruction stage saved, by name (checked against their manifest)."""
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def write_pngs(folder: Path, stim_ids: Sequence[str], images: np.ndarray, suffix: str = "") -> None:
    """One PNG per image, ``<stim_id><suffix>.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    for stim_id, image in zip(stim_ids, images):
        with atomic_path(folder / f"{stim_id}{suffix}.png") as tmp:
            Image.fromarray(image).save(tmp, format="PNG")


def write_gifs(folder: Path, stim_ids: Sequence[str], clips: np.ndarray, fps: float, suffix: str = "") -> None:
    """One looping animated GIF per clip (F, H, W, 3 uint8), ``<stim_id><suffix>.gif``, written with imageio."""
    import imageio.v3 as iio

    folder.mkdir(parents=True, exist_ok=True)
    for stim_id, clip in zip(stim_ids, clips):
        with atomic_path(folder / f"{stim_id}{suffix}.gif") as tmp:
            iio.imwrite(tmp, clip, extension=".gif", duration=1000.0 / fps, loop=0)


def write_frame_pngs(folder: Path, stim_ids: Sequence[str], clips: np.ndarray) -> None:
    """Every frame of every clip as ``<stim_id>/frame-<k>.png``."""
    for stim_id, clip in zip(stim_ids, clips):
        write_pngs(folder / str(stim_id), [f"frame-{k}" for k in range(len(clip))], clip)
