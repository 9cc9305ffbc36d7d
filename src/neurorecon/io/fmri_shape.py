"""fMRI-Shape (MinD-3D) as released, and the synthetic 3D world written in the same layout.

``sub-00NN/npy_data/<synset>/<uid>.npy``: one object's fMRI as (frames, H, W) float flatmaps
(fMRI-Shape's are (10, 256, 256) float32, zero outside the visual-cortex mask);
``core_train_list.txt`` / ``core_test_list.txt``: one ``synset/uid.npy`` per line. An object's
features are its frames ``frames`` (the anchors test on frames 2-7, skipping two TRs of
hemodynamic lag) averaged, at the pixels that are non-zero in any training object (the cortex).
Optional beside them: ``views/<uid>/{0..5}.png`` (the six views MinD-3D scores), ground-truth
meshes or point clouds, and a flatmap region map for region analysis.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.io.inputs import InputDataError
from neurorecon.responses import ROW_COLUMNS, Responses

LISTS = {"train": "core_train_list.txt", "test": "core_test_list.txt"}
LINE = re.compile(r"^(?P<synset>[0-9A-Za-z_-]+)/(?P<uid>[0-9A-Za-z_.-]+)\.npy$")
N_VIEWS = 6


def subject_folder(subject: int) -> str:
    return f"sub-{subject:04d}"


def read_object_lists(root: Path) -> pd.DataFrame:
    """The objects of both lists (uid, synset, split), test first, each line checked."""
    rows = []
    for split in ("test", "train"):
        path = Path(root) / LISTS[split]
        if not path.is_file():
            raise InputDataError(path, "file not found; expected one 'synset/uid.npy' per line (fMRI-Shape's split list)")
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            match = LINE.match(line.strip())
            if match is None:
                raise InputDataError(path, f"line {number} is {line.strip()!r}; expected 'synset/uid.npy'")
            rows.append({"uid": match["uid"], "synset": match["synset"], "split": split})
    table = pd.DataFrame(rows, columns=["uid", "synset", "split"])
    if table.empty or (table["split"] == "train").sum() == 0 or (table["split"] == "test").sum() == 0:
        raise InputDataError(Path(root), "the split lists name no training or no test objects")
    duplicated = table["uid"][table["uid"].duplicated()]
    if len(duplicated):
        raise InputDataError(Path(root) / LISTS["train"], f"object {duplicated.iloc[0]} is listed twice")
    return table


def object_file(root: Path, subject: int, synset: str, uid: str) -> Path:
    return Path(root) / subject_folder(subject) / "npy_data" / synset / f"{uid}.npy"


def read_object(path: Path, frames: list[int], shape: tuple[int, int] | None = None) -> np.ndarray:
    """One object's flatmaps (frames, H, W) as float32, checked: readable without pickles, three
    dimensions, enough frames for ``frames``, the flatmap size of the others, finite."""
    if not path.is_file():
        raise InputDataError(path, "file not found; the split list names it")
    try:
        values = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError) as exc:
        raise InputDataError(path, f"cannot be read as a .npy array ({exc})") from exc
    if values.ndim != 3 or not np.issubdtype(values.dtype, np.floating):
        raise InputDataError(path, f"holds a {values.dtype} array of shape {values.shape}; expected float "
                                   "(frames, H, W) flatmaps")
    if values.shape[0] <= max(frames):
        raise InputDataError(path, f"has {values.shape[0]} frames; frames {frames} are configured")
    if shape is not None and values.shape[1:] != shape:
        raise InputDataError(path, f"flatmaps are {values.shape[1:]}, the first object's are {shape}")
    chosen = np.asarray(values[frames], dtype=np.float32)
    if not np.isfinite(chosen).all():
        raise InputDataError(path, f"holds {int((~np.isfinite(chosen)).sum())} NaN or infinite values")
    return chosen


def load_subject(root: Path, subject: int, objects: pd.DataFrame, frames: list[int],
                 rois: np.ndarray | None = None, roi_names: dict[int, str] | None = None,
                 clean: np.ndarray | None = None) -> Responses:
    """One subject as the responses contract: a row per object (its ``frames`` averaged), a column
    per cortical pixel (non-zero in any training object). ``rois`` (H, W ints) labels the pixels
    for region analysis; ``clean`` (objects, frames, H, W), the noise-free frames in ``objects``
    order, replaces the files' values (the synthetic world's noise ceiling)."""
    maps = []
    shape = None
    for index, row in enumerate(objects.itertuples()):
        if clean is None:
            chosen = read_object(object_file(root, subject, row.synset, row.uid), frames, shape)
        else:
            chosen = np.asarray(clean[index][frames], dtype=np.float32)
        shape = chosen.shape[1:]
        maps.append(chosen.mean(axis=0))
    maps = np.stack(maps)
    training = (objects["split"] == "train").to_numpy()
    cortex = np.abs(maps[training]).max(axis=0) > 0
    if rois is not None and rois.shape != cortex.shape:
        raise InputDataError(Path(root), f"the region map is {rois.shape}, the flatmaps {cortex.shape}")
    ijk = np.argwhere(cortex)
    trials = pd.DataFrame({"stim_id": objects["uid"].astype(str), "split": objects["split"].astype(str),
                           "runs": "all", "n_repeats": 1})[ROW_COLUMNS]
    labels = rois[cortex] if rois is not None else np.ones(int(cortex.sum()), dtype=np.int64)
    return Responses(values=maps[:, cortex].astype(np.float32), trials=trials, roi=labels.astype(np.int64),
                     roi_names=roi_names or {1: "visual"},
                     voxel_ijk=np.column_stack([ijk, np.zeros(len(ijk), dtype=np.int64)]))


def view_paths(views_root: Path, uid: str) -> list[Path]:
    """The six views MinD-3D scores of one object (``<views_root>/<uid>/{0..5}.png``), checked present."""
    paths = [Path(views_root) / uid / f"{k}.png" for k in range(N_VIEWS)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise InputDataError(paths[0].parent, f"missing views {', '.join(Path(m).name for m in missing)}; expected "
                                              f"{N_VIEWS} PNGs 0.png..{N_VIEWS - 1}.png (azimuth 30..330)")
    return paths


def truth_points(folder: Path, uid: str, count: int) -> np.ndarray:
    """An object's ground-truth point cloud ``<folder>/<uid>.npy`` (n >= count, 3), its first ``count`` points."""
    path = Path(folder) / f"{uid}.npy"
    if not path.is_file():
        raise InputDataError(path, "file not found; expected the object's ground-truth points (n, 3)")
    points = np.load(path, allow_pickle=False)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < count or not np.isfinite(points).all():
        raise InputDataError(path, f"holds {points.dtype} {points.shape}; expected finite (n >= {count}, 3) points")
    return np.asarray(points[:count], dtype=np.float64)


def true_views(views_root: str | Path, uids, side: int) -> np.ndarray:
    """The six scored views of objects, resized to ``side``: uint8 (objects, 6, side, side, 3)."""
    from PIL import Image

    return np.stack([np.stack([np.asarray(Image.open(path).convert("RGB").resize((side, side)))
                               for path in view_paths(Path(views_root), uid)]) for uid in uids])
