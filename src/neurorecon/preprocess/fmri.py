"""fMRI preprocessing: from BIDS BOLD runs to single-trial responses (trials x voxels).

Per run: mask the BOLD (nilearn ``NiftiMasker``), scale each voxel to percent signal change,
and fit a GLM whose design (nilearn ``make_first_level_design_matrix``) holds one HRF-convolved
regressor per trial, a cosine high-pass drift basis and the chosen fMRIPrep confounds. Nuisance
signals are thus removed inside the GLM rather than by cleaning BOLD alone, which would leave
them correlated with an uncleaned design. Trials are estimated all at once (LSA) or one at a
time against the sum of the others (LSS; Mumford et al. 2012). Betas are z-scored per run and
voxel, and repeats of a test stimulus are averaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn.glm.first_level import make_first_level_design_matrix, run_glm
from nilearn.maskers import NiftiMasker

from neurorecon.io.inputs import (
    InputDataError, check_finite_timeseries, check_same_grid, load_nifti, load_nifti_header, read_tsv,
)
from neurorecon.responses import Responses, response_rows

EVENT_COLUMNS = ("onset", "duration", "stim_id")


@dataclass(frozen=True)
class FmriRun:
    """The files of one BOLD run."""

    run: int
    bold: Path
    events: Path
    confounds: Path | None


@dataclass
class SubjectFiles:
    """Everything preprocessing reads for one subject."""

    runs: list[FmriRun]
    mask: Path
    atlas: Path | None
    atlas_labels: Path | None


def find_subject_files(bids_root: Path, subject: str, task: str, cfg: dict) -> SubjectFiles:
    """Locate a subject's runs, events, confounds, mask and atlas in a BIDS tree with fMRIPrep-style
    derivatives (``derivatives/<derivatives>/sub-<label>/{func,anat}``)."""
    bids_root = Path(bids_root)
    func = bids_root / f"sub-{subject}" / "func"
    deriv = bids_root / "derivatives" / cfg["derivatives"] / f"sub-{subject}"
    bolds = sorted(func.glob(f"sub-{subject}_task-{task}_run-*_bold.nii.gz"))
    if not bolds:
        raise InputDataError(func, f"no BOLD runs matching sub-{subject}_task-{task}_run-*_bold.nii.gz")
    runs = []
    for bold in bolds:
        prefix = bold.name[: -len("_bold.nii.gz")]
        run = int(prefix.split("_run-")[1].split("_")[0])
        confounds = deriv / "func" / f"{prefix}_desc-confounds_timeseries.tsv"
        if cfg["confounds"] and not confounds.exists():
            raise InputDataError(confounds, "confounds file not found, but preprocess.fmri.confounds lists columns")
        runs.append(FmriRun(run=run, bold=bold, events=func / f"{prefix}_events.tsv",
                            confounds=confounds if cfg["confounds"] else None))
    atlas = deriv / "anat" / f"sub-{subject}_desc-{cfg['atlas_desc']}_dseg.nii.gz"
    return SubjectFiles(
        runs=runs,
        mask=deriv / "anat" / f"sub-{subject}_desc-brain_mask.nii.gz",
        atlas=atlas if atlas.exists() else None,
        atlas_labels=atlas.with_name(atlas.name.replace(".nii.gz", ".tsv")) if atlas.exists() else None,
    )


def read_events(path: Path) -> pd.DataFrame:
    """A run's events with numeric onsets and durations and a stimulus id per trial."""
    events = read_tsv(path, required=EVENT_COLUMNS, numeric=("onset", "duration"))
    if len(events) == 0:
        raise InputDataError(path, "no trials; expected one row per stimulus presentation")
    events["stim_id"] = events["stim_id"].astype(str)
    return events


def read_confounds(path: Path, columns: list[str], n_scans: int) -> pd.DataFrame:
    """The requested fMRIPrep confound columns (leading n/a of derivative columns set to 0)."""
    table = read_tsv(path, required=columns)
    if len(table) != n_scans:
        raise InputDataError(path, f"{len(table)} rows but the BOLD run has {n_scans} volumes; expected one row per volume")
    return table[columns].astype(float).fillna(0.0)


def percent_signal_change(timeseries: np.ndarray) -> np.ndarray:
    """Scale each voxel's time series to percent change from its mean, as nilearn's GLM does."""
    mean = timeseries.mean(axis=0)
    mean[mean == 0] = 1.0
    return 100.0 * (timeseries / mean - 1.0)


def trial_design(frame_times: np.ndarray, events: pd.DataFrame, confounds: pd.DataFrame | None,
                 cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """(trial regressors, nuisance regressors) from nilearn's design matrix: one column per trial;
    cosine drift with the configured high-pass, a constant, and the confounds."""
    per_trial = events[["onset", "duration"]].copy()
    names = [f"trial{i:04d}" for i in range(len(events))]
    per_trial["trial_type"] = names
    design = make_first_level_design_matrix(
        frame_times, per_trial, hrf_model=cfg["hrf_model"], drift_model="cosine", high_pass=cfg["high_pass_hz"],
        add_regs=None if confounds is None else confounds.to_numpy(),
        add_reg_names=None if confounds is None else list(confounds.columns),
    )
    nuisance = design.drop(columns=names)
    return design[names].to_numpy(), nuisance.to_numpy()


def _glm_betas(timeseries: np.ndarray, design: np.ndarray, noise_model: str) -> np.ndarray:
    """All regressors' betas (regressors x voxels) from nilearn's mass-univariate GLM."""
    labels, results = run_glm(timeseries, design, noise_model=noise_model, n_jobs=1)
    betas = np.empty((design.shape[1], timeseries.shape[1]))
    for label, result in results.items():
        betas[:, labels == label] = result.theta
    return betas


def single_trial_betas(timeseries: np.ndarray, trials: np.ndarray, nuisance: np.ndarray,
                       method: str, noise_model: str) -> np.ndarray:
    """Per-trial response amplitudes (trials x voxels) by least squares all (LSA) or separate (LSS)."""
    n_trials = trials.shape[1]
    if method == "lsa":
        return _glm_betas(timeseries, np.column_stack([trials, nuisance]), noise_model)[:n_trials]
    if method == "lss":
        total = trials.sum(axis=1)
        betas = np.empty((n_trials, timeseries.shape[1]))
        for i in range(n_trials):
            design = np.column_stack([trials[:, i], total - trials[:, i], nuisance])
            betas[i] = _glm_betas(timeseries, design, noise_model)[0]
        return betas
    raise ValueError(f"unknown single-trial method {method!r}; expected 'lsa' or 'lss'")


def zscore_rows_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """z-score each column within each group of rows (per-run normalisation of betas)."""
    out = np.empty_like(values, dtype=np.float64)
    for group in np.unique(groups):
        rows = groups == group
        block = values[rows]
        sd = block.std(axis=0)
        sd[sd == 0] = 1.0
        out[rows] = (block - block.mean(axis=0)) / sd
    return out


def read_atlas(files: SubjectFiles, mask_img: nib.Nifti1Image) -> tuple[np.ndarray | None, dict[int, str]]:
    """ROI label of each in-mask voxel and the label names (or None when there is no atlas)."""
    if files.atlas is None:
        return None, {0: "brain"}
    atlas_img = load_nifti(files.atlas, ndim=3)
    check_same_grid(mask_img, files.mask, atlas_img, files.atlas)
    table = read_tsv(files.atlas_labels, required=("index", "name"), numeric=("index",))
    names = {int(i): str(n) for i, n in zip(table["index"], table["name"])}
    labels = np.asarray(atlas_img.dataobj).astype(int)[np.asarray(mask_img.dataobj) > 0]
    unknown = sorted(set(np.unique(labels)) - set(names))
    if unknown:
        raise InputDataError(files.atlas_labels, f"atlas values {unknown} have no row; expected every label named")
    return labels, names


def preprocess_subject(files: SubjectFiles, stimuli: pd.DataFrame, cfg: dict, progress=None) -> Responses:
    """Single-trial responses of one subject, the contract every decoder reads.

    ``stimuli`` maps ``stim_id`` to ``split`` (train/test); ``cfg`` is the ``preprocess.fmri``
    config section. ``progress`` wraps the run loop (e.g. ``tqdm``).
    """
    mask_img = load_nifti(files.mask, ndim=3)
    mask = np.asarray(mask_img.dataobj) > 0
    if not mask.any():
        raise InputDataError(files.mask, "brain mask is empty; expected some non-zero voxels")
    first_bold = files.runs[0].bold
    check_same_grid(load_nifti_header(first_bold), first_bold, mask_img, files.mask)
    masker = NiftiMasker(mask_img=nib.Nifti1Image(mask.astype(np.uint8), mask_img.affine)).fit()
    roi, roi_names = read_atlas(files, mask_img)
    split_of = dict(zip(stimuli["stim_id"].astype(str), stimuli["split"]))

    all_betas, all_trials = [], []
    for run in (progress or (lambda x: x))(files.runs):
        bold = load_nifti(run.bold, ndim=4)
        check_same_grid(bold, run.bold, mask_img, files.mask)
        # checked before masking: nilearn's masker silently replaces NaN with 0
        check_finite_timeseries(np.asarray(bold.dataobj)[mask].T, run.bold)
        timeseries = masker.transform(bold)
        tr = float(bold.header.get_zooms()[3]) if cfg["tr"] is None else float(cfg["tr"])
        if not tr > 0:
            raise InputDataError(run.bold, "no repetition time in the header (pixdim[4]); set preprocess.fmri.tr")
        events = read_events(run.events)
        unknown = sorted(set(events["stim_id"]) - set(split_of))
        if unknown:
            raise InputDataError(run.events, f"stim_id(s) {unknown[:5]} are not in the stimulus table")
        frame_times = np.arange(timeseries.shape[0]) * tr
        confounds = None if run.confounds is None else read_confounds(run.confounds, cfg["confounds"], len(frame_times))
        trials, nuisance = trial_design(frame_times, events, confounds, cfg)
        betas = single_trial_betas(percent_signal_change(timeseries), trials, nuisance, cfg["single_trial"], cfg["noise_model"])
        all_betas.append(betas)
        all_trials.append(pd.DataFrame({"stim_id": events["stim_id"], "run": run.run,
                                        "split": [split_of[s] for s in events["stim_id"]]}))
    betas = np.concatenate(all_betas)
    trials = pd.concat(all_trials, ignore_index=True)
    if cfg["zscore"] == "run":
        betas = zscore_rows_within(betas, trials["run"].to_numpy())
    values, table = response_rows(betas, trials, cfg["average_test_repeats"])
    return Responses(
        values=values.astype(np.float32), trials=table,
        roi=np.zeros(mask.sum(), int) if roi is None else roi, roi_names=roi_names,
        voxel_ijk=np.argwhere(mask),
    )


def preprocess_to_files(files: SubjectFiles, stimuli: pd.DataFrame, cfg: dict, responses_path: Path,
                        trials_path: Path, progress=None) -> Responses:
    """Preprocess a subject and write its responses; nothing is written unless every run succeeds."""
    responses = preprocess_subject(files, stimuli, cfg, progress=progress)
    responses.save(responses_path, trials_path)
    return responses
