"""Miyawaki et al. (2008) binary visual patterns with the fMRI responses to them.

Reads the processed subset's .mat layout: ``fmriTrn`` / ``fmriTest`` (trials x voxels, already
standardised) and ``stimTrn`` / ``stimTest`` (trials x side**2 pixels in 0/1, row-major). The data
stage exports the patterns as PNGs with a stimulus table; the preprocess stage writes the responses
contract (no GLM: the responses are given).
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

FIELDS = ("fmriTrn", "fmriTest", "stimTrn", "stimTest")
ROI_NAME = "visual"


@dataclass
class MiyawakiData:
    """Responses and patterns of both splits; patterns are (trials, side, side) in {0, 1}."""

    train_responses: np.ndarray
    test_responses: np.ndarray
    train_patterns: np.ndarray
    test_patterns: np.ndarray


def load_miyawaki(path: str | Path, image_size: int) -> MiyawakiData:
    """Read and check the four arrays; errors name the file and the field."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise InputDataError(path, "file not found")
    try:
        mat = scipy.io.loadmat(path, variable_names=list(FIELDS))
    except (scipy.io.matlab.MatReadError, ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise InputDataError(path, f"cannot read as a MATLAB .mat file ({exc})") from exc
    missing = [field for field in FIELDS if field not in mat]
    if missing:
        raise InputDataError(path, f"missing field(s) {missing}; expected {list(FIELDS)}")
    arrays = {field: np.asarray(mat[field], dtype=np.float64) for field in FIELDS}
    for field, array in arrays.items():
        if array.ndim != 2:
            raise InputDataError(path, f"field {field!r} must be 2-D (trials x values), got shape {array.shape}")
        if not np.isfinite(array).all():
            raise InputDataError(path, f"field {field!r} holds NaN or infinite values")
    for split in ("Trn", "Test"):
        responses, stimuli = arrays[f"fmri{split}"], arrays[f"stim{split}"]
        if len(responses) != len(stimuli):
            raise InputDataError(path, f"fmri{split} has {len(responses)} rows but stim{split} has {len(stimuli)}")
        if stimuli.shape[1] != image_size * image_size:
            raise InputDataError(path, f"stim{split} rows hold {stimuli.shape[1]} pixels; data.miyawaki.image_size "
                                       f"{image_size} expects {image_size * image_size}")
    if arrays["fmriTrn"].shape[1] != arrays["fmriTest"].shape[1]:
        raise InputDataError(path, f"fmriTrn has {arrays['fmriTrn'].shape[1]} voxels, fmriTest {arrays['fmriTest'].shape[1]}")
    return MiyawakiData(
        train_responses=arrays["fmriTrn"], test_responses=arrays["fmriTest"],
        train_patterns=arrays["stimTrn"].reshape(-1, image_size, image_size),
        test_patterns=arrays["stimTest"].reshape(-1, image_size, image_size),
    )


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
    """Write ``stimuli/<id>.png`` (white pattern on black, RGB) and ``stimuli/stimuli.tsv``."""
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
