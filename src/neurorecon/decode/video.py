"""Video decoding targets and decoders: per 2-s segment, (a) the CLIP embedding of its keyframe
(NeuroClips' semantic reconstructor target), (b) a blurry low-resolution video (its perception
reconstructor's target: the frames area-averaged to a few pixels) and (c) its motion as a coarse
optical-flow field, computed with OpenCV's Farneback method on consecutive frames (the CVPR 2025
"Neural Representations of Dynamic Visual Stimuli" decodes flow; we pool it on a grid). Each is a
ridge decoder from the responses, saved like the image decoders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorecon.artifacts import atomic_path, verify_artifact
from neurorecon.decode.ridge import RidgeDecoder, fit_ridge

FLOW_GRID = 4       # flow pooled on FLOW_GRID x FLOW_GRID cells
BLURRY_SIDE = 8     # blurry video frames are BLURRY_SIDE x BLURRY_SIDE pixels
FPS = 3
TARGETS = ("keyframe", "blurry", "flow")
DIRECTIONS = 8


def keyframe_index(n_frames: int) -> int:
    """The middle frame (NeuroClips trains its keyframe decoder on a middle frame of the six)."""
    return n_frames // 2


def clip_flow(frames: np.ndarray, grid: int = FLOW_GRID) -> np.ndarray:
    """Optical flow of one clip (F, H, W, 3 uint8): OpenCV Farneback between consecutive grey frames,
    averaged over the frame pairs and pooled to (grid, grid, 2) cells, in image sides per second
    (x to the right, y down)."""
    import cv2

    grey = [cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) for frame in frames]
    height, width = grey[0].shape
    if height % grid or width % grid:
        raise ValueError(f"frame side {height}x{width} must be a multiple of the flow grid {grid}")
    flows = [cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=2, winsize=7, iterations=3,
                                          poly_n=5, poly_sigma=1.1, flags=0) for a, b in zip(grey[:-1], grey[1:])]
    flow = np.mean(flows, axis=0) * FPS / np.array([width, height])
    return flow.reshape(grid, height // grid, grid, width // grid, 2).mean(axis=(1, 3))


def flow_targets(frames: np.ndarray, grid: int = FLOW_GRID) -> np.ndarray:
    """Flattened flow fields of clips (n, F, H, W, 3) -> (n, grid * grid * 2)."""
    return np.stack([clip_flow(clip, grid).ravel() for clip in frames])


def blurry_targets(frames: np.ndarray, side: int = BLURRY_SIDE) -> np.ndarray:
    """Frames area-averaged to side x side, in [0, 1], flattened: (n, F * side * side * 3)."""
    n, n_frames, height, width, _ = frames.shape
    if height % side or width % side:
        raise ValueError(f"frame side {height}x{width} must be a multiple of the blurry side {side}")
    small = frames.reshape(n, n_frames, side, height // side, side, width // side, 3).mean(axis=(3, 5)) / 255.0
    return small.reshape(n, -1)


def blurry_frames(values: np.ndarray, n_frames: int, side: int = BLURRY_SIDE) -> np.ndarray:
    """Decoded blurry videos back to (n, F, side, side, 3) in [0, 1]."""
    return np.clip(values.reshape(len(values), n_frames, side, side, 3), 0.0, 1.0)


def mean_motion(flow: np.ndarray) -> np.ndarray:
    """Each clip's motion vector (n, 2): the flow averaged over the cells (static ones add nothing).
    Linear in the field, so the decoded field's mean is the decoded mean."""
    return flow.reshape(len(flow), -1, 2).mean(axis=1)


def motion_direction(flow: np.ndarray) -> np.ndarray:
    """The nearest of eight directions (0 = right, clockwise on screen) to each clip's motion."""
    vector = mean_motion(flow)
    angle = np.arctan2(vector[:, 1], vector[:, 0])
    return np.round(angle / (2 * np.pi / DIRECTIONS)).astype(int) % DIRECTIONS


def fit_video_decoders(responses: np.ndarray, targets: dict[str, np.ndarray], alphas, cv) -> dict[str, RidgeDecoder]:
    """One ridge decoder per target kind, each with its own penalty."""
    return {kind: fit_ridge(responses, targets[kind], alphas, cv) for kind in TARGETS}


def save_video_decoders(decoders: dict[str, RidgeDecoder], folder: Path, info: dict) -> None:
    for kind, decoder in decoders.items():
        decoder.save(Path(folder) / kind, {**info, "target": kind})


def save_video_targets(path: Path, stim_ids, targets: dict[str, np.ndarray], n_frames: int) -> None:
    """Every segment's targets (keyframe, blurry, flow) by stim_id."""
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, stim_ids=np.asarray([str(s) for s in stim_ids]), n_frames=n_frames,
                     **{kind: targets[kind].astype(np.float32) for kind in TARGETS})


def load_video_targets(path: Path, stim_ids=None) -> dict[str, np.ndarray]:
    """The targets :func:`save_video_targets` wrote (rows of ``stim_ids`` in order, if given), checked
    against their manifest."""
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        index = {str(s): i for i, s in enumerate(data["stim_ids"])}
        rows = slice(None) if stim_ids is None else [index[str(s)] for s in stim_ids]
        return {kind: data[kind][rows] for kind in TARGETS}


def save_test_frames(path: Path, stim_ids, frames: np.ndarray) -> None:
    """The test segments' frames (n, F, H, W, 3) uint8, for the report (which reads no torch files)."""
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, stim_ids=np.asarray([str(s) for s in stim_ids]), frames=frames)


def load_test_frames(path: Path, stim_ids) -> np.ndarray:
    """Frames of the test segments ``stim_ids``, checked against their manifest."""
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        index = {str(s): i for i, s in enumerate(data["stim_ids"])}
        return data["frames"][[index[str(s)] for s in stim_ids]]


def save_video_predictions(path: Path, stim_ids, predicted: dict[str, np.ndarray],
                           ceiling: dict[str, np.ndarray] | None = None) -> None:
    """The test segments' decoded targets, and those decoded from noise-free samples where known."""
    arrays = {**predicted, **{f"ceiling_{kind}": values for kind, values in (ceiling or {}).items()}}
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, stim_ids=np.asarray([str(s) for s in stim_ids]),
                     **{name: values.astype(np.float32) for name, values in arrays.items()})


def load_video_predictions(path: Path) -> tuple[list[str], dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """(stim_ids, predicted, ceiling predictions or None), checked against their manifest."""
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        ceiling = {kind: data[f"ceiling_{kind}"] for kind in TARGETS} if f"ceiling_{TARGETS[0]}" in data else None
        return [str(s) for s in data["stim_ids"]], {kind: data[kind] for kind in TARGETS}, ceiling
