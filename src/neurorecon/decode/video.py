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
from neurorecon.decode.keyed import load_keyed, load_predictions, rows_of, save_keyed, save_predictions
from neurorecon.decode.ridge import RidgeDecoder, fit_ridge

FLOW_GRID = 4       # flow pooled on FLOW_GRID x FLOW_GRID cells
FLOW_SIDE = 32      # frames are resized to FLOW_SIDE x FLOW_SIDE for the flow, so that its window means the same at any size
BLURRY_SIDE = 8     # blurry video frames are BLURRY_SIDE x BLURRY_SIDE pixels
FPS = 3
TARGETS = ("keyframe", "blurry", "flow")
DIRECTIONS = 8


def keyframe_index(n_frames: int) -> int:
    """The middle frame (NeuroClips trains its keyframe decoder on a middle frame of the six)."""
    return n_frames // 2


def clip_flow(frames: np.ndarray, grid: int = FLOW_GRID) -> np.ndarray:
    """Optical flow of one clip (F, H, W, 3 uint8): OpenCV Farneback between consecutive grey frames
    (resized to FLOW_SIDE pixels a side, since Farneback's window is in pixels), averaged over the
    frame pairs and pooled to (grid, grid, 2) cells, in image sides per second (x to the right, y down)."""
    import cv2

    grey = [cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) for frame in frames]
    if grey[0].shape != (FLOW_SIDE, FLOW_SIDE):
        grey = [cv2.resize(image, (FLOW_SIDE, FLOW_SIDE), interpolation=cv2.INTER_AREA) for image in grey]
    flows = [cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=2, winsize=7, iterations=3,
                                          poly_n=5, poly_sigma=1.1, flags=0) for a, b in zip(grey[:-1], grey[1:])]
    flow = np.mean(flows, axis=0) * FPS / FLOW_SIDE
    cell = FLOW_SIDE // grid
    return flow.reshape(grid, cell, grid, cell, 2).mean(axis=(1, 3))


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


def decoded_start_clips(decoded: dict[str, np.ndarray]) -> np.ndarray:
    """The decoded blurry videos as uint8 clips (n, F, side, side, 3): where video generation starts."""
    values = decoded["blurry"]
    n_frames = values.shape[1] // (BLURRY_SIDE * BLURRY_SIDE * 3)
    return np.round(blurry_frames(values, n_frames) * 255).astype(np.uint8)


def flow_animated_clips(start_clips: np.ndarray, flows: np.ndarray, side: int = FLOW_SIDE) -> np.ndarray:
    """Clips made by moving each start clip's keyframe along its (decoded) flow field, the way the
    CVPR 2025 "Neural Representations of Dynamic Visual Stimuli" animates a frame with decoded
    flow: frame k is the keyframe (resized to ``side``) warped by the flow times (k - keyframe) / FPS.
    ``start_clips`` uint8 (n, F, h, w, 3), ``flows`` (n, grid * grid * 2) in image sides per second."""
    import cv2

    n, n_frames = start_clips.shape[:2]
    key = keyframe_index(n_frames)
    grid = int(np.sqrt(flows.shape[1] // 2))
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float32)
    out = np.empty((n, n_frames, side, side, 3), np.uint8)
    for i in range(n):
        frame = cv2.resize(np.ascontiguousarray(start_clips[i, key]), (side, side), interpolation=cv2.INTER_LINEAR)
        field = cv2.resize(flows[i].reshape(grid, grid, 2).astype(np.float32), (side, side),
                           interpolation=cv2.INTER_LINEAR) * side / FPS      # pixels per frame
        for k in range(n_frames):
            step = k - key
            out[i, k] = cv2.remap(frame, xs - step * field[..., 0], ys - step * field[..., 1], cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
    return out


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
    save_keyed(path, stim_ids, {kind: targets[kind] for kind in TARGETS}, n_frames=n_frames)


def load_video_targets(path: Path, stim_ids=None) -> dict[str, np.ndarray]:
    """The targets :func:`save_video_targets` wrote (rows of ``stim_ids`` in order, if given), checked
    against their manifest."""
    return load_keyed(path, TARGETS, stim_ids)


def save_test_frames(path: Path, stim_ids, frames: np.ndarray) -> None:
    """The test segments' frames (n, F, H, W, 3) uint8, for the report (which reads no torch files)."""
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, stim_ids=np.asarray([str(s) for s in stim_ids]), frames=frames)


def load_test_frames(path: Path, stim_ids) -> np.ndarray:
    """Frames of the test segments ``stim_ids``, checked against their manifest."""
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        return data["frames"][rows_of(data["stim_ids"], stim_ids)]


def save_video_predictions(path: Path, stim_ids, predicted: dict[str, np.ndarray],
                           ceiling: dict[str, np.ndarray] | None = None) -> None:
    """The test segments' decoded targets, and those decoded from noise-free samples where known."""
    save_predictions(path, stim_ids, predicted, ceiling)


def load_video_predictions(path: Path) -> tuple[list[str], dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """(stim_ids, predicted, ceiling predictions or None), checked against their manifest."""
    return load_predictions(path, TARGETS)
