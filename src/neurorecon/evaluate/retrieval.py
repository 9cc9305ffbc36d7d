"""Embedding-level decoding metrics, as the NSD papers compute them.

- top-1 image retrieval: for each test trial, is the true image's embedding the most similar
  (cosine) to the predicted one among all test images? Top-5 asks whether it is among the five
  most similar (zero-shot n-way retrieval of the EEG papers). Brain retrieval is the transpose: for each
  image, is its own prediction the most similar among all predictions (MindEye, Scotti et al. 2023).
- 2-way identification: for each prediction, the fraction of other test items whose embedding
  correlates less with it than the true item's does (Pearson), averaged (MindEye2, Scotti et al. 2024).
"""

from __future__ import annotations

import numpy as np


def _unit_rows(values: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(values, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return values / norms


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) cosine similarities between the rows of ``a`` and of ``b``."""
    return _unit_rows(a) @ _unit_rows(b).T


def pearson_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) Pearson r between the rows of ``a`` and of ``b`` (0 where a row is constant)."""
    return cosine_similarity(a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True))


def matched_and_chance(matrix: np.ndarray) -> tuple[float, float]:
    """Mean over matched pairs (the diagonal) and over mismatched pairs (chance)."""
    n = len(matrix)
    off = ~np.eye(n, dtype=bool)
    return float(np.mean(np.diag(matrix))), float(matrix[off].mean())


def row_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching rows."""
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-24)


def image_retrieval_top1(predicted: np.ndarray, true: np.ndarray) -> float:
    """Fraction of predictions whose most similar true embedding is their own."""
    similarity = cosine_similarity(predicted, true)
    return float((similarity.argmax(axis=1) == np.arange(len(predicted))).mean())


def image_retrieval_top5(predicted: np.ndarray, true: np.ndarray) -> float:
    """Fraction of predictions whose own true embedding is among the five most similar: the EEG
    papers' zero-shot top-5 (NICE, ATM), with every test image as a candidate."""
    similarity = cosine_similarity(predicted, true)
    own = np.diag(similarity)[:, None]
    return float(((similarity > own).sum(axis=1) < 5).mean())


def brain_retrieval_top1(predicted: np.ndarray, true: np.ndarray) -> float:
    """Fraction of true embeddings whose most similar prediction is their own."""
    similarity = cosine_similarity(predicted, true)
    return float((similarity.argmax(axis=0) == np.arange(len(true))).mean())


def two_way_per_item(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per item, the fraction of other items its prediction correlates with less than with its own
    truth (Pearson r): MindEye2's 2-way identification before the mean."""
    n = len(predicted)
    if n < 2:
        raise ValueError("2-way identification needs at least two test items")
    corr = pearson_matrix(predicted, true)
    own = np.diag(corr)[:, None]
    return (corr < own).sum(axis=1) / (n - 1)


def two_way_identification(predicted: np.ndarray, true: np.ndarray) -> float:
    """Mean over items of the fraction of other items beaten by the true match (Pearson r)."""
    return float(two_way_per_item(predicted, true).mean())


METRICS = {
    "image_retrieval_top1": (image_retrieval_top1, lambda n: 1.0 / n),
    "image_retrieval_top5": (image_retrieval_top5, lambda n: min(1.0, 5.0 / n)),
    "brain_retrieval_top1": (brain_retrieval_top1, lambda n: 1.0 / n),
    "clip_2way": (two_way_identification, lambda n: 0.5),
}


def embedding_metrics(predicted: np.ndarray, true: np.ndarray, ceiling_predicted: np.ndarray | None = None) -> list[dict]:
    """Every embedding metric with its chance level and, given noise-free predictions, its ceiling."""
    n = len(true)
    rows = []
    for name, (metric, chance) in METRICS.items():
        rows.append({
            "metric": name,
            "value": metric(predicted, true),
            "chance": chance(n),
            "ceiling": None if ceiling_predicted is None else metric(ceiling_predicted, true),
            "n": n,
        })
    return rows
