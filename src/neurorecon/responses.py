"""The responses contract every preprocessing path writes and every decoder reads.

``responses.npz`` holds a (rows, features) matrix with a label per feature; ``trials.tsv`` holds
one row per response row: stim_id, split (train/test), runs, n_repeats (test repeats averaged).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class Responses:
    """Single-trial responses: rows are trials (test repeats averaged), columns features.

    fMRI features are voxels (``voxel_ijk`` their grid indices). EEG and sEEG features are
    channels x times, channel-major (``channels`` and ``times`` set, ``voxel_ijk`` empty), so
    :meth:`epochs` gives them back as (rows, channels, times).
    """

    values: np.ndarray          # (rows, features) float32
    trials: pd.DataFrame        # stim_id, split, runs, n_repeats per row
    roi: np.ndarray             # ROI (fMRI) or region (EEG/sEEG) label per feature (0 where unlabelled)
    roi_names: dict[int, str]
    voxel_ijk: np.ndarray       # (voxels, 3) grid indices; (0, 3) for sensor data
    channels: list[str] | None = None
    times: np.ndarray | None = None  # s from stimulus onset
    ncsnr: np.ndarray | None = None  # per feature, from the test repeats before they were averaged (NSD's noise ceiling SNR)
    affine: np.ndarray | None = None  # fMRI: the voxel grid's affine (voxel_ijk -> mm), where the data have one

    def save(self, responses_path: Path, trials_path: Path) -> None:
        from neurorecon.artifacts import atomic_path, write_text_atomic

        with atomic_path(responses_path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(
                    handle, responses=self.values.astype(np.float32, copy=False), roi=self.roi, voxel_ijk=self.voxel_ijk,
                    roi_index=np.asarray(list(self.roi_names)), roi_name=np.asarray(list(self.roi_names.values())),
                    **({} if self.channels is None else {"channels": np.asarray(self.channels), "times": self.times}),
                    **({} if self.ncsnr is None else {"ncsnr": self.ncsnr.astype(np.float32)}),
                    **({} if self.affine is None else {"affine": np.asarray(self.affine, dtype=np.float64)}),
                )
        write_text_atomic(trials_path, self.trials.to_csv(sep="\t", index=False))

    @classmethod
    def load(cls, responses_path: Path, trials_path: Path) -> "Responses":
        from neurorecon.artifacts import verify_artifact

        verify_artifact(responses_path)
        verify_artifact(trials_path)
        with np.load(responses_path, allow_pickle=False) as data:
            names = dict(zip(data["roi_index"].tolist(), data["roi_name"].astype(str).tolist()))
            values, roi, ijk = data["responses"], data["roi"], data["voxel_ijk"]
            channels = data["channels"].astype(str).tolist() if "channels" in data else None
            times = data["times"] if "times" in data else None
            snr = data["ncsnr"] if "ncsnr" in data else None
            affine = data["affine"] if "affine" in data else None
        trials = pd.read_csv(trials_path, sep="\t", dtype={"stim_id": str, "runs": str})
        return cls(values=values, trials=trials, roi=roi, roi_names=names, voxel_ijk=ijk, channels=channels, times=times,
                   ncsnr=snr, affine=affine)

    @property
    def is_sensor(self) -> bool:
        """Whether the features are channels x times (EEG, sEEG) rather than voxels."""
        return self.channels is not None

    def channel_regions(self) -> list[str]:
        """The region name of each channel (sensor responses label every time point of a channel alike)."""
        if not self.is_sensor:
            raise ValueError("these responses are voxels, not channels x times")
        return [self.roi_names[int(r)] for r in self.roi.reshape(len(self.channels), -1)[:, 0]]

    def epochs(self, values: np.ndarray | None = None) -> np.ndarray:
        """Sensor responses as (rows, channels, times); ``values`` defaults to all rows."""
        if not self.is_sensor:
            raise ValueError("these responses are voxels, not channels x times")
        values = self.values if values is None else values
        return values.reshape(len(values), len(self.channels), len(self.times))

    def columns(self, roi_names: list[str] | None = None) -> np.ndarray:
        """The boolean mask of the features in the named ROIs (all features if None)."""
        if not roi_names:
            return np.ones(self.values.shape[1], bool)
        unknown = sorted(set(roi_names) - set(self.roi_names.values()))
        if unknown:
            raise KeyError(f"unknown ROI(s) {unknown}; this subject has {sorted(self.roi_names.values())}")
        return np.isin(self.roi, [index for index, name in self.roi_names.items() if name in roi_names])

    def select(self, split: str, roi_names: list[str] | None = None) -> tuple[np.ndarray, pd.DataFrame]:
        """Rows of one split, restricted to voxels in the named ROIs (all voxels if None)."""
        rows = (self.trials["split"] == split).to_numpy()
        return self.values[rows][:, self.columns(roi_names)], self.trials[rows].reset_index(drop=True)


ROW_COLUMNS = ["stim_id", "split", "runs", "n_repeats"]


def single_trial_rows(trials: pd.DataFrame) -> pd.DataFrame:
    """Trial-table rows (the responses contract) for trials kept as they are."""
    return trials.assign(runs=trials["run"].astype(str), n_repeats=1)[ROW_COLUMNS]


def row_plan(trials: pd.DataFrame, average: bool = True, split: str = "test") -> tuple[pd.DataFrame, np.ndarray]:
    """The responses' trial table and, for each trial, the row its values go to: rows of the same
    stimulus within ``split`` share one row (averaged) when ``average``, other trials keep their own.
    Train rows come first in trial order, then the averaged stimuli sorted by stim_id."""
    if not average:
        return single_trial_rows(trials), np.arange(len(trials))
    keep = (trials["split"] != split).to_numpy()
    rows = np.empty(len(trials), dtype=int)
    rows[keep] = np.arange(keep.sum())
    table = [single_trial_rows(trials[keep])]
    repeated = trials[~keep].reset_index(drop=True)
    if len(repeated):
        grouped = repeated.groupby("stim_id", sort=True)
        rows[~keep] = keep.sum() + grouped.ngroup().to_numpy()
        table.append(pd.DataFrame({
            "stim_id": list(grouped.indices),
            "split": split,
            "runs": [";".join(str(r) for r in sorted(group["run"])) for _, group in grouped],
            "n_repeats": [len(index) for index in grouped.indices.values()],
        }))
    return pd.concat(table, ignore_index=True)[ROW_COLUMNS], rows


class RowAverager:
    """Sums trials into their planned rows (``row_plan``) block by block and divides at the end, so
    that a subject's trials never have to be held twice (NSD: tens of thousands of trials)."""

    def __init__(self, n_rows: int, n_features: int, dtype=np.float64):
        self.sums = np.zeros((n_rows, n_features), dtype=dtype)
        self.counts = np.zeros(n_rows)

    def add(self, values: np.ndarray, rows: np.ndarray) -> None:
        """Add ``values`` (trials x features) to ``rows`` (one per trial; repeats allowed)."""
        pending = np.arange(len(rows))
        while pending.size:  # a row named twice in one block is added in two passes
            _, first = np.unique(rows[pending], return_index=True)
            taken = pending[first]
            self.sums[rows[taken]] += values[taken]
            self.counts[rows[taken]] += 1
            pending = np.delete(pending, first)

    def result(self) -> np.ndarray:
        """The averaged rows (in place: the sums are divided by their counts)."""
        if not self.counts.all():
            raise ValueError(f"{int((self.counts == 0).sum())} rows received no trial")
        self.sums /= self.counts[:, None].astype(self.sums.dtype)
        return self.sums


def average_repeats(values: np.ndarray, trials: pd.DataFrame, split: str = "test") -> tuple[np.ndarray, pd.DataFrame]:
    """Average rows of the same stimulus within ``split``; other rows stay single trials."""
    table, rows = row_plan(trials, split=split)
    averager = RowAverager(len(table), values.shape[1], np.result_type(values.dtype, np.float32))
    averager.add(values, rows)
    return averager.result(), table


def response_rows(values: np.ndarray, trials: pd.DataFrame, average_test: bool) -> tuple[np.ndarray, pd.DataFrame]:
    """The responses' rows and trial table: test repeats averaged when asked, other trials as they are.
    ``trials`` needs stim_id, run and split."""
    if average_test:
        return average_repeats(values, trials)
    return values, single_trial_rows(trials)
