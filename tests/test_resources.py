"""Cluster resources sized from the data: checked against the files the synthetic world writes."""

import nibabel as nib
import numpy as np

from neurorecon.resources import folder_mb, memory_mb, synthetic_bold_mb, training_minutes


def test_synthetic_bold_size_bounds_the_runs_the_world_writes(tiny_world_root, tiny_config):
    """An upper bound on every subject's BOLD, above it by at most the spread of brain sizes."""
    estimate = synthetic_bold_mb(tiny_config["data"]["synthetic"])
    for subject in ("01", "02", "03"):
        runs = sorted(tiny_world_root.glob(f"sub-{subject}/func/*_bold.nii.gz"))
        assert runs
        written_mb = sum(np.prod(nib.load(run).shape) * 4 for run in runs) / 1e6
        assert written_mb <= estimate <= (1.15 / 0.85) ** 3 * written_mb, subject


def test_folder_size_counts_every_file_and_a_missing_folder_is_empty(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.bin").write_bytes(b"\0" * 1_500_000)
    (tmp_path / "y.bin").write_bytes(b"\0" * 500_000)
    assert folder_mb(tmp_path) == 2.0
    assert folder_mb(tmp_path / "absent") == 0.0


def test_memory_adds_copies_of_the_data_and_rounds_up_to_100_mb():
    assert memory_mb(1500, 22.6, 10) == 1800
    assert memory_mb(1500, 0, 10) == 1500
    assert memory_mb(1500, 10_000, 8) == 81_500


def test_training_time_scales_with_items_and_epochs_above_a_floor():
    assert training_minutes(3000, 10, 0.012, 60) == 60          # the default: well inside the floor
    assert training_minutes(30_000, 20, 0.012, 60) == 360       # 20x the work: 3 x 120 minutes
