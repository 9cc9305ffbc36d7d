"""The stimulus images a dataset's ``stimuli/stimuli.tsv`` lists, as uint8 arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from neurorecon.io.inputs import InputDataError, read_tsv

STIMULUS_COLUMNS = ("stim_id", "stim_file", "split")
SPLITS = ("train", "test")


def read_stimulus_table(tsv: str | Path) -> pd.DataFrame:
    """The stimulus table with ``stim_id`` as strings, checked for the required columns."""
    table = read_tsv(tsv, required=STIMULUS_COLUMNS)
    table["stim_id"] = table["stim_id"].astype(str)
    repeated = sorted(set(table["stim_id"][table["stim_id"].duplicated()]))
    if repeated:
        raise InputDataError(tsv, f"stim_id(s) {repeated[:5]} repeated; expected one row per stimulus")
    splits = sorted(set(table["split"].astype(str)) - set(SPLITS))
    if splits:
        raise InputDataError(tsv, f"split value(s) {splits} found; expected {' or '.join(SPLITS)}")
    return table


def load_stimulus_images(tsv: str | Path, stim_ids: Sequence[str], size: int | None = None) -> np.ndarray:
    """RGB images (n, size, size, 3) uint8 of ``stim_ids`` in order; files are relative to the
    dataset root (the folder above ``stimuli/``). ``size`` None keeps the files' own size."""
    tsv = Path(tsv)
    table = read_stimulus_table(tsv).set_index("stim_id")
    missing = [s for s in stim_ids if str(s) not in table.index]
    if missing:
        raise InputDataError(tsv, f"no row for stimuli {missing[:5]}")
    root = tsv.parent.parent
    images = []
    for stim_id in stim_ids:
        path = root / table.loc[str(stim_id), "stim_file"]
        try:
            image = Image.open(path).convert("RGB")
        except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
            raise InputDataError(path, f"cannot read stimulus image for {stim_id!r} ({exc})") from exc
        if size is not None and image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BICUBIC)
        images.append(np.asarray(image))
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise InputDataError(tsv, f"stimulus images differ in size {sorted(shapes)}; set a size to resize them to")
    return np.stack(images)


def export_square_png(source: str | Path, destination: str | Path, size: int) -> None:
    """Write an image file as an RGB PNG of ``size`` x ``size``: centre-cropped to a square, resized."""
    from neurorecon.artifacts import atomic_path

    try:
        with Image.open(source) as image:
            image = image.convert("RGB")
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            square = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
    except (UnidentifiedImageError, OSError) as exc:
        raise InputDataError(source, f"cannot read the image ({exc})") from exc
    with atomic_path(destination) as tmp:
        square.save(tmp, format="PNG")


def training_images(kind: str, n: int, size: int, seed: list[int], stimuli_tsv: str | Path | None = None,
                    shape_variants: int = 1) -> tuple[np.ndarray, list[str]]:
    """``n`` images (n, size, size, 3) and captions to train a tiny model on (see :func:`training_set`)."""
    images, captions, _ = training_set(kind, n, size, seed, stimuli_tsv, shape_variants)
    return images, captions


def training_set(kind: str, n: int, size: int, seed: list[int], stimuli_tsv: str | Path | None = None,
                 shape_variants: int = 1) -> tuple[np.ndarray, list[str], list | None]:
    """``n`` images (n, size, size, 3), their captions, and their synthetic scenes where known.

    ``synthetic``: freshly drawn scenes of the synthetic world (never the stimuli themselves), in
    consecutive groups of ``shape_variants`` that differ only in shape;
    ``stimuli``: the dataset's own stimulus images (e.g. photographs), cycled to ``n`` with random
    horizontal flips, captioned from the table's ``caption`` column (no scenes: flips change them).
    """
    rng = np.random.default_rng(seed)
    if kind == "synthetic":
        from neurorecon.synth.scenes import draw_scene, sample_scenes, sample_shape_variant_groups

        scenes = sample_scenes(n, rng) if shape_variants == 1 else sample_shape_variant_groups(n, shape_variants, rng)
        return np.stack([draw_scene(scene, size) for scene in scenes]), [scene.caption for scene in scenes], scenes
    if kind != "stimuli":
        raise ValueError(f"unknown training image source {kind!r}; expected 'synthetic' or 'stimuli'")
    if stimuli_tsv is None:
        raise ValueError("training on the stimuli needs the stimulus table")
    table = read_stimulus_table(stimuli_tsv)
    if "caption" not in table.columns:
        raise InputDataError(stimuli_tsv, "training tiny models on the stimuli needs a caption column")
    images = load_stimulus_images(stimuli_tsv, table["stim_id"].tolist(), size)
    rows = rng.permutation(np.resize(np.arange(len(table)), n))
    flips = rng.random(n) < 0.5
    chosen = np.where(flips[:, None, None, None], images[rows][:, :, ::-1], images[rows])
    return np.ascontiguousarray(chosen), table["caption"].astype(str).to_numpy()[rows].tolist(), None
