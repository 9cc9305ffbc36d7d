"""Miyawaki et al. (2008) binary visual patterns with the fMRI responses to them.

Reads the processed subset's .mat layout: ``fmriTrn`` / ``fmriTest`` (trials x voxels, already
standardised) and ``stimTrn`` / ``stimTest`` (trials x side**2 pixels in 0/1, row-major). Files of
the same kind from elsewhere may name the fields otherwise, store grey levels (0-1 floats or 0-255
integers) or flatten the images column-major (MATLAB's own order): the field names and the pixel
order are settings (``data.miyawaki.fields``, ``pixel_order``), and the value range is detected and
scaled to 0-1, or refused when it fits none of the three (``value_range`` can state it). A pixel
order cannot be told from the values, and a wrong one passes every shape check (the images come out
transposed), so it is stated, not guessed. The data stage exports the patterns, grey levels kept,
as PNGs with a stimulus table; the preprocess stage writes the responses contract (no GLM: the
responses are given).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from neurorecon.artifacts import atomic_path, write_text_atomic
from neurorecon.io.inputs import InputDataError
from neurorecon.responses import ROW_COLUMNS, Responses

FIELDS = {"train_responses": "fmriTrn", "test_responses": "fmriTest", "train_stimuli": "stimTrn",
          "test_stimuli": "stimTest"}
ROI_NAME = "visual"
VALUE_RANGES = {"binary": "binary 0/1", "unit": "grey levels from 0 to 1", "uint8": "8-bit grey levels from 0 to 255"}


@dataclass
class MiyawakiData:
    """Responses and patterns of both splits; patterns are (trials, side, side) from 0 to 1."""

    train_responses: np.ndarray
    test_responses: np.ndarray
    train_patterns: np.ndarray
    test_patterns: np.ndarray


def pattern_value_range(values: np.ndarray) -> str | None:
    """Which of VALUE_RANGES the pattern values fit (binary before unit before 8-bit), or None."""
    if values.min() < 0:
        return None
    integers = bool(np.all(values == np.round(values)))
    if integers and values.max() <= 1:
        return "binary"
    if values.max() <= 1:
        return "unit"
    if integers and values.max() <= 255:
        return "uint8"
    return None


def scale_patterns(path: Path, field: str, values: np.ndarray, value_range: str) -> np.ndarray:
    """Pattern values scaled to 0-1, after checking that they are what ``value_range`` says (or,
    for "auto", that they fit exactly one reading)."""
    found = pattern_value_range(values)
    span = f"[{values.min():g}, {values.max():g}]"
    if value_range == "auto":
        if found is None:
            raise InputDataError(path, f"field {field!r} values span {span}, which is none of "
                                       f"{', '.join(VALUE_RANGES.values())}; rescale the file, or set "
                                       "data.miyawaki.value_range if it is one of them")
        value_range = found
    elif found is None or (value_range == "binary" and found != "binary") or (value_range == "unit" and values.max() > 1):
        raise InputDataError(path, f"field {field!r} values span {span}, but data.miyawaki.value_range says "
                                   f"{VALUE_RANGES[value_range]}")
    return values / 255.0 if value_range == "uint8" else values


def load_miyawaki(path: str | Path, image_size: int, fields: dict[str, str] | None = None,
                  pixel_order: str = "row-major", value_range: str = "auto") -> MiyawakiData:
    """Read and check the four arrays; errors name the file and the field (``data.miyawaki`` settings:
    ``fields`` maps train/test responses/stimuli to the .mat's names)."""
    import scipy.io

    path = Path(path)
    names = {**FIELDS, **(fields or {})}
    if not path.is_file():
        raise InputDataError(path, "file not found")
    try:
        mat = scipy.io.loadmat(path, variable_names=list(names.values()))
    except (scipy.io.matlab.MatReadError, ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise InputDataError(path, f"cannot read as a MATLAB .mat file ({exc})") from exc
    missing = [name for name in names.values() if name not in mat]
    if missing:
        raise InputDataError(path, f"missing field(s) {missing}; expected {list(names.values())} "
                                   "(data.miyawaki.fields names them)")
    arrays = {}
    for role, name in names.items():
        try:
            arrays[role] = np.asarray(mat[name], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputDataError(path, f"field {name!r} is not numeric ({type(mat[name]).__name__})") from exc
        if arrays[role].ndim != 2:
            raise InputDataError(path, f"field {name!r} must be 2-D (trials x values), got shape {arrays[role].shape}")
        if not np.isfinite(arrays[role]).all():
            raise InputDataError(path, f"field {name!r} holds NaN or infinite values")
    for split in ("train", "test"):
        responses, stimuli = arrays[f"{split}_responses"], arrays[f"{split}_stimuli"]
        response_name, stimulus_name = names[f"{split}_responses"], names[f"{split}_stimuli"]
        if len(responses) != len(stimuli):
            raise InputDataError(path, f"{response_name} has {len(responses)} rows but {stimulus_name} has {len(stimuli)}")
        if stimuli.shape[1] != image_size * image_size:
            raise InputDataError(path, f"{stimulus_name} rows hold {stimuli.shape[1]} pixels; data.miyawaki.image_size "
                                       f"{image_size} expects {image_size * image_size}")
        arrays[f"{split}_stimuli"] = scale_patterns(path, stimulus_name, stimuli, value_range)
    if arrays["train_responses"].shape[1] != arrays["test_responses"].shape[1]:
        raise InputDataError(path, f"{names['train_responses']} has {arrays['train_responses'].shape[1]} voxels, "
                                   f"{names['test_responses']} {arrays['test_responses'].shape[1]}")
    return MiyawakiData(
        train_responses=arrays["train_responses"], test_responses=arrays["test_responses"],
        train_patterns=_images(arrays["train_stimuli"], image_size, pixel_order),
        test_patterns=_images(arrays["test_stimuli"], image_size, pixel_order),
    )


def _images(rows: np.ndarray, side: int, pixel_order: str) -> np.ndarray:
    """(trials, side, side) from one flattened image per row; column-major rows list pixel (i, j) at j * side + i."""
    images = rows.reshape(-1, side, side)
    if pixel_order == "column-major":
        return np.ascontiguousarray(images.transpose(0, 2, 1))
    if pixel_order != "row-major":
        raise ValueError(f"unknown pixel_order {pixel_order!r}; expected row-major or column-major")
    return images


def repeated_test_patterns(data: MiyawakiData) -> int:
    """How many test patterns also appear, pixel for pixel, among the training patterns. In the
    shared subset all 12 do (2 to 7 times each), so its test scores measure recognition of seen
    patterns more than generalisation to new ones."""
    train = data.train_patterns.reshape(len(data.train_patterns), -1)
    return int(sum((train == test.ravel()).all(axis=1).any() for test in data.test_patterns))


def stimulus_ids(data: MiyawakiData) -> tuple[list[str], list[str]]:
    """Ids of the training and test patterns, in file order."""
    return ([f"trn{i:03d}" for i in range(len(data.train_patterns))],
            [f"test{i:03d}" for i in range(len(data.test_patterns))])


def export_stimuli(data: MiyawakiData, root: Path) -> Path:
    """Write ``stimuli/<id>.png`` (the pattern's grey levels, white on black, RGB) and ``stimuli/stimuli.tsv``."""
    train_ids, test_ids = stimulus_ids(data)
    stim_dir = root / "stimuli"
    stim_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for ids, patterns, split in ((train_ids, data.train_patterns, "train"), (test_ids, data.test_patterns, "test")):
        for stim_id, pattern in zip(ids, patterns):
            image = np.repeat((np.clip(pattern, 0, 1) * 255).round().astype(np.uint8)[..., None], 3, axis=2)
            with atomic_path(stim_dir / f"{stim_id}.png") as tmp:
                Image.fromarray(image).save(tmp, format="PNG")
            rows.append({"stim_id": stim_id, "stim_file": f"stimuli/{stim_id}.png", "split": split})
    tsv = stim_dir / "stimuli.tsv"
    write_text_atomic(tsv, pd.DataFrame(rows).to_csv(sep="\t", index=False))
    return tsv


def miyawaki_responses(data: MiyawakiData) -> Responses:
    """The responses contract: one row per trial (each pattern was shown once in this subset)."""
    train_ids, test_ids = stimulus_ids(data)
    trials = pd.DataFrame({"stim_id": train_ids + test_ids,
                           "split": ["train"] * len(train_ids) + ["test"] * len(test_ids),
                           "runs": "1", "n_repeats": 1})[ROW_COLUMNS]
    values = np.concatenate([data.train_responses, data.test_responses]).astype(np.float32)
    n_voxels = values.shape[1]
    return Responses(values=values, trials=trials, roi=np.ones(n_voxels, dtype=np.int64), roi_names={1: ROI_NAME},
                     voxel_ijk=np.zeros((n_voxels, 3), dtype=np.int64))
