"""fMRI preprocessing: from BIDS BOLD runs to single-trial responses (trials x voxels).

Per run: mask the BOLD (the brain mask's voxels, in the mask's order), scale each voxel to percent signal change,
and fit a GLM whose design (nilearn ``make_first_level_design_matrix``) holds one HRF-convolved
regressor per trial, a cosine high-pass drift basis and the chosen fMRIPrep confounds. Nuisance
signals are thus removed inside the GLM rather than by cleaning BOLD alone, which would leave
them correlated with an uncleaned design. Trials are estimated all at once (LSA) or one at a
time against the sum of the others (LSS; Mumford et al. 2012). Betas are z-scored per run and
voxel, and repeats of a test stimulus are averaged. The GLMs of a run are solved together
(``neurorecon.preprocess.glm``), with the same estimates as nilearn's ``run_glm`` per design.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn.glm.first_level import make_first_level_design_matrix

from neurorecon.evaluate.ceiling import ncsnr
from neurorecon.io.inputs import (
    InputDataError, check_finite_timeseries, check_same_grid, load_nifti, load_nifti_header, read_tsv,
)
from neurorecon.preprocess.glm import single_trial_betas
from neurorecon.preprocess.glmsingle import GlmsingleResult, GlmsingleRun, GlmsingleSettings, glmsingle_betas
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
    negative = np.flatnonzero(events["duration"].to_numpy() < 0)
    if negative.size:
        raise InputDataError(path, f"row {negative[0] + 2} has a negative duration ({events['duration'].iloc[negative[0]]}); "
                                   "expected seconds >= 0")
    events["stim_id"] = events["stim_id"].astype(str)
    return events


def read_confounds(path: Path, columns: list[str], n_scans: int) -> pd.DataFrame:
    """The requested fMRIPrep confound columns (leading n/a of derivative columns set to 0)."""
    table = read_tsv(path, required=columns, numeric=columns, missing_allowed=True)
    if len(table) != n_scans:
        raise InputDataError(path, f"{len(table)} rows but the BOLD run has {n_scans} volumes; expected one row per volume")
    return table[columns].astype(float).fillna(0.0)


def percent_signal_change(timeseries: np.ndarray) -> np.ndarray:
    """Scale each voxel's time series to percent change from its mean, as nilearn's GLM does."""
    timeseries = np.asarray(timeseries, dtype=np.float64)
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


@dataclass
class RunDesign:
    """One run ready for the GLM: BOLD in percent signal change (scans x voxels) and its design."""

    run: FmriRun
    timeseries: np.ndarray
    trials: np.ndarray      # scans x trials, one HRF-convolved regressor per trial
    nuisance: np.ndarray    # scans x (drift, constant, confounds)
    events: pd.DataFrame
    frame_times: np.ndarray

    def for_glmsingle(self) -> GlmsingleRun:
        """The run as GLMsingle-style estimation reads it (it builds its own trial regressors)."""
        return GlmsingleRun(timeseries=self.timeseries, nuisance=self.nuisance, frame_times=self.frame_times,
                            onsets=self.events["onset"].to_numpy(float),
                            durations=self.events["duration"].to_numpy(float),
                            conditions=self.events["stim_id"].to_numpy(str))


class SubjectReader:
    """Reads a subject's mask, atlas and runs, checking each file before anything is computed."""

    def __init__(self, files: SubjectFiles, stimuli: pd.DataFrame, cfg: dict):
        self.files, self.cfg = files, cfg
        self.mask_img = load_nifti(files.mask, ndim=3)
        self.mask = np.asarray(self.mask_img.dataobj) > 0
        if not self.mask.any():
            raise InputDataError(files.mask, "brain mask is empty; expected some non-zero voxels")
        first_bold = files.runs[0].bold
        check_same_grid(load_nifti_header(first_bold), first_bold, self.mask_img, files.mask)
        self.split_of = dict(zip(stimuli["stim_id"].astype(str), stimuli["split"]))

    def run_design(self, run: FmriRun) -> RunDesign:
        """The masked, scaled BOLD of one run and its single-trial design."""
        cfg = self.cfg
        bold = load_nifti(run.bold, ndim=4)
        check_same_grid(bold, run.bold, self.mask_img, self.files.mask)
        # what nilearn's NiftiMasker gives without smoothing or scaling, minus its gc.collect() per call
        # (a third of the job's time) and its silent replacement of NaN by 0
        timeseries = np.asarray(bold.dataobj)[self.mask].T
        check_finite_timeseries(timeseries, run.bold)
        tr = float(bold.header.get_zooms()[3]) if cfg["tr"] is None else float(cfg["tr"])
        if not tr > 0:
            raise InputDataError(run.bold, "no repetition time in the header (pixdim[4]); set preprocess.fmri.tr")
        events = read_events(run.events)
        unknown = sorted(set(events["stim_id"]) - set(self.split_of))
        if unknown:
            raise InputDataError(run.events, f"stim_id(s) {unknown[:5]} are not in the stimulus table")
        frame_times = np.arange(timeseries.shape[0]) * tr
        late = np.flatnonzero((events["onset"].to_numpy() > frame_times[-1]) | (events["onset"].to_numpy() < -tr))
        if late.size:
            raise InputDataError(run.events, f"row {late[0] + 2} has onset {events['onset'].iloc[late[0]]} s, outside the "
                                             f"run (volumes from 0 to {frame_times[-1]:g} s at TR {tr:g} s); its trial "
                                             "would get no signal. Check the onsets' units (seconds) and the TR")
        confounds = None if run.confounds is None else read_confounds(run.confounds, cfg["confounds"], len(frame_times))
        trials, nuisance = trial_design(frame_times, events, confounds, cfg)
        return RunDesign(run, percent_signal_change(timeseries), trials, nuisance, events, frame_times)


def repeat_ncsnr(betas: np.ndarray, trials: pd.DataFrame) -> np.ndarray | None:
    """NSD's noise-ceiling SNR per voxel from the single-trial betas, z-scored over all trials, with
    the noise from the repeats of the test stimuli (those the ceiling is for), kept before they are
    averaged; None when no test stimulus repeats."""
    return ncsnr(betas, labels_for_test_repeats(trials)) if trials_repeat_a_test_stimulus(trials) else None


def trials_repeat_a_test_stimulus(trials: pd.DataFrame) -> bool:
    test = trials.loc[trials["split"] == "test", "stim_id"]
    return bool(len(test)) and test.value_counts().max() >= 2


def labels_for_test_repeats(trials: pd.DataFrame) -> np.ndarray:
    """Per trial, its stimulus for test trials and a label of its own for the others, so that only
    test repeats count as repeats."""
    test = (trials["split"] == "test").to_numpy()
    return np.where(test, trials["stim_id"].astype(str).to_numpy(), [f"trial-{k}" for k in range(len(trials))])


def preprocess_subject(files: SubjectFiles, stimuli: pd.DataFrame, cfg: dict, progress=None
                       ) -> tuple[Responses, GlmsingleResult | None]:
    """Single-trial responses of one subject, the contract every decoder reads, and (for
    ``method: glmsingle``) what GLMsingle's steps chose.

    ``stimuli`` maps ``stim_id`` to ``split`` (train/test); ``cfg`` is the ``preprocess.fmri``
    config section. ``progress(items, desc)`` wraps the long loops (e.g. ``tqdm``).
    """
    wrap = progress or (lambda items, desc=None: items)
    reader = SubjectReader(files, stimuli, cfg)
    roi, roi_names = read_atlas(files, reader.mask_img)
    all_betas, all_trials, glmsingle_runs = [], [], []
    for run in wrap(files.runs, "read runs" if cfg["method"] == "glmsingle" else "GLM"):
        design = reader.run_design(run)
        if cfg["method"] == "glmsingle":
            glmsingle_runs.append(design.for_glmsingle())
        else:
            all_betas.append(single_trial_betas(design.timeseries, design.trials, design.nuisance,
                                                cfg["single_trial"], cfg["noise_model"]))
        stim_ids = design.events["stim_id"]
        all_trials.append(pd.DataFrame({"stim_id": stim_ids, "run": run.run,
                                        "split": [reader.split_of[s] for s in stim_ids]}))
    result = None
    if cfg["method"] == "glmsingle":
        result = glmsingle_betas(glmsingle_runs, GlmsingleSettings.from_config(cfg["glmsingle"]), progress=wrap)
        betas = result.betas
    else:
        betas = np.concatenate(all_betas)
    trials = pd.concat(all_trials, ignore_index=True)
    if cfg["zscore"] == "run":
        betas = zscore_rows_within(betas, trials["run"].to_numpy())
    values, table = response_rows(betas, trials, cfg["average_test_repeats"])
    responses = Responses(
        values=values.astype(np.float32), trials=table,
        roi=np.zeros(reader.mask.sum(), int) if roi is None else roi, roi_names=roi_names,
        voxel_ijk=np.argwhere(reader.mask), ncsnr=repeat_ncsnr(betas, trials), affine=reader.mask_img.affine,
    )
    return responses, result


def benchmark_glm(files: SubjectFiles, stimuli: pd.DataFrame, cfg: dict, n_runs: int | None = None,
                  progress=None) -> pd.DataFrame:
    """Time the batched single-trial GLM against nilearn's run_glm per design on a subject's runs.

    One row per run and (method, noise model): trials, voxels, seconds of each, their ratio and the
    largest difference of the betas (absolute, and relative to the largest beta).
    """
    import time

    from neurorecon.preprocess.glm import METHODS, NOISE_MODELS, nilearn_single_trial_betas

    reader = SubjectReader(files, stimuli, cfg)
    rows = []
    for run in (progress or (lambda items, desc=None: items))(files.runs[:n_runs], "benchmark GLM"):
        design = reader.run_design(run)
        args = (design.timeseries, design.trials, design.nuisance)
        for method in METHODS:
            for noise_model in NOISE_MODELS:
                start = time.perf_counter()
                batched = single_trial_betas(*args, method, noise_model)
                middle = time.perf_counter()
                reference = nilearn_single_trial_betas(*args, method, noise_model)
                end = time.perf_counter()
                difference = np.abs(batched - reference).max()
                rows.append({"run": run.run, "method": method, "noise_model": noise_model,
                             "trials": design.trials.shape[1], "voxels": design.timeseries.shape[1],
                             "seconds_batched": middle - start, "seconds_nilearn": end - middle,
                             "speedup": (end - middle) / (middle - start),
                             "max_abs_diff": difference, "max_rel_diff": difference / np.abs(reference).max()})
    return pd.DataFrame(rows)


def preprocess_to_files(files: SubjectFiles, stimuli: pd.DataFrame, cfg: dict, responses_path: Path,
                        trials_path: Path, progress=None) -> tuple[Responses, GlmsingleResult | None]:
    """Preprocess a subject and write its responses; nothing is written unless every run succeeds."""
    responses, result = preprocess_subject(files, stimuli, cfg, progress=progress)
    responses.save(responses_path, trials_path)
    return responses, result
