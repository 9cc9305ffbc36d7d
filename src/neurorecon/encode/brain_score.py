"""Brain score of reconstructions: the encoder predicts the responses each reconstructed image would
evoke, and that pattern is correlated across an ROI's voxels with the responses measured to the image
the subject saw. Chance pairs each reconstruction with the other test images' responses; the
ceiling scores the seen images themselves through the same encoder."""

from __future__ import annotations

import numpy as np


def pattern_correlations(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """(n, n): correlation across voxels of predicted pattern i (rows) with measured pattern j (columns)."""
    a = predicted - predicted.mean(axis=1, keepdims=True)
    b = measured - measured.mean(axis=1, keepdims=True)
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def brain_score_rows(predicted: np.ndarray, seen_predicted: np.ndarray, measured: np.ndarray, baseline: np.ndarray,
                     roi: np.ndarray, roi_names: dict[int, str]) -> list[dict]:
    """Metric rows (metric, value, chance, ceiling, n) per ROI and over all voxels. Every pattern is
    taken relative to ``baseline`` (the voxels' mean training response), so the score reads what is
    specific to each image rather than the voxels' shared mean."""
    rows = []
    regions = [(name, roi == label) for label, name in roi_names.items() if (roi == label).any()]
    for name, members in [*regions, ("all", np.ones(len(roi), bool))]:
        measured_roi = measured[:, members] - baseline[members]
        scores = pattern_correlations(predicted[:, members] - baseline[members], measured_roi)
        ceiling = pattern_correlations(seen_predicted[:, members] - baseline[members], measured_roi)
        off_diagonal = ~np.eye(len(scores), dtype=bool)
        rows.append({"metric": "brain_score" if name == "all" else f"brain_score_{name}",
                     "value": float(np.diag(scores).mean()), "chance": float(scores[off_diagonal].mean()),
                     "ceiling": float(np.diag(ceiling).mean()), "n": int(len(scores))})
    return rows
