"""What a job asks a scheduler for: memory that grows with the data the job reads, so one set of
rules fits the embedded default, NSD and a lab's own dataset on a cluster."""

from __future__ import annotations

import math
from pathlib import Path

FLOAT32_BYTES = 4


def synthetic_bold_mb(world_cfg: dict) -> float:
    """Size (MB, float32) of one synthetic subject's BOLD runs, from the ``data.synthetic`` settings."""
    n_trials = world_cfg["n_train_stimuli"] + world_cfg["n_test_stimuli"] * world_cfg["test_repeats"]
    n_runs = math.ceil(n_trials / world_cfg["trials_per_run"])
    seconds = n_trials * world_cfg["soa"] + n_runs * (world_cfg["lead_in"] + world_cfg["lead_out"])
    voxels = math.prod(world_cfg["brain_grid"])
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
