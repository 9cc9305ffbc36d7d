"""The CC2017 video-fMRI data (Wen et al. 2018) as NeuroClips distributes them, and the synthetic
video world written in the same layout.

``subjNN_train_fmri.pt``: (segments, presentations, voxels) float32, one 2-s segment per row (each
training movie was shown twice); ``subjNN_test_fmri.pt``: (segments, repeats, voxels), averaged over
the repeats as NeuroClips does; ``GT_{train,test}_3fps.pt``: (segments, 6, 3, H, W) float32 in [0, 1],
the segment's frames at 3 fps. Files are read with ``torch.load(weights_only=True)`` (no code runs)
and memory-mapped, so CC2017's 15 GB of training frames are not read at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.io.inputs import InputDataError
from neurorecon.responses import ROW_COLUMNS, Responses

FRAMES = 6


def subject_label(subject: int) -> str:
    return f"subj{subject:02d}"


def load_tensor(path: Path, ndim: int, what: str) -> np.ndarray:
    """One float tensor of a .pt file, as a (memory-mapped) float32 numpy array, checked."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise InputDataError(path, f"file not found; expected {what}")
    try:
        tensor = torch.load(path, weights_only=True, mmap=True, map_location="cpu")
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError) as exc:
        raise InputDataError(path, f"cannot read with torch.load(weights_only=True) ({exc}); expected {what}") from exc
    if not isinstance(tensor, torch.Tensor):
        raise InputDataError(path, f"holds a {type(tensor).__name__}, not a tensor; expected {what}")
    if tensor.ndim != ndim or not tensor.is_floating_point():
        raise InputDataError(path, f"holds a {tensor.dtype} tensor of shape {tuple(tensor.shape)}; expected {what}")
    return tensor.float().numpy()


def read_fmri(root: Path, subject: int, split: str) -> np.ndarray:
    """(segments, presentations, voxels) of one split, checked finite."""
    path = Path(root) / f"{subject_label(subject)}_{split}_fmri.pt"
    values = load_tensor(path, 3, "float (segments, presentations, voxels)")
    if not np.isfinite(values).all():
        raise InputDataError(path, f"holds {int((~np.isfinite(values)).sum())} NaN or infinite values")
    return values


def read_frames(root: Path, split: str, rows: np.ndarray | None = None) -> np.ndarray:
    """Frames of the split's segments (or of ``rows`` of them) as uint8 (segments, 6, H, W, 3)."""
    path = Path(root) / f"GT_{split}_3fps.pt"
    frames = load_tensor(path, 5, "float (segments, 6, 3, H, W) in [0, 1]")
    if frames.shape[1] != FRAMES or frames.shape[2] != 3:
        raise InputDataError(path, f"shape {frames.shape}; expected (segments, {FRAMES}, 3, H, W)")
    chosen = frames if rows is None else frames[rows]
    if chosen.size and (chosen.min() < 0 or chosen.max() > 1):
        raise InputDataError(path, f"values span [{chosen.min():g}, {chosen.max():g}]; expected [0, 1]")
    return np.round(np.asarray(chosen).transpose(0, 1, 3, 4, 2) * 255).astype(np.uint8)


def segment_ids(split: str, n: int) -> list[str]:
    return [f"{split}{i:04d}" for i in range(n)]


def segment_table(root: Path) -> pd.DataFrame:
    """The segments of a CC2017 folder (stim_id, split), named ``train0000``, ... in file order, as
    many as each split's frame file holds (read memory-mapped: only the shapes are looked at)."""
    rows = []
    for split in ("train", "test"):
        path = Path(root) / f"GT_{split}_3fps.pt"
        frames = load_tensor(path, 5, "float (segments, 6, 3, H, W) in [0, 1]")
        if frames.shape[1] != FRAMES or frames.shape[2] != 3:
            raise InputDataError(path, f"shape {frames.shape}; expected (segments, {FRAMES}, 3, H, W)")
        rows += [{"stim_id": stim_id, "split": split} for stim_id in segment_ids(split, len(frames))]
    return pd.DataFrame(rows)


def load_subject(root: Path, subject: int, clips: pd.DataFrame | None = None) -> Responses:
    """One subject as the responses contract: every training presentation a row, test segments averaged
    over their repeats. Rows are named by ``clips`` (the synthetic world's clips.tsv) where given, else
    ``train0000``, ``test0000``, ... in file order."""
    train, test = read_fmri(root, subject, "train"), read_fmri(root, subject, "test")
    if train.shape[2] != test.shape[2]:
        raise InputDataError(Path(root) / f"{subject_label(subject)}_test_fmri.pt",
                             f"{test.shape[2]} voxels, but the training file has {train.shape[2]}")
    ids = {split: segment_ids(split, n) for split, n in (("train", len(train)), ("test", len(test)))}
    if clips is not None:
        for split, n in (("train", len(train)), ("test", len(test))):
            named = clips.loc[clips["split"] == split, "stim_id"].astype(str).tolist()
            if len(named) != n:
                raise InputDataError(Path(root) / "clips.tsv", f"{len(named)} {split} clips, but the fMRI file has {n} segments")
            ids[split] = named
    presentations = train.shape[1]
    trials = pd.DataFrame({
        "stim_id": np.repeat(ids["train"], presentations).tolist() + ids["test"],
        "split": ["train"] * (len(train) * presentations) + ["test"] * len(test),
        "runs": [str(p + 1) for _ in ids["train"] for p in range(presentations)] + ["all"] * len(test),
        "n_repeats": [1] * (len(train) * presentations) + [test.shape[1]] * len(test),
    })[ROW_COLUMNS]
    values = np.concatenate([train.reshape(-1, train.shape[2]), test.mean(axis=1)]).astype(np.float32)
    return Responses(values=values, trials=trials, roi=np.ones(values.shape[1], dtype=np.int64),
                     roi_names={1: "visual"}, voxel_ijk=np.zeros((values.shape[1], 3), dtype=np.int64))
