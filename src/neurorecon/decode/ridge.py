"""Per-subject ridge regression from brain responses to stimulus embeddings.

The Takagi & Nishimoto (CVPR 2023) baseline: voxels standardised with training statistics,
one ridge penalty chosen by cross-validation over a grid (efficient leave-one-out when
``cv`` is None, else k-fold), one linear map to all embedding dimensions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.linear_model import RidgeCV

from neurorecon.artifacts import atomic_path, verify_artifact, write_json_atomic

WEIGHTS_FILE = "ridge.safetensors"
INFO_FILE = "ridge.json"


@dataclass
class RidgeDecoder:
    """A fitted linear decoder: ``predict(x) = ((x - mean) / scale) @ coef + intercept``."""

    coef: np.ndarray       # (voxels, dims)
    intercept: np.ndarray  # (dims,)
    mean: np.ndarray       # (voxels,)
    scale: np.ndarray      # (voxels,)
    alpha: float

    def predict(self, responses: np.ndarray) -> np.ndarray:
        if responses.shape[1] != self.coef.shape[0]:
            raise ValueError(f"decoder expects {self.coef.shape[0]} voxels, got {responses.shape[1]}")
        return ((responses - self.mean) / self.scale) @ self.coef + self.intercept

    def save(self, folder: Path, info: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {name: np.ascontiguousarray(getattr(self, name), dtype=np.float32)
                   for name in ("coef", "intercept", "mean", "scale")}
        with atomic_path(folder / WEIGHTS_FILE) as tmp:
            save_file(tensors, str(tmp))
        write_json_atomic(folder / INFO_FILE, {"alpha": self.alpha, **info})

    @classmethod
    def load(cls, folder: Path) -> "RidgeDecoder":
        verify_artifact(folder)
        tensors = load_file(str(folder / WEIGHTS_FILE))
        alpha = json.loads((folder / INFO_FILE).read_text())["alpha"]
        return cls(alpha=alpha, **{name: tensors[name].astype(np.float64) for name in tensors})


def fit_ridge(responses: np.ndarray, targets: np.ndarray, alphas: list[float], cv: int | None) -> RidgeDecoder:
    """Fit the decoder, choosing the penalty from ``alphas`` by cross-validation."""
    if len(responses) != len(targets):
        raise ValueError(f"{len(responses)} response rows but {len(targets)} target rows")
    mean = responses.mean(axis=0)
    scale = responses.std(axis=0)
    scale[scale == 0] = 1.0
    model = RidgeCV(alphas=np.asarray(alphas, dtype=float), cv=cv, fit_intercept=True)
    model.fit((responses - mean) / scale, targets)
    return RidgeDecoder(coef=model.coef_.T.copy(), intercept=np.atleast_1d(model.intercept_).copy(),
                        mean=mean, scale=scale, alpha=float(model.alpha_))


def embedding_rows(embeddings: dict[str, np.ndarray], stim_ids, target: str) -> np.ndarray:
    """The ``target`` ("image" or "text") embedding of each stimulus id, in order."""
    index = {str(s): i for i, s in enumerate(embeddings["stim_ids"])}
    missing = [s for s in stim_ids if str(s) not in index]
    if missing:
        raise KeyError(f"no embedding for stimuli {missing[:5]}")
    return embeddings[target][[index[str(s)] for s in stim_ids]]


def decode_subject(responses, embeddings: dict[str, np.ndarray], cfg: dict):
    """Fit on training trials, predict test rows: returns (decoder, test stim_ids, predictions)."""
    train_x, train_trials = responses.select("train", cfg["rois"])
    test_x, test_trials = responses.select("test", cfg["rois"])
    targets = embedding_rows(embeddings, train_trials["stim_id"], cfg["target"])
    decoder = fit_ridge(train_x, targets, cfg["alphas"], cfg["cv"])
    return decoder, test_trials["stim_id"].astype(str).tolist(), decoder.predict(test_x)


def save_predictions(path: Path, stim_ids, predicted: np.ndarray) -> None:
    """Predicted embeddings of test stimuli (the contract every reconstruction stage reads)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, stim_ids=np.asarray(stim_ids), predicted=predicted.astype(np.float32))


def load_predictions(path: Path) -> tuple[list[str], np.ndarray]:
    verify_artifact(path)
    with np.load(path, allow_pickle=False) as data:
        return [str(s) for s in data["stim_ids"]], data["predicted"]
