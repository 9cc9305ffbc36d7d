"""Synthetic dynamic world: clips of the synthetic scenes in which the object moves, watched in
continuous runs the way the CC2017 movies were, written in the layout NeuroClips distributes.

A clip is a scene whose shape moves steadily in one of eight directions at one of two speeds for
``segments_per_clip`` 2-s segments (a shot of a few seconds, as in a movie); each segment is six
frames at 3 fps (CC2017 as NeuroClips resamples it) and one sample. Runs show the clips' segments
back to back, one per TR of 2 s; training runs are shown twice and test runs ``test_repeats`` times,
as in CC2017. A
subject's voxels are early visual (retinotopic receptive fields on the opponent-colour maps of the
frames), higher visual (the scene's semantic latent) and MT-like (von Mises tuning to the motion
direction, scaled by a per-voxel speed preference). BOLD is each segment's response convolved with
the canonical HRF over the run, plus AR(1) noise; like CC2017's preprocessed files, a segment's
sample is the BOLD two TRs after it starts, so the hemodynamic smear of its neighbours stays in it.

Written per dataset folder: ``subjNN_{train,test}_fmri.pt`` (segments, presentations, voxels)
float32 and ``GT_{train,test}_3fps.pt`` (segments, 6, 3, H, W) float32 in [0, 1], exactly as
NeuroClips' files (io/cc2017.py reads both), plus ``clips.tsv`` (stim_id, split, caption, motion)
and ground truth under ``derivatives/groundtruth/``: the noise-free samples and each voxel's tuning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.artifacts import atomic_path, write_json_atomic, write_text_atomic
from neurorecon.preprocess.hrf import double_gamma_hrf, hrf_regressors
from neurorecon.synth.fmri import ar1_noise
from neurorecon.synth.scenes import (
    Scene, draw_scene, lowlevel_features, retinotopic_weights, sample_scenes, semantic_features,
)
from neurorecon.synth.world import semantic_latent

FPS = 3
FRAMES = 6                 # per 2-s segment, as NeuroClips' 3-fps CC2017 files
TR = 2.0                   # one segment per TR
SAMPLE_LAG_TRS = 3         # a segment's sample is the BOLD this many TRs after its onset (near its HRF peak)
DIRECTION_NAMES = ("right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right")
SPEEDS = {"slow": 0.04, "fast": 0.08}  # image sides per second
SPEED_WORDS = {"slow": "slowly", "fast": "quickly"}
ROI_LABELS = {1: "EVC", 2: "HVC", 3: "MT"}


@dataclass(frozen=True)
class Clip:
    """A scene whose shape moves in one of eight directions (0 = right, counting clockwise on the
    screen, whose y axis points down) at one of two speeds."""

    scene: Scene
    direction: int
    speed: str
    segments: int = 3

    @property
    def velocity(self) -> np.ndarray:
        """(vx, vy) in image sides per second."""
        angle = self.direction * np.pi / 4
        return SPEEDS[self.speed] * np.array([np.cos(angle), np.sin(angle)])

    def offsets(self) -> np.ndarray:
        """The shape's displacement (x, y) at each frame of the clip, centred on the scene's place at mid-clip."""
        n = FRAMES * self.segments
        times = (np.arange(n) - (n - 1) / 2) / FPS
        return times[:, None] * self.velocity[None]

    @property
    def caption(self) -> str:
        return f"{self.scene.caption}, moving {DIRECTION_NAMES[self.direction]} {SPEED_WORDS[self.speed]}"


def sample_clips(n: int, segments: int, rng: np.random.Generator) -> list[Clip]:
    """``n`` clips of ``segments`` segments with shapes, colours, directions and speeds balanced."""
    scenes = sample_scenes(n, rng)
    directions = rng.permutation(np.resize(np.arange(len(DIRECTION_NAMES)), n))
    speeds = rng.permutation(np.resize(np.arange(len(SPEEDS)), n))
    return [Clip(scene, int(d), list(SPEEDS)[s], segments) for scene, d, s in zip(scenes, directions, speeds)]


def draw_clip(clip: Clip, resolution: int) -> np.ndarray:
    """The clip's frames by segment, (segments, FRAMES, H, W, 3) uint8."""
    frames = np.stack([draw_scene(clip.scene, resolution, tuple(offset)) for offset in clip.offsets()])
    return frames.reshape(clip.segments, FRAMES, *frames.shape[1:])


def motion_responses(clips: list[Clip], preferred: np.ndarray, speed_exponent: np.ndarray, kappa: float = 2.0) -> np.ndarray:
    """MT-like responses (clips x voxels): von Mises tuning to direction around each voxel's
    preferred angle, times (speed / fast speed) to the voxel's speed exponent."""
    angles = np.array([clip.direction * np.pi / 4 for clip in clips])
    speeds = np.array([SPEEDS[clip.speed] / SPEEDS["fast"] for clip in clips])
    tuning = np.exp(kappa * (np.cos(angles[:, None] - preferred[None]) - 1.0))
    return tuning * speeds[:, None] ** speed_exponent[None]


def zscore_columns(values: np.ndarray) -> np.ndarray:
    """Each column to zero mean and unit variance (constant columns to zero)."""
    return (values - values.mean(0)) / np.where(values.std(0) > 0, values.std(0), 1.0)


def segment_responses(frames: np.ndarray, clips: list[Clip], cfg: dict, rng: np.random.Generator):
    """Noise-free responses (segments x voxels, percent signal change), each voxel's ROI label and tuning.

    ``frames`` are the segments' frames (segments, FRAMES, H, W, 3) and ``clips`` the clip of each
    segment; ``cfg`` the video world's section.
    """
    n_evc, n_hvc, n_mt = cfg["voxels"]["evc"], cfg["voxels"]["hvc"], cfg["voxels"]["mt"]
    features = lowlevel_features(frames.reshape(-1, *frames.shape[2:])).reshape(len(clips), FRAMES, -1).mean(axis=1)
    evc = features @ retinotopic_weights(n_evc, int(np.sqrt(features.shape[1] // 3)), rng).T
    latent = semantic_latent(semantic_features([clip.scene for clip in clips]), cfg["latent_dim"], rng)
    hvc = latent @ rng.normal(0, 1, (cfg["latent_dim"], n_hvc))
    preferred = rng.uniform(0, 2 * np.pi, n_mt)
    speed_exponent = rng.uniform(0.0, 1.5, n_mt)
    mt = motion_responses(clips, preferred, speed_exponent)
    responses = np.concatenate([zscore_columns(evc), zscore_columns(hvc), zscore_columns(mt)], axis=1) * cfg["signal_pct"]
    roi = np.repeat([1, 2, 3], [n_evc, n_hvc, n_mt])
    return responses, roi, {"preferred_direction": preferred, "speed_exponent": speed_exponent, "semantic": latent}


def run_samples(responses: np.ndarray, noise_pct: float, ar_coef: float, rng: np.random.Generator):
    """One presentation of a run of segments: (noisy samples, noise-free samples), segments x voxels.

    The BOLD is the segments' responses convolved with the canonical HRF at TR resolution; each
    segment's sample is the volume SAMPLE_LAG_TRS after its onset, as CC2017's files are aligned.
    """
    n_segments, n_voxels = responses.shape
    n_scans = n_segments + SAMPLE_LAG_TRS + 8
    design = hrf_regressors(np.arange(n_segments) * TR, np.full(n_segments, TR), np.arange(n_scans) * TR,
                            double_gamma_hrf(6.0))
    clean = design @ responses
    noise = ar1_noise((n_scans, n_voxels), noise_pct, ar_coef, rng)
    rows = np.arange(n_segments) + SAMPLE_LAG_TRS
    return (clean + noise)[rows], clean[rows]


def presentations(responses: np.ndarray, segments_per_run: int, repeats: int, noise_pct: float, ar_coef: float,
                  rng: np.random.Generator):
    """The split's samples, (segments, repeats, voxels): consecutive runs of ``segments_per_run``, each
    run shown ``repeats`` times with fresh noise; and the noise-free samples (segments, voxels)."""
    noisy = np.empty((len(responses), repeats, responses.shape[1]), dtype=np.float32)
    clean = np.empty(responses.shape, dtype=np.float32)
    for start in range(0, len(responses), segments_per_run):
        block = slice(start, start + segments_per_run)
        for repeat in range(repeats):
            noisy[block, repeat], clean[block] = run_samples(responses[block], noise_pct, ar_coef, rng)
    return noisy, clean


def segment_table(clips: list[Clip], split: np.ndarray) -> pd.DataFrame:
    """One row per segment, in presentation order: its id, clip, split, caption and motion."""
    rows = []
    for index, (clip, part) in enumerate(zip(clips, split)):
        for segment in range(clip.segments):
            rows.append({"stim_id": f"clip{index + 1:04d}s{segment + 1}", "clip": f"clip{index + 1:04d}",
                         "segment": segment + 1, "split": part, "caption": clip.caption, "direction": clip.direction,
                         "direction_name": DIRECTION_NAMES[clip.direction], "speed": clip.speed,
                         "vx": clip.velocity[0], "vy": clip.velocity[1]})
    return pd.DataFrame(rows)


def _save_tensor(path: Path, array: np.ndarray) -> None:
    import torch

    with atomic_path(path) as tmp:
        # through a handle: saved to a path, torch names the archive's folder after the (temporary) file,
        # and the same tensor would give different bytes on every run
        with open(tmp, "wb") as handle:
            torch.save(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)), handle)


def write_video_world(cfg: dict, root: Path) -> pd.DataFrame:
    """Draw the clips and simulate every subject into ``root`` in NeuroClips' CC2017 layout; returns
    the segment table (also written as ``clips.tsv``). Test clips come first, as in the image world."""
    rng = np.random.default_rng([cfg["seed"], 3])
    n_test, n_train = cfg["n_test_clips"], cfg["n_train_clips"]
    clips = sample_clips(n_test + n_train, cfg["segments_per_clip"], rng)
    table = segment_table(clips, np.array(["test"] * n_test + ["train"] * n_train))
    frames = np.concatenate([draw_clip(clip, cfg["image_size"]) for clip in clips])     # segments, F, H, W, 3
    segment_clips = [clip for clip in clips for _ in range(clip.segments)]
    split = table["split"].to_numpy()
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", split == "train"), ("test", split == "test")):
        _save_tensor(root / f"GT_{name}_3fps.pt", frames[rows].transpose(0, 1, 4, 2, 3) / 255.0)
    truth_dir = root / "derivatives" / "groundtruth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    for index in range(cfg["n_subjects"]):
        subject_rng = np.random.default_rng([cfg["seed"], 4, index])
        responses, roi, tuning = segment_responses(frames, segment_clips, cfg, subject_rng)
        low, high = cfg["noise_pct"]
        noise = low if cfg["n_subjects"] == 1 else low + (high - low) * index / (cfg["n_subjects"] - 1)
        label = f"subj{index + 1:02d}"
        clean = {}
        for name, rows, repeats in (("train", split == "train", 2), ("test", split == "test", cfg["test_repeats"])):
            noisy, clean[name] = presentations(responses[rows], cfg["segments_per_run"], repeats, noise, cfg["ar_coef"],
                                               subject_rng)
            _save_tensor(root / f"{label}_{name}_fmri.pt", noisy)
        with atomic_path(truth_dir / f"{label}_groundtruth.npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, train_clean=clean["train"], test_clean=clean["test"], roi=roi,
                                    responses_pct=responses.astype(np.float32), **tuning)
        write_json_atomic(truth_dir / f"{label}_groundtruth.json", {
            "noise_pct": noise, "ar_coef": cfg["ar_coef"], "signal_pct": cfg["signal_pct"],
            "roi_labels": ROI_LABELS, "sample_lag_trs": SAMPLE_LAG_TRS,
            "description": "train_clean/test_clean: the noise-free samples (segments x voxels) in the order of the "
                           "fMRI files; roi: 1 EVC, 2 HVC, 3 MT per voxel; preferred_direction (radians, MT voxels)",
        })
    write_text_atomic(root / "clips.tsv", table.to_csv(sep="\t", index=False, float_format="%.4f"))
    return table
