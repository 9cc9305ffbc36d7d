"""Brain score of reconstructions: the encoder predicts the responses each reconstructed image would
evoke, and that pattern is correlated across an ROI's voxels with the responses measured to the image
the subject saw. Chance pairs each reconstruction with the other test images' responses; the
ceiling scores the seen images themselves through the same encoder."""

from __future__ import annotations

import numpy as np

from neurorecon.evaluate.retrieval import matched_and_chance, pearson_matrix


def brain_score_rows(predicted: np.ndarray, seen_predicted: np.ndarray, measured: np.ndarray, baseline: np.ndarray,
                     roi: np.ndarray, roi_names: dict[int, str]) -> list[dict]:
    """Metric rows (metric, value, chance, ceiling, n) per ROI and over all voxels. Every pattern is
    taken relative to ``baseline`` (the voxels' mean training response), so the score reads what is
    specific to each image rather than the voxels' shared mean."""
    rows = []
    regions = [(name, roi == label) for label, name in roi_names.items() if (roi == label).any()]
    for name, members in [*regions, ("all", np.ones(len(roi), bool))]:
        measured_roi = measured[:, members] - baseline[members]
        scores = pearson_matrix(predicted[:, members] - baseline[members], measured_roi)
        ceiling = pearson_matrix(seen_predicted[:, members] - baseline[members], measured_roi)
        value, chance = matched_and_chance(scores)
        rows.append({"metric": "brain_score" if name == "all" else f"brain_score_{name}", "value": value,
                     "chance": chance, "ceiling": matched_and_chance(ceiling)[0], "n": int(len(scores))})
    return rows
