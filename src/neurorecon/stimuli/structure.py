"""Structure maps of stimuli: the layout a brain decoder can recover and a control branch can
follow (NeuroPictor's structural map, Takagi & Nishimoto's depth / edge inputs).

Two kinds, both (n, size, size) float32 in [0, 1]:
- ``silhouette``: the fraction of each cell covered by the object, drawn from the scene's own
  parameters (the synthetic world knows its true outline);
- ``edges``: the density of scikit-image Canny edges per cell, for any image (real stimuli).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.artifacts import atomic_path, verify_artifact
from neurorecon.io.inputs import InputDataError
from neurorecon.synth.scenes import SCENE_ATTRIBUTES

KINDS = ("silhouette", "edges")
SCENE_COLUMNS = (*SCENE_ATTRIBUTES, "texture_seed", "tint")
SUPERSAMPLE = 4
EDGE_GAIN = 4.0  # a cell whose quarter of pixels are edges reads as 1


def _pool(maps: np.ndarray, size: int) -> np.ndarray:
    n, side = maps.shape[:2]
    if side % size:
        raise ValueError(f"map side {side} is not a multiple of the structure map size {size}")
    return maps.reshape(n, size, side // size, size, side // size).mean(axis=(2, 4))


def silhouette_maps(scenes, size: int) -> np.ndarray:
    """Object coverage per cell of each scene (``synth.scenes.Scene``), supersampled."""
    from neurorecon.synth.scenes import silhouette

    return np.stack([_pool(silhouette(scene, size * SUPERSAMPLE)[None], size)[0] for scene in scenes]).astype(np.float32)


def edge_maps(images: np.ndarray, size: int, sigma: float = 1.5) -> np.ndarray:
    """Canny edge density per cell of uint8 RGB images (n, H, W, 3); H must be a multiple of ``size``."""
    from skimage.color import rgb2gray
    from skimage.feature import canny

    edges = np.stack([canny(rgb2gray(image), sigma=sigma) for image in images]).astype(np.float64)
    return np.clip(_pool(edges, size) * EDGE_GAIN, 0.0, 1.0).astype(np.float32)


def scenes_from_table(table: pd.DataFrame, source: str | Path):
    """The synthetic scenes a stimulus table describes (its scene columns), in row order."""
    from neurorecon.synth.scenes import Scene

    missing = [column for column in SCENE_COLUMNS if column not in table.columns]
    if missing:
        raise InputDataError(source, f"silhouette maps need the synthetic scene columns; missing {missing} "
                                     f"(use stimuli.structure.kind: edges for other stimuli)")
    scenes = []
    for record in table[list(SCENE_COLUMNS)].to_dict("records"):
        tint = tuple(float(v) for v in str(record["tint"]).split(","))
        scenes.append(Scene(**{**{k: str(record[k]) for k in SCENE_COLUMNS[:6]},
                               "texture_seed": int(record["texture_seed"]), "tint": tint}))
    return scenes


def resolved_kind(kind: str, table: pd.DataFrame) -> str:
    """``auto``: silhouette where the stimulus table describes synthetic scenes, else edges."""
    if kind != "auto":
        return kind
    return "silhouette" if all(column in table.columns for column in SCENE_COLUMNS) else "edges"


def structure_maps(kind: str, size: int, images: np.ndarray | None = None, scenes=None) -> np.ndarray:
    """Maps of one ``kind`` from scenes (silhouette) or images (edges)."""
    if kind == "silhouette":
        if scenes is None:
            raise ValueError("silhouette maps need the scenes")
        return silhouette_maps(scenes, size)
    if kind == "edges":
        if images is None:
            raise ValueError("edge maps need the images")
        return edge_maps(images, size)
    raise ValueError(f"unknown structure map kind {kind!r}; expected one of {KINDS}")


def save_structure(path: Path, stim_ids, maps: np.ndarray, kind: str) -> None:
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, stim_ids=np.asarray([str(s) for s in stim_ids]), maps=maps.astype(np.float32),
                     kind=np.asarray(kind))


def load_structure(path: Path) -> dict:
    """``stim_ids``, ``maps`` (n, size, size) and ``kind`` of a saved structure file."""
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        return {"stim_ids": [str(s) for s in data["stim_ids"]], "maps": data["maps"], "kind": str(data["kind"])}
