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
