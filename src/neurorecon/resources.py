"""What a job asks a scheduler for: memory that grows with the data the job reads, so one set of
rules fits the embedded default, NSD and a lab's own dataset on a cluster."""

from __future__ import annotations

import math
from pathlib import Path

FLOAT32_BYTES = 4
LARGEST_BRAIN_SCALE = 1.15     # synth.fmri draws each side of a subject's brain from 0.85-1.15 x brain_grid


def synthetic_bold_mb(world_cfg: dict) -> float:
    """Size (MB, float32) of a synthetic subject's BOLD runs, from the ``data.synthetic`` settings:
    an upper bound, as each subject's brain is up to 15% larger than ``brain_grid`` per side."""
    n_trials = world_cfg["n_train_stimuli"] + world_cfg["n_test_stimuli"] * world_cfg["test_repeats"]
    n_runs = math.ceil(n_trials / world_cfg["trials_per_run"])
    seconds = n_trials * world_cfg["soa"] + n_runs * (world_cfg["lead_in"] + world_cfg["lead_out"])
    voxels = math.prod(max(6, round(side * LARGEST_BRAIN_SCALE)) for side in world_cfg["brain_grid"])
    return seconds / world_cfg["tr"] * voxels * FLOAT32_BYTES / 1e6


def folder_mb(folder: str | Path) -> float:
    """Total size (MB) of the files under a folder; 0 when it does not exist yet."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0.0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def memory_mb(base_mb: int, data_mb: float, copies: float) -> int:
    """``base_mb`` (interpreter, libraries) plus ``copies`` in-memory copies of the data, rounded up
    to 100 MB."""
    return int(math.ceil((base_mb + copies * data_mb) / 100.0) * 100)


def training_minutes(n_items: int, epochs: int, seconds_per_item_epoch: float, floor_minutes: int) -> int:
    """Runtime limit (minutes) of a training job: three times its cost on one CPU core as measured
    on the embedded default (seconds per training item per epoch), never under ``floor_minutes``.
    Larger worlds or more epochs get proportionally more time instead of hitting the limit."""
    return max(floor_minutes, int(math.ceil(3 * n_items * epochs * seconds_per_item_epoch / 60)))
