"""Evaluate one subject's decoded embeddings: metrics, chance levels and noise ceilings."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from neurorecon.decode.ridge import embedding_rows
from neurorecon.evaluate.ceiling import calibrate_to_measured
from neurorecon.evaluate.retrieval import embedding_metrics
from neurorecon.responses import Responses


def noise_free_test_responses(responses: Responses, truth_path: Path, rois: list[str] | None) -> np.ndarray:
    """The expected measured test responses had there been no noise (synthetic data only)."""
    with np.load(truth_path, allow_pickle=False) as truth:
        truth_ids = {str(s): i for i, s in enumerate(truth["stim_ids"])}
        true_response = truth["stimulus_response_pct"]
    train_x, train_trials = responses.select("train", rois)
    test_x, test_trials = responses.select("test", rois)
    columns = responses.columns(rois)
    true_train = true_response[[truth_ids[s] for s in train_trials["stim_id"]]][:, columns]
    true_test = true_response[[truth_ids[s] for s in test_trials["stim_id"]]][:, columns]
    return calibrate_to_measured(true_train, train_x, true_test)


def write_noise_free(path: Path, stim_ids: list[str], values: np.ndarray | None, n_features: int) -> None:
    """``noise_free.npz``: the test rows' noise-free responses, or an explicit ``available=False``
    (real data), read back by :func:`noise_free_rows`."""
    from neurorecon.artifacts import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, available=values is not None,
                            stim_ids=np.asarray(stim_ids if values is not None else [], dtype=str),
                            values=values if values is not None else np.zeros((0, n_features), np.float32))


def noise_free_rows(responses: Responses, rois: list[str] | None, inputs) -> np.ndarray | None:
    """The test rows' noise-free responses in measured units, from whichever a rule was given:
    ``truth`` (a synthetic fMRI subject's ground truth) or ``noise_free`` (written by EEG / sEEG
    preprocessing); None for real data. ``inputs``: the rule's named inputs."""
    names = set(inputs.keys())
    if "noise_free" in names:
        with np.load(inputs["noise_free"], allow_pickle=False) as data:
            return data["values"] if bool(data["available"]) else None
    if "truth" in names:
        return noise_free_test_responses(responses, Path(inputs["truth"]), rois)
    return None


def evaluate_subject(responses: Responses, decoder: Callable[[np.ndarray], np.ndarray], test_ids: list[str],
                     predicted: np.ndarray, embeddings: dict[str, np.ndarray], decode_cfg: dict,
                     truth_path: Path | None) -> list[dict]:
    """Metric rows (metric, value, chance, ceiling, n) for one subject's test predictions; the
    ceiling applies ``decoder`` (responses -> embeddings) to the noise-free test responses."""
    true = embedding_rows(embeddings, test_ids, decode_cfg["target"])
    ceiling_predicted = None
    if truth_path is not None:
        clean = noise_free_test_responses(responses, truth_path, decode_cfg["rois"])
        ceiling_predicted = decoder(clean)
    return embedding_metrics(predicted, true, ceiling_predicted)
