"""Datasets in PyMVPA's tutorial layout (one 4D BOLD, per-volume ``label run`` attributes, an FSL
motion file), turned into a BIDS tree the fMRI preprocessing reads like any other.

Each contiguous block of one non-rest label becomes one event (onset and duration from its
volumes), so a single-trial GLM over these events estimates one response per block.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from neurorecon.artifacts import write_json_atomic, write_text_atomic
from neurorecon.io.inputs import InputDataError, load_nifti

FSL_MOTION_COLUMNS = ["rot_x", "rot_y", "rot_z", "trans_x", "trans_y", "trans_z"]  # mcflirt .par order


def read_attributes(path: Path) -> pd.DataFrame:
    """Per-volume ``label run`` rows (PyMVPA attributes.txt)."""
    table = pd.read_csv(path, sep=r"\s+", header=None, names=["label", "run"])
    if table.isna().any().any():
        raise InputDataError(path, "expected two whitespace-separated columns (label, run) on every line")
    return table


def label_blocks(labels: np.ndarray, tr: float, rest: str = "rest") -> pd.DataFrame:
    """Contiguous runs of one non-rest label as events: onset, duration (s), label, first volume."""
    rows = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] != rest:
                rows.append({"onset": start * tr, "duration": (i - start) * tr, "label": labels[start], "volume": start})
            start = i
    return pd.DataFrame(rows)


def pymvpa_to_bids(bold_path: Path, mask_path: Path, attributes_path: Path, names_path: Path,
                   motion_path: Path | None, out_root: Path, subject: str = "1", task: str = "objects") -> pd.DataFrame:
    """Write a BIDS dataset (runs, events, fMRIPrep-style confounds when a motion file is given, and
    the mask) and return its stimulus table: one "stimulus" per block, with its category."""
    bold = load_nifti(bold_path, ndim=4)
    attributes = read_attributes(attributes_path)
    names = pd.read_csv(names_path, sep=r"\s+", header=None, names=["name", "run"])["name"].to_numpy()
    if not len(attributes) == len(names) == bold.shape[3]:
        raise InputDataError(attributes_path, f"{len(attributes)} attribute rows and {len(names)} label names for "
                                              f"{bold.shape[3]} volumes; expected one row per volume")
    motion = None
    if motion_path is not None:
        motion = pd.read_csv(motion_path, sep=r"\s+", header=None, names=FSL_MOTION_COLUMNS)
        if len(motion) != bold.shape[3]:
            raise InputDataError(motion_path, f"{len(motion)} motion rows for {bold.shape[3]} volumes; "
                                              "expected one row per volume")
    tr = float(bold.header.get_zooms()[3])
    data = np.asarray(bold.dataobj)
    func = out_root / f"sub-{subject}" / "func"
    deriv = out_root / "derivatives" / "fmriprep" / f"sub-{subject}"
    (deriv / "func").mkdir(parents=True, exist_ok=True)
    (deriv / "anat").mkdir(parents=True, exist_ok=True)
    func.mkdir(parents=True, exist_ok=True)
    stimuli = []
    for run in sorted(attributes["run"].unique()):
        volumes = np.flatnonzero(attributes["run"].to_numpy() == run)
        prefix = f"sub-{subject}_task-{task}_run-{run + 1:02d}"
        image = nib.Nifti1Image(data[..., volumes], bold.affine, bold.header)
        nib.save(image, func / f"{prefix}_bold.nii.gz")
        blocks = label_blocks(names[volumes], tr)
        blocks["stim_id"] = [f"run{run + 1:02d}_block{i + 1:02d}_{label}" for i, label in enumerate(blocks["label"])]
        events = blocks.assign(trial_type=blocks["label"])[["onset", "duration", "trial_type", "stim_id"]]
        write_text_atomic(func / f"{prefix}_events.tsv", events.to_csv(sep="\t", index=False))
        if motion is not None:
            write_text_atomic(deriv / "func" / f"{prefix}_desc-confounds_timeseries.tsv",
                              motion.iloc[volumes].to_csv(sep="\t", index=False))
        stimuli.append(blocks.assign(run=run + 1, split="train")[["stim_id", "label", "run", "split"]])
    mask = load_nifti(mask_path, ndim=3)
    nib.save(nib.Nifti1Image((np.asarray(mask.dataobj) > 0).astype(np.uint8), bold.affine),
             deriv / "anat" / f"sub-{subject}_desc-brain_mask.nii.gz")
    write_json_atomic(out_root / "dataset_description.json",
                      {"Name": "converted from the PyMVPA layout", "BIDSVersion": "1.9.0", "DatasetType": "raw"})
    return pd.concat(stimuli, ignore_index=True)
