"""Full-size files in the Natural Scenes Dataset's layout, for measuring ingestion at NSD scale.

NSD's 1.8 mm functional grid is 81 x 104 x 83 (about 700k voxels); a session holds 750 trials of
int16 betas (1.05 GB uncompressed), and a subject has up to 40 sessions. Nothing of that size fits
in a repository or a test, so this writes it on demand into a folder the caller owns (a temporary
one in benchmarks/nsd_scale.py): the experimental design with NSD's sizes and 1-based indices,
an nsdgeneral-like ROI of a chosen voxel count, and session files streamed volume by volume into
gzip, so writing never holds a session in memory. Sessions may share one file (hard links), since
what is measured is the reading, not the numbers.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy.io import savemat

from neurorecon.io import nsd

GRID_1PT8MM = (81, 104, 83)
N_IMAGES_73K, IMAGES_PER_SUBJECT, N_SHARED, N_SUBJECTS = 73000, 10000, 1000, 8
AFFINE_1PT8MM = np.diag([1.8, 1.8, 1.8, 1.0])


def write_expdesign(root: Path, n_sessions: int, seed: int = 0) -> None:
    """nsd_expdesign.mat with NSD's shapes: masterordering over the sessions' trials, subjectim
    (8 x 10000, the 1000 shared images first) and sharedix, all 1-based as in MATLAB."""
    rng = np.random.default_rng(seed)
    shared = np.sort(rng.choice(N_IMAGES_73K, N_SHARED, replace=False))
    others = np.setdiff1d(np.arange(N_IMAGES_73K), shared)
    subjectim = np.stack([np.concatenate([shared, rng.choice(others, IMAGES_PER_SUBJECT - N_SHARED, replace=False)])
                          for _ in range(N_SUBJECTS)])
    masterordering = rng.integers(0, IMAGES_PER_SUBJECT, n_sessions * nsd.TRIALS_PER_SESSION)
    path = Path(root) / nsd.EXPDESIGN
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {"masterordering": masterordering[None] + 1, "subjectim": subjectim + 1,
                   "sharedix": shared[None] + 1})


def ellipsoid_roi(grid: tuple[int, int, int], n_voxels: int) -> np.ndarray:
    """An ROI (-1 outside, 1 inside, as nsdgeneral) of about ``n_voxels``: a centred ellipsoid."""
    axes = [np.linspace(-1, 1, size) for size in grid]
    radius = np.sqrt(sum(a**2 for a in np.meshgrid(*axes, indexing="ij")))
    threshold = np.sort(radius.ravel())[min(n_voxels, radius.size) - 1]
    return np.where(radius <= threshold, 1, -1).astype(np.int16)


def write_session(path: Path, grid: tuple[int, int, int], seed: int, n_trials: int = nsd.TRIALS_PER_SESSION) -> None:
    """One session's betas (int16, x300 percent signal change) as .nii.gz, streamed one trial
    volume at a time (NIfTI stores x fastest, trials slowest)."""
    header = nib.Nifti1Header()
    header.set_data_shape((*grid, n_trials))
    header.set_data_dtype(np.int16)
    header.set_qform(AFFINE_1PT8MM, code=1)
    header.set_sform(AFFINE_1PT8MM, code=1)
    header.set_data_offset(352)  # single file: the 348-byte header and a 4-byte empty extension flag
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=1) as handle:
        header.write_to(handle)  # writes the extension flag too, so the data start at byte 352
        for _ in range(n_trials):
            handle.write(rng.normal(0, 300, grid).astype(np.int16).tobytes(order="F"))


def write_nsd_layout(root: Path, n_sessions: int, roi_voxels: int, grid: tuple[int, int, int] = GRID_1PT8MM,
                     subject: int = 1, share_sessions: bool = True, seed: int = 0) -> Path:
    """NSD's files for one subject: design, nsdgeneral ROI and ``n_sessions`` beta files (one
    written and hard-linked to the others when ``share_sessions``). Returns ``root``."""
    root = Path(root)
    write_expdesign(root, n_sessions, seed)
    roi_file = nsd.roi_path(root, subject)
    roi_file.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(ellipsoid_roi(grid, roi_voxels), AFFINE_1PT8MM), roi_file)
    first = nsd.betas_path(root, subject, 1)
    write_session(first, grid, seed)
    for session in range(2, n_sessions + 1):
        path = nsd.betas_path(root, subject, session)
        if share_sessions:
            os.link(first, path)
        else:
            write_session(path, grid, seed + session)
    return root
