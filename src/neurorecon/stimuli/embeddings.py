"""The stimuli's CLIP embeddings on disk: one npz of numpy arrays, read without torch or open_clip,
so decoding and evaluation rules need neither."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from neurorecon.artifacts import atomic_path, verify_artifact


def save_embeddings(path: Path, stim_ids: Sequence[str], image: np.ndarray, text: np.ndarray) -> None:
    """Write embeddings as npz (no pickles): stim_ids, image (n, d), text (n, d)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, stim_ids=np.asarray(stim_ids), image=image.astype(np.float32), text=text.astype(np.float32))


def load_embeddings(path: Path) -> dict[str, np.ndarray]:
    """The arrays :func:`save_embeddings` wrote, by name (checked against their manifest)."""
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
