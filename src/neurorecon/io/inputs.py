"""Reading user inputs with checks that fail early and say which file is wrong and how.

Every reader here raises :class:`InputDataError` naming the file, the field and what was
expected, instead of letting a malformed file surface as a traceback deep inside numpy.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Sequence

import nibabel as nib
import numpy as np
import pandas as pd


# what nibabel raises on a missing, truncated or non-NIfTI file
NIFTI_READ_ERRORS = (EOFError, OSError, zlib.error, gzip.BadGzipFile, ValueError, nib.filebasedimages.ImageFileError)


class InputDataError(ValueError):
    """An input file is missing, unreadable or inconsistent; the message says which and why."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def load_nifti(path: str | Path, ndim: int | Sequence[int] | None = None) -> nib.Nifti1Image:
    """Load a NIfTI image fully (so truncation shows now), checking its dimensionality."""
    path = Path(path)
    if not path.exists():
        raise InputDataError(path, "file not found")
    try:
        image = nib.load(path)
        data = np.asanyarray(image.dataobj)
    except NIFTI_READ_ERRORS as exc:
        raise InputDataError(path, f"cannot read as NIfTI ({exc}); the file may be truncated or corrupt") from exc
    if data.dtype.kind not in "biuf":
        raise InputDataError(path, f"voxel values are {data.dtype}; expected real numbers (integer or float)")
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim or ())
    if allowed and data.ndim not in allowed:
        raise InputDataError(path, f"expected a {' or '.join(f'{n}D' for n in allowed)} image, got shape {data.shape}")
    return nib.Nifti1Image(data, image.affine, image.header)


def load_nifti_header(path: str | Path) -> nib.Nifti1Image:
    """Open a NIfTI image without reading its data (for grid checks before the heavy work)."""
    path = Path(path)
    try:
        return nib.load(path)
    except NIFTI_READ_ERRORS as exc:  # FileNotFoundError is an OSError
        raise InputDataError(path, f"cannot read the NIfTI header ({exc})") from exc


def check_same_grid(reference: nib.Nifti1Image, reference_path: Path, other: nib.Nifti1Image, other_path: Path) -> None:
    """Raise if two images do not share a voxel grid (shape and affine)."""
    if reference.shape[:3] != other.shape[:3] or not np.allclose(reference.affine, other.affine, atol=1e-3):
        raise InputDataError(
            other_path,
            f"voxel grid {other.shape[:3]} with affine {np.round(other.affine, 3).tolist()} does not match "
            f"{reference_path.name} ({reference.shape[:3]}, affine {np.round(reference.affine, 3).tolist()}); "
            "masks and atlases must be in the BOLD space",
        )


def check_finite_timeseries(values: np.ndarray, path: Path) -> None:
    """Raise if a masked time series holds NaN or infinite values, saying where."""
    bad = ~np.isfinite(values)
    if bad.any():
        scans, voxels = np.nonzero(bad)
        raise InputDataError(
            path, f"{int(bad.sum())} non-finite values (NaN/inf) inside the brain mask, in {len(np.unique(voxels))} "
                  f"voxels; first at volume {int(scans[0])}; expected finite BOLD"
        )


def read_tsv(path: str | Path, required: Sequence[str] = (), numeric: Sequence[str] = (),
             missing_allowed: bool = False) -> pd.DataFrame:
    """Read a BIDS TSV (``n/a`` as missing), checking required columns and numeric ones (which may hold
    ``n/a`` only when ``missing_allowed``, as fMRIPrep's derivative confounds do in their first row)."""
    path = Path(path)
    if not path.exists():
        raise InputDataError(path, "file not found")
    try:
        table = pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(path, f"cannot parse as a tab-separated table ({exc})") from exc
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise InputDataError(path, f"missing column(s) {missing}; found {list(table.columns)}")
    return numeric_columns(table, path, numeric, missing_allowed)


def numeric_columns(table: pd.DataFrame, path: Path, columns: Sequence[str], missing_allowed: bool = False) -> pd.DataFrame:
    """Convert ``columns`` of a table read from ``path`` to numbers, refusing text and infinities (and
    missing values unless ``missing_allowed``) with the row that holds them."""
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & (table[column].notna() | (not missing_allowed)) | np.isinf(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            allowed = "" if missing_allowed else " with no missing values"
            raise InputDataError(path, f"column {column!r} must be numeric{allowed}; row {row + 2} "
                                       f"holds {table[column].iloc[row]!r}")
        table[column] = values
    return table
