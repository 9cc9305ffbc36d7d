"""Synthetic fMRI subjects: anatomy, voxel tuning, BOLD runs in BIDS, and their ground truth.

Each subject has its own brain grid and mask, an atlas with an early visual ROI (voxels with
retinotopic receptive fields on the low-level feature maps, laid out by position in the ROI)
and a higher visual ROI (voxels that mix the shared semantic latent through a spatially smooth,
subject-specific map), and its own noise level. BOLD is the trial responses convolved with
nilearn's HRF (or, optionally, a per-voxel double-gamma HRF of varying delay), scaled to percent
signal change, plus cosine/polynomial drift, head-motion artefacts, AR(1) noise and optionally
noise shared across voxels. The noise-free responses are saved beside the data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nilearn.glm.first_level import make_first_level_design_matrix
from scipy.ndimage import gaussian_filter
from scipy.signal import lfilter

from neurorecon.artifacts import atomic_path, write_json_atomic, write_text_atomic
from neurorecon.preprocess.hrf import double_gamma_hrf, hrf_regressors
from neurorecon.synth.world import World

TASK = "images"
ROI_LABELS = {0: "other", 1: "EVC", 2: "HVC"}
VOXEL_SIZE_MM = 2.0
MOTION_COLUMNS = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
SHARED_NOISE_COMPONENTS = 3
HEAD_RADIUS_MM = 50.0  # Power et al. (2012): rotations to mm on a 50 mm sphere


@dataclass
class Anatomy:
    """A subject's voxel grid, brain mask and ROI atlas."""

    affine: np.ndarray
    mask: np.ndarray   # bool (X, Y, Z)
    atlas: np.ndarray  # int16 (X, Y, Z), ROI_LABELS keys

    @property
    def roi(self) -> np.ndarray:
        """ROI label of each in-mask voxel, in mask (C) order."""
        return self.atlas[self.mask]


def subject_labels(n_subjects: int) -> list[str]:
    """BIDS subject labels: 01, 02, ..."""
    return [f"{i + 1:02d}" for i in range(n_subjects)]


def subject_rng(seed: int, subject_index: int) -> np.random.Generator:
    return np.random.default_rng([seed, 1, subject_index])


def make_anatomy(base_grid: list[int], rng: np.random.Generator) -> Anatomy:
    """An ellipsoid brain with a posterior early visual band and a higher visual band in front of it.

    Grid size varies by subject (about +-15%), so voxel counts differ.
    """
    shape = tuple(max(6, int(round(side * rng.uniform(0.85, 1.15)))) for side in base_grid)
    centre = (np.asarray(shape) - 1) / 2
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), axis=-1)
    rel = (grid - centre) / (np.asarray(shape) / 2)
    mask = (rel ** 2).sum(-1) < 1.0
    posterior = rel[..., 1] + 0.15 * rel[..., 2] * rng.uniform(-1, 1)  # tilted boundaries
    atlas = np.zeros(shape, dtype=np.int16)
    evc_edge = rng.uniform(-0.45, -0.3)
    hvc_edge = evc_edge + rng.uniform(0.35, 0.5)
    atlas[mask & (posterior < evc_edge)] = 1
    atlas[mask & (posterior >= evc_edge) & (posterior < hvc_edge)] = 2
    affine = np.diag([VOXEL_SIZE_MM] * 3 + [1.0])
    affine[:3, 3] = -centre * VOXEL_SIZE_MM
    return Anatomy(affine=affine, mask=mask, atlas=atlas)


def _zscore_columns(values: np.ndarray) -> np.ndarray:
    return (values - values.mean(0)) / (values.std(0) + 1e-12)


def stimulus_responses(world: World, anatomy: Anatomy, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Noise-free response of every in-mask voxel to every stimulus, unit variance per tuned voxel.

    Early visual voxels: a Gaussian receptive field on the opponent-colour maps, centred by the
    voxel's position in the ROI (retinotopy: the ROI's x and z axes map to the visual field,
    flipped at random per subject), linear colour weights plus a contrast-energy term.
    Higher visual voxels: a spatially smooth random mixing of the shared semantic latent.
    Voxels outside both ROIs do not respond.
    """
    voxels = np.argwhere(anatomy.mask)
    roi = anatomy.roi
    n_stim = len(world.stim_ids)
    responses = np.zeros((n_stim, len(voxels)))
    grid = world.lowlevel.shape[1]

    evc = roi == 1
    evc_xyz = voxels[evc].astype(float)
    span = evc_xyz.max(0) - evc_xyz.min(0) + 1e-9
    field = (evc_xyz - evc_xyz.min(0)) / span          # position in ROI, 0..1 per axis
    flips = rng.integers(0, 2, size=2)
    col = np.where(flips[0], 1 - field[:, 0], field[:, 0])
    row = np.where(flips[1], 1 - field[:, 2], field[:, 2])
    centres = np.stack([row, col], 1) * (grid - 1) + rng.normal(0, 0.4, (len(evc_xyz), 2))
    sigmas = rng.uniform(0.7, 1.6, len(evc_xyz))
    cells = np.stack(np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij"), -1).reshape(-1, 2)
    dist2 = ((cells[None] - centres[:, None]) ** 2).sum(-1)
    rf = np.exp(-dist2 / (2 * sigmas[:, None] ** 2))
    rf /= rf.sum(1, keepdims=True)                      # (n_evc, grid*grid)
    colour_weights = np.column_stack([np.ones(len(rf)), rng.normal(0, 0.6, (len(rf), 2))])
    maps = world.lowlevel.reshape(n_stim, grid * grid, 3)
    linear = np.einsum("sgc,vg,vc->sv", maps, rf, colour_weights)
    energy = np.abs(maps[..., 0]) @ rf.T
    evc_resp = _zscore_columns(linear) + 0.5 * _zscore_columns(energy)
    responses[:, evc] = _zscore_columns(evc_resp)

    hvc = roi == 2
    latent_dim = world.semantic.shape[1]
    smooth_maps = np.stack([
        gaussian_filter(rng.standard_normal(anatomy.mask.shape), sigma=1.2) for _ in range(latent_dim)
    ], axis=-1)
    mixing = smooth_maps[anatomy.mask][hvc]
    mixing += 0.5 * mixing.std() * rng.standard_normal(mixing.shape)
    responses[:, hvc] = _zscore_columns(world.semantic @ mixing.T)
    truth = {"evc_rf_centres": centres, "evc_rf_sigmas": sigmas, "evc_colour_weights": colour_weights,
             "hvc_mixing": mixing}
    return responses, truth


def schedule_trials(world: World, cfg: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Trial order for one subject: train stimuli once, test stimuli ``test_repeats`` times, with the
    repeats of a test stimulus spread over different runs (as NSD does)."""
    train = [s for s, split in zip(world.stim_ids, world.split) if split == "train"]
    test = [s for s, split in zip(world.stim_ids, world.split) if split == "test"]
    repeats = cfg["test_repeats"]
    n_runs = max(1, int(np.ceil((len(train) + len(test) * repeats) / cfg["trials_per_run"])))
    runs: list[list[str]] = [[] for _ in range(n_runs)]
    for i, stim in enumerate(rng.permutation(train)):
        runs[i % n_runs].append(stim)
    stride = max(1, n_runs // repeats)
    for j, stim in enumerate(rng.permutation(test)):
        for repeat in range(repeats):
            runs[(j + repeat * stride) % n_runs].append(stim)
    split_of = dict(zip(world.stim_ids, world.split))
    rows = []
    for run_index, stims in enumerate(runs, start=1):
        for stim in rng.permutation(stims):
            rows.append({"run": run_index, "stim_id": str(stim), "split": split_of[str(stim)]})
    return pd.DataFrame(rows)


def run_events(trials: pd.DataFrame, cfg: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Onsets for one run's trials: a lead-in, then one trial every ``soa`` seconds, jittered."""
    n = len(trials)
    jitter = rng.uniform(-cfg["soa_jitter"], cfg["soa_jitter"], n)
    onsets = cfg["lead_in"] + np.arange(n) * cfg["soa"] + jitter
    return pd.DataFrame({
        "onset": np.round(onsets, 3),
        "duration": float(cfg["stimulus_duration"]),
        "trial_type": trials["split"].to_numpy(),
        "stim_file": [f"stimuli/{s}.png" for s in trials["stim_id"]],
        "stim_id": trials["stim_id"].to_numpy(),
    })


def trial_regressors(events: pd.DataFrame, frame_times: np.ndarray, hrf_model: str = "glover") -> np.ndarray:
    """One HRF-convolved regressor per trial (nilearn's design matrix, drift left out)."""
    per_trial = events[["onset", "duration"]].copy()
    per_trial["trial_type"] = [f"t{i:04d}" for i in range(len(events))]
    design = make_first_level_design_matrix(frame_times, per_trial, hrf_model=hrf_model, drift_model=None)
    return design[per_trial["trial_type"]].to_numpy()


def motion_trace(n_scans: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Six rigid-body parameters (mm, rad) as slow random walks with a few small jerks."""
    steps = rng.normal(0, 1, (n_scans, 6)) * np.array([0.02, 0.02, 0.03, 4e-4, 4e-4, 4e-4])
    jerks = rng.random(n_scans) < 0.01
    steps[jerks] *= 8
    return scale * np.cumsum(steps, axis=0)


def framewise_displacement(motion: np.ndarray) -> np.ndarray:
    """Power et al. (2012) framewise displacement, as fMRIPrep reports it (first frame NaN)."""
    delta = np.abs(np.diff(motion, axis=0))
    fd = delta[:, :3].sum(1) + HEAD_RADIUS_MM * delta[:, 3:].sum(1)
    return np.concatenate([[np.nan], fd])


@dataclass
class VoxelPhysiology:
    """What the optional settings add per voxel: its HRF delay and its loadings on shared noise."""

    hrf_delay: np.ndarray | None      # seconds, per voxel (None: glover for all)
    noise_loadings: np.ndarray | None  # (components, voxels) in % of baseline (None: no shared noise)
    rng: np.random.Generator           # for the shared noise time courses, apart from the world's stream

    @classmethod
    def draw(cls, cfg: dict, n_vox: int, seed: int, subject_index: int) -> "VoxelPhysiology":
        # a separate stream, so that the default world (both settings 0) is unchanged by their existence
        rng = np.random.default_rng([seed, 2, subject_index])
        delay = None
        if cfg["hrf_delay_sd"] > 0:
            delay = np.round(np.clip(rng.normal(6.0, cfg["hrf_delay_sd"], n_vox), 4.0, 8.0), 1)
        loadings = None
        if cfg["structured_noise_pct"] > 0:
            loadings = rng.normal(0, cfg["structured_noise_pct"] / np.sqrt(SHARED_NOISE_COMPONENTS),
                                  (SHARED_NOISE_COMPONENTS, n_vox))
        return cls(delay, loadings, rng)

    def signal(self, events: pd.DataFrame, frame_times: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
        """The trials' responses convolved with each voxel's HRF."""
        if self.hrf_delay is None:
            return trial_regressors(events, frame_times) @ amplitudes
        signal = np.empty((len(frame_times), amplitudes.shape[1]))
        onsets, durations = events["onset"].to_numpy(float), events["duration"].to_numpy(float)
        for delay in np.unique(self.hrf_delay):
            voxels = self.hrf_delay == delay
            regressors = hrf_regressors(onsets, durations, frame_times, double_gamma_hrf(delay))
            signal[:, voxels] = regressors @ amplitudes[:, voxels]
        return signal

    def shared_noise(self, n_scans: int) -> np.ndarray:
        """Slow AR(1) time courses (unit SD) mixed into the voxels by their loadings."""
        if self.noise_loadings is None:
            return 0.0
        courses = lfilter([1.0], [1.0, -0.8], self.rng.normal(0, 0.6, (n_scans, SHARED_NOISE_COMPONENTS)), axis=0)
        return courses @ self.noise_loadings


def ar1_noise(shape: tuple[int, int], sd: float, coef: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary AR(1) noise along the first axis (scans) with standard deviation ``sd``."""
    return lfilter([1.0], [1.0, -coef], rng.normal(0, sd * np.sqrt(1 - coef ** 2), shape), axis=0)


def simulate_run(
    events: pd.DataFrame, amplitudes: np.ndarray, baseline: np.ndarray, noise_pct: float,
    cfg: dict, rng: np.random.Generator, physiology: VoxelPhysiology,
) -> tuple[np.ndarray, np.ndarray]:
    """BOLD (scans x voxels) for one run and its motion parameters.

    ``amplitudes`` (trials x voxels) are in percent signal change; noise, drift and motion
    artefacts are percentages of each voxel's ``baseline`` too.
    """
    duration = float(events["onset"].max() + events["duration"].max() + cfg["lead_out"])
    n_scans = int(np.ceil(duration / cfg["tr"]))
    frame_times = np.arange(n_scans) * cfg["tr"]
    n_vox = amplitudes.shape[1]
    signal = physiology.signal(events, frame_times, amplitudes)

    t = np.linspace(-1, 1, n_scans)[:, None]
    drift = cfg["drift_pct"] * (rng.normal(0, 1, n_vox) * t + 0.5 * rng.normal(0, 1, n_vox) * (t ** 2 - 1 / 3)
                                + 0.5 * rng.normal(0, 1, n_vox) * np.cos(np.pi * (t + 1)))
    motion = motion_trace(n_scans, cfg["motion_scale"], rng)
    motion_mm = motion.copy()
    motion_mm[:, 3:] *= HEAD_RADIUS_MM
    artefact = motion_mm @ rng.normal(0, cfg["motion_pct_per_mm"], (6, n_vox))
    noise = ar1_noise((n_scans, n_vox), noise_pct, cfg["ar_coef"], rng) + physiology.shared_noise(n_scans)
    bold = baseline * (1 + (signal + drift + artefact + noise) / 100)
    return bold.astype(np.float32), motion


def _to_volume(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Scatter (scans x voxels) back into (X, Y, Z, scans), zero outside the mask."""
    volume = np.zeros(mask.shape + (values.shape[0],), dtype=np.float32)
    volume[mask] = values.T
    return volume


def _save_nifti(data: np.ndarray, affine: np.ndarray, path: Path, tr: float | None = None) -> None:
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm", "sec")
    if tr is not None:
        image.header.set_zooms(image.header.get_zooms()[:3] + (tr,))
    with atomic_path(path) as tmp:
        nib.save(image, tmp.with_suffix(".nii.gz"))
        tmp.with_suffix(".nii.gz").replace(tmp)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)


def subject_noise_pct(cfg: dict, subject_index: int) -> float:
    """Per-subject noise level (percent of baseline), spread linearly over ``noise_pct``'s range."""
    low, high = cfg["noise_pct"]
    if cfg["n_subjects"] == 1:
        return float(low)
    return float(low + (high - low) * subject_index / (cfg["n_subjects"] - 1))


def simulate_subject(world: World, cfg: dict, subject_index: int, bids_root: Path) -> dict[str, Path]:
    """Write one subject's BOLD runs, events, confounds, mask, atlas and ground truth into a BIDS tree."""
    rng = subject_rng(cfg["seed"], subject_index)
    label = subject_labels(cfg["n_subjects"])[subject_index]
    anatomy = make_anatomy(cfg["brain_grid"], rng)
    stim_resp, tuning = stimulus_responses(world, anatomy, rng)
    n_vox = stim_resp.shape[1]
    tuned = anatomy.roi > 0
    gain = np.where(tuned, cfg["signal_pct"] * rng.uniform(0.6, 1.4, n_vox), 0.0)
    baseline = rng.uniform(800, 1200, n_vox) * np.exp(gaussian_filter(rng.normal(0, 1, anatomy.mask.shape), 2)[anatomy.mask] * 0.1)
    noise_pct = subject_noise_pct(cfg, subject_index)
    physiology = VoxelPhysiology.draw(cfg, n_vox, cfg["seed"], subject_index)
    stim_index = {s: i for i, s in enumerate(world.stim_ids)}

    func = bids_root / f"sub-{label}" / "func"
    deriv = bids_root / "derivatives" / "fmriprep" / f"sub-{label}"
    truth_dir = bids_root / "derivatives" / "groundtruth" / f"sub-{label}"
    for folder in (func, deriv / "func", deriv / "anat", truth_dir):
        folder.mkdir(parents=True, exist_ok=True)
    prefix = f"sub-{label}_task-{TASK}"

    schedule = schedule_trials(world, cfg, rng)
    trial_rows, trial_amps = [], []
    for run, trials in schedule.groupby("run", sort=True):
        events = run_events(trials.reset_index(drop=True), cfg, rng)
        stim_rows = np.array([stim_index[s] for s in events["stim_id"]])
        amps = (stim_resp[stim_rows] + cfg["trial_noise"] * rng.standard_normal((len(events), n_vox))) * gain
        bold, motion = simulate_run(events, amps, baseline, noise_pct, cfg, rng, physiology)
        run_prefix = f"{prefix}_run-{run:02d}"
        _save_nifti(_to_volume(bold, anatomy.mask), anatomy.affine, func / f"{run_prefix}_bold.nii.gz", tr=cfg["tr"])
        write_json_atomic(func / f"{run_prefix}_bold.json", {"RepetitionTime": cfg["tr"], "TaskName": TASK})
        write_text_atomic(func / f"{run_prefix}_events.tsv", events.to_csv(sep="\t", index=False, float_format="%.3f"))
        confounds = pd.DataFrame(motion, columns=MOTION_COLUMNS)
        confounds["framewise_displacement"] = framewise_displacement(motion)
        write_text_atomic(deriv / "func" / f"{run_prefix}_desc-confounds_timeseries.tsv",
                          confounds.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6f"))
        trial_rows.append(events.assign(run=run)[["run", "onset", "stim_id", "trial_type"]])
        trial_amps.append(amps)

    mask_path = deriv / "anat" / f"sub-{label}_desc-brain_mask.nii.gz"
    atlas_path = deriv / "anat" / f"sub-{label}_desc-visual_dseg.nii.gz"
    _save_nifti(anatomy.mask.astype(np.uint8), anatomy.affine, mask_path)
    _save_nifti(anatomy.atlas, anatomy.affine, atlas_path)
    write_text_atomic(deriv / "anat" / f"sub-{label}_desc-visual_dseg.tsv",
                      "index\tname\n" + "".join(f"{k}\t{v}\n" for k, v in ROI_LABELS.items()))

    trials = pd.concat(trial_rows, ignore_index=True)
    write_text_atomic(truth_dir / f"sub-{label}_trials.tsv", trials.to_csv(sep="\t", index=False, float_format="%.3f"))
    _save_npz(
        truth_dir / f"sub-{label}_groundtruth.npz",
        stim_ids=np.asarray(world.stim_ids),
        stimulus_response_pct=(stim_resp * gain).astype(np.float32),
        trial_response_pct=np.concatenate(trial_amps).astype(np.float32),
        noise_sd_pct=np.full(n_vox, noise_pct),
        baseline=baseline.astype(np.float32),
        roi=anatomy.roi,
        **({} if physiology.hrf_delay is None else {"hrf_delay_s": physiology.hrf_delay}),
        **{k: np.asarray(v) for k, v in tuning.items()},
    )
    write_json_atomic(truth_dir / f"sub-{label}_groundtruth.json", {
        "noise_pct": noise_pct, "ar_coef": cfg["ar_coef"], "trial_noise": cfg["trial_noise"],
        "signal_pct": cfg["signal_pct"], "n_voxels": int(n_vox),
        "n_voxels_per_roi": {ROI_LABELS[k]: int((anatomy.roi == k).sum()) for k in ROI_LABELS},
        "description": "stimulus_response_pct: noise-free response per stimulus (percent signal change), "
                       "voxels in brain-mask order; trial_response_pct adds trial-to-trial variability, "
                       "rows in the order of sub-<label>_trials.tsv.",
    })
    return {"mask": mask_path, "atlas": atlas_path, "truth": truth_dir}


def write_dataset_description(bids_root: Path, cfg: dict) -> None:
    """Top-level BIDS files for the synthetic raw dataset and its derivatives."""
    write_json_atomic(bids_root / "dataset_description.json", {
        "Name": "neurorecon synthetic world", "BIDSVersion": "1.9.0", "DatasetType": "raw",
        "GeneratedBy": [{"Name": "neurorecon.synth", "Description": json.dumps(cfg, sort_keys=True)}],
    })
    write_text_atomic(bids_root / "participants.tsv", "participant_id\n" + "".join(
        f"sub-{label}\n" for label in subject_labels(cfg["n_subjects"])))
    write_json_atomic(bids_root / f"task-{TASK}_events.json", {
        "trial_type": {"Description": "split of the stimulus: train (shown once) or test (shown test_repeats times)"},
        "stim_file": {"Description": "image shown, relative to the dataset's stimuli/ folder"},
        "stim_id": {"Description": "stimulus identifier, a row of stimuli/stimuli.tsv"},
    })
    for name, description in (("fmriprep", "confounds, brain masks and ROI atlases of the synthetic subjects"),
                              ("groundtruth", "noise-free responses and the generator's parameters")):
        write_json_atomic(bids_root / "derivatives" / name / "dataset_description.json", {
            "Name": name, "BIDSVersion": "1.9.0", "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "neurorecon.synth", "Description": description}],
        })
