"""Arrays keyed by stimulus id in one .npz: decoding targets, decoded predictions and their
noise-ceiling twins (``ceiling_<kind>``), shared by the video and 3D branches."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorecon.artifacts import atomic_path, verify_artifact


def rows_of(stored_ids, stim_ids) -> list[int]:
    """The rows of a saved file whose ``stored_ids`` are ``stim_ids``, in that order."""
    index = {str(s): i for i, s in enumerate(stored_ids)}
    missing = [str(s) for s in stim_ids if str(s) not in index]
    if missing:
        raise KeyError(f"{len(missing)} ids are not in the file, e.g. {missing[0]!r}")
    return [index[str(s)] for s in stim_ids]


def save_keyed(path: Path, stim_ids, arrays: dict[str, np.ndarray], **extra) -> None:
    """Arrays (rows = ``stim_ids``) as float32, plus ``extra`` scalars, written atomically."""
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, stim_ids=np.asarray([str(s) for s in stim_ids]), **extra,
                     **{kind: np.asarray(values, dtype=np.float32) for kind, values in arrays.items()})


def load_keyed(path: Path, kinds, stim_ids=None) -> dict[str, np.ndarray]:
    """The ``kinds`` arrays of a :func:`save_keyed` file (rows of ``stim_ids`` in order, if given),
    checked against their manifest."""
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        rows = slice(None) if stim_ids is None else rows_of(data["stim_ids"], stim_ids)
        return {kind: data[kind][rows] for kind in kinds}


def save_predictions(path: Path, stim_ids, predicted: dict[str, np.ndarray],
                     ceiling: dict[str, np.ndarray] | None = None, **extra) -> None:
    """Decoded test targets, and those decoded from noise-free responses where known; ``extra``
    arrays (e.g. decoded captions) are stored as they are."""
    save_keyed(path, stim_ids, {**predicted, **{f"ceiling_{kind}": v for kind, v in (ceiling or {}).items()}}, **extra)


def load_predictions(path: Path, kinds) -> tuple[list[str], dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """(stim_ids, predicted, ceiling predictions or None) of the ``kinds`` saved by :func:`save_predictions`."""
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        present = [kind for kind in kinds if kind in data]
        ceiling = {kind: data[f"ceiling_{kind}"] for kind in present} if f"ceiling_{present[0]}" in data else None
        return [str(s) for s in data["stim_ids"]], {kind: data[kind] for kind in present}, ceiling
