"""Metrics of decoded video (per test segment): the keyframe embedding's 2-way identification, the
blurry video's pixel correlation, and the motion: flow end-point error against the true clip's
flow and the accuracy of the motion direction read from the decoded flow. Each with its chance level
(the same comparison against the test segments shuffled) and, for synthetic data, its noise ceiling
(the same decoders on the noise-free samples)."""

from __future__ import annotations

import numpy as np

from neurorecon.decode.video import motion_direction
from neurorecon.evaluate.retrieval import two_way_identification

PERMUTATIONS = 200


def endpoint_error(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per segment, the mean over flow cells of the length of the flow difference (image sides / s)."""
    return np.linalg.norm((predicted - true).reshape(len(true), -1, 2), axis=2).mean(axis=1)


def row_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching rows."""
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-24)


def _shuffled_mean(score, predicted: np.ndarray, true, seed: int = 0) -> float:
    """The score's mean against the test segments in random order (its chance level)."""
    rng = np.random.default_rng(seed)
    return float(np.mean([np.mean(score(predicted, true[rng.permutation(len(true))])) for _ in range(PERMUTATIONS)]))


def video_metrics(predicted: dict[str, np.ndarray], true: dict[str, np.ndarray], directions: np.ndarray,
                  ceiling: dict[str, np.ndarray] | None = None) -> list[dict]:
    """Rows (metric, value, chance, ceiling, n) for decoded ``predicted`` targets (keyframe, blurry,
    flow) against the ``true`` ones, and the decoded motion direction against the clips' ``directions``."""
    def direction_hits(flow, labels):
        return motion_direction(flow) == labels

    scores = {
        "keyframe_clip_2way": (lambda p, t: two_way_identification(p, t), "keyframe"),
        "blurry_pixcorr": (lambda p, t: row_correlations(p, t), "blurry"),
        "flow_epe": (lambda p, t: endpoint_error(p, t), "flow"),
    }
    rows = []
    for metric, (score, kind) in scores.items():
        rows.append({"metric": metric, "value": float(np.mean(score(predicted[kind], true[kind]))),
                     "chance": _shuffled_mean(score, predicted[kind], true[kind]),
                     "ceiling": float(np.mean(score(ceiling[kind], true[kind]))) if ceiling else np.nan,
                     "n": len(true[kind])})
    rows.append({"metric": "motion_direction_acc", "value": float(direction_hits(predicted["flow"], directions).mean()),
                 "chance": _shuffled_mean(direction_hits, predicted["flow"], directions),
                 "ceiling": float(direction_hits(ceiling["flow"], directions).mean()) if ceiling else np.nan,
                 "n": len(directions)})
    return rows
