"""The linear voxelwise encoder: ridge from the CLIP image embedding to every voxel, each voxel with
its own penalty (efficient leave-one-out over a grid), as BrainSCUBA's and BrainDiVE's encoders are
linear maps from a CLIP embedding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.linear_model import RidgeCV

from neurorecon.artifacts import atomic_path, verify_artifact

WEIGHTS_FILE = "linear.safetensors"


@dataclass
class LinearEncoder:
    """``predict(e) = ((e - mean) / scale) @ coef + intercept``: embeddings (n, d) -> responses (n, voxels)."""

    coef: np.ndarray       # (d, voxels)
    intercept: np.ndarray  # (voxels,)
    mean: np.ndarray       # (d,)
    scale: np.ndarray      # (d,)
    alphas: np.ndarray     # (voxels,) the penalty each voxel chose

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        if embeddings.shape[1] != self.coef.shape[0]:
            raise ValueError(f"the linear encoder expects {self.coef.shape[0]}-d embeddings, got {embeddings.shape[1]}")
        return ((embeddings - self.mean) / self.scale) @ self.coef + self.intercept

    def directions(self) -> np.ndarray:
        """Each voxel's weight vector in the embedding space itself (the scaling undone), unit length:
        the CLIP direction that raises its predicted response most (BrainSCUBA's voxel direction)."""
        weights = (self.coef / self.scale[:, None]).T
        return weights / np.maximum(np.linalg.norm(weights, axis=1, keepdims=True), 1e-12)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / WEIGHTS_FILE) as tmp:
            save_file({name: np.ascontiguousarray(getattr(self, name), dtype=np.float32)
                       for name in ("coef", "intercept", "mean", "scale", "alphas")}, str(tmp))

    @classmethod
    def load(cls, folder: Path) -> "LinearEncoder":
        verify_artifact(folder / WEIGHTS_FILE)
        return cls(**{name: value.astype(np.float64) for name, value in load_file(str(folder / WEIGHTS_FILE)).items()})


def fit_linear_encoder(embeddings: np.ndarray, responses: np.ndarray, alphas: list[float]) -> LinearEncoder:
    """Fit on training rows: embeddings (n, d), responses (n, voxels)."""
    if len(embeddings) != len(responses):
        raise ValueError(f"{len(embeddings)} embedding rows but {len(responses)} response rows")
    mean, scale = embeddings.mean(axis=0), embeddings.std(axis=0)
    scale[scale == 0] = 1.0
    model = RidgeCV(alphas=np.asarray(alphas, dtype=float), alpha_per_target=True, fit_intercept=True)
    model.fit((embeddings - mean) / scale, responses)
    return LinearEncoder(coef=model.coef_.T.copy(), intercept=np.atleast_1d(model.intercept_).copy(), mean=mean,
                         scale=scale, alphas=np.broadcast_to(model.alpha_, (responses.shape[1],)).astype(float).copy())
