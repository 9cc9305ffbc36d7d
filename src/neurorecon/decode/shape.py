"""3D decoding targets and decoders: per object, (a) the CLIP embedding of its six views (averaged),
(b) its shape code (the tiny generator's principal components of its SDF grid; only where its
mesh is known), (c) its colour (the mean colour of its pixels over the views) and (d) a blurry
front view (the image the Shap-E route starts from). Each is a ridge decoder from the responses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorecon.decode.keyed import load_keyed, save_keyed
from neurorecon.decode.ridge import RidgeDecoder, fit_ridge
from neurorecon.decode.video import blurry_frames, blurry_targets

TARGETS = ("embedding", "shape", "colour", "view")   # decoded from the responses
STORED = (*TARGETS, "occupancy")                     # plus the category judge's input, where meshes are known
VIEW_SIDE = 8           # the blurry front view is VIEW_SIDE x VIEW_SIDE pixels
WHITE = 0.94            # pixels with every channel above this are the white background


def object_colour(views: np.ndarray) -> np.ndarray:
    """Mean RGB in [0, 1] of the object's (non-white) pixels over its views (V, H, W, 3) uint8."""
    pixels = views.reshape(-1, 3) / 255.0
    on_object = pixels.min(axis=1) < WHITE
    return pixels[on_object].mean(axis=0) if on_object.any() else np.ones(3)


def blurry_view(view: np.ndarray, side: int = VIEW_SIDE) -> np.ndarray:
    """One view (H, W, 3) uint8 area-averaged to side x side, in [0, 1], flattened: a one-frame blurry video."""
    return blurry_targets(view[None, None], side)[0]


def blurry_images(values: np.ndarray, side: int = VIEW_SIDE) -> np.ndarray:
    """Decoded blurry views back to uint8 images (n, side, side, 3)."""
    return np.round(blurry_frames(values, 1, side)[:, 0] * 255).astype(np.uint8)


def fit_shape_decoders(responses: np.ndarray, targets: dict[str, np.ndarray], alphas, cv) -> dict[str, RidgeDecoder]:
    """One ridge decoder per target kind present, each with its own penalty."""
    return {kind: fit_ridge(responses, values, alphas, cv) for kind, values in targets.items()}


def save_shape_targets(path: Path, uids, targets: dict[str, np.ndarray]) -> None:
    """Every object's targets by uid (``shape`` is absent where no meshes are known)."""
    save_keyed(path, uids, targets)


def load_shape_targets(path: Path, uids=None, kinds=STORED) -> dict[str, np.ndarray]:
    """The arrays of ``kinds`` that :func:`save_shape_targets` wrote (rows of ``uids`` in order, if given)."""
    with np.load(path, allow_pickle=False) as data:
        present = [kind for kind in kinds if kind in data]
    return load_keyed(path, present, uids)
