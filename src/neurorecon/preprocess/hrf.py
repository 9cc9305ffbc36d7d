"""Double-gamma HRFs of glover's shape with any peak delay, and trial regressors built from them in
closed form: the HRF library of GLMsingle-style estimation and the per-voxel HRFs of the synthetic
worlds."""

from __future__ import annotations

import numpy as np
from scipy.stats import gamma

KERNEL_DT = 0.01       # seconds between samples of the HRF kernels
KERNEL_LENGTH = 32.0   # seconds, as nilearn's HRFs


def double_gamma_hrf(delay: float, dt: float = KERNEL_DT, length: float = KERNEL_LENGTH) -> np.ndarray:
    """A double-gamma HRF of glover's shape (dispersions 0.9, undershoot ratio 0.48, undershoot 6 s
    after ``delay``), sampled every ``dt`` s and scaled to unit area: a sustained stimulus reaches a
    plateau of 1, nilearn's convention, so betas of different library HRFs share one unit."""
    t = np.arange(0.0, length, dt)
    kernel = gamma.pdf(t, delay / 0.9, scale=0.9) - 0.48 * gamma.pdf(t, (delay + 6.0) / 0.9, scale=0.9)
    return kernel / (kernel.sum() * dt)


def hrf_regressors(onsets: np.ndarray, durations: np.ndarray, frame_times: np.ndarray, kernel: np.ndarray,
                   dt: float = KERNEL_DT) -> np.ndarray:
    """One regressor per trial (scans x trials): the trial's boxcar convolved with ``kernel`` at the
    frame times, exactly K(t - onset) - K(t - onset - duration) with K the kernel's running integral."""
    integral = np.concatenate([[0.0], np.cumsum(kernel) * dt])
    grid = np.arange(len(integral)) * dt
    lag = np.asarray(frame_times, float)[:, None] - np.asarray(onsets, float)[None]
    start = np.interp(lag, grid, integral, left=0.0, right=integral[-1])
    stop = np.interp(lag - np.asarray(durations, float)[None], grid, integral, left=0.0, right=integral[-1])
    return start - stop
