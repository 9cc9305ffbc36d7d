"""Noise ceilings from the synthetic world's ground truth.

The ceiling of a decoding metric is its value when the decoder sees, instead of measured test
responses, their noise-free expectation: what averaging infinitely many repeats would give.
Measured responses are an affine function of the true ones per voxel (GLM estimate in percent
signal change, then z-scored per run), so we fit that map per voxel on the training trials and
apply it to the true test responses.
"""

from __future__ import annotations

import numpy as np


def calibrate_to_measured(true_train: np.ndarray, measured_train: np.ndarray, true_test: np.ndarray) -> np.ndarray:
    """Map noise-free responses into the measured responses' units, voxel by voxel.

    Fits ``measured = slope * true + offset`` per voxel by least squares on training rows
    (slope 0 where a voxel has no true signal) and applies it to ``true_test``.
    """
    true_mean = true_train.mean(axis=0)
    measured_mean = measured_train.mean(axis=0)
    centred = true_train - true_mean
    variance = (centred ** 2).sum(axis=0)
    covariance = (centred * (measured_train - measured_mean)).sum(axis=0)
    slope = np.divide(covariance, variance, out=np.zeros_like(variance), where=variance > 0)
    return measured_mean + slope * (true_test - true_mean)


def ncsnr(betas: np.ndarray, stim_ids) -> np.ndarray:
    """NSD's noise-ceiling SNR per voxel (Allen et al. 2022): betas z-scored per voxel, the noise SD
    the root mean over stimuli of the variance across their repeats (ddof 1), and
    ncsnr = sqrt(max(1 - noise_sd^2, 0)) / noise_sd. Only stimuli with two or more repeats count."""
    labels, inverse = np.unique(np.asarray(stim_ids).astype(str), return_inverse=True)
    sums = np.zeros((len(labels), betas.shape[1]))
    squares = np.zeros_like(sums)
    np.add.at(sums, inverse, betas)
    np.add.at(squares, inverse, betas.astype(np.float64) ** 2)
    return ncsnr_from_moments(sums.sum(axis=0), squares.sum(axis=0), len(betas), sums, squares,
                              np.bincount(inverse, minlength=len(labels)))


def ncsnr_from_moments(total_sum: np.ndarray, total_squares: np.ndarray, n_total: int, sums: np.ndarray,
                       squares: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """:func:`ncsnr` from running sums, for betas read a session at a time: the sums of all betas and
    of their squares per voxel over ``n_total`` trials, and per stimulus (rows of ``sums`` and
    ``squares``) over its ``counts`` repeats."""
    counts = np.asarray(counts)
    repeated = counts >= 2
    if not repeated.any():
        raise ValueError("ncsnr needs stimuli shown at least twice")
    mean = total_sum / n_total
    variance = total_squares / n_total - mean ** 2
    n = counts[repeated, None].astype(float)
    within = (squares[repeated] - sums[repeated] ** 2 / n) / (n - 1)
    noise = within.mean(axis=0) / np.where(variance > 0, variance, np.inf)   # in z-scored units
    with np.errstate(divide="ignore"):
        return np.sqrt(np.clip(1.0 - noise, 0.0, None)) / np.sqrt(noise)


def noise_ceiling_percent(snr: np.ndarray, n_averaged: float) -> np.ndarray:
    """NSD's noise ceiling (% of variance explainable) of responses averaged over ``n_averaged`` trials."""
    return 100.0 * snr ** 2 / (snr ** 2 + 1.0 / n_averaged)
