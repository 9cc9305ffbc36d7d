"""The transformer encoder: learned queries, one per voxel group, attend to the image tower's
spatial tokens, and each voxel reads its group's output token linearly (Adeli, Sun & Kriegeskorte,
"Transformer brain encoders explain human high-level visual responses", 2025: brain-region queries
cross-attending to frozen image features). Groups are k-means clusters of voxel positions within
each ROI, so neighbouring voxels (in early visual cortex: neighbouring receptive fields) share a
query that can attend to their part of the image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from sklearn.cluster import KMeans

from neurorecon.artifacts import atomic_path, verify_artifact, write_json_atomic
from neurorecon.training import one_cycle_adamw, shuffled_batches

WEIGHTS_FILE = "transformer.safetensors"
SPEC_FILE = "transformer.json"


def voxel_groups(positions: np.ndarray, roi: np.ndarray, per_roi: int, seed: int) -> np.ndarray:
    """A group index per voxel: ``per_roi`` k-means clusters of voxel positions in each ROI label."""
    groups = np.zeros(len(roi), dtype=np.int64)
    offset = 0
    for label in np.unique(roi):
        members = np.flatnonzero(roi == label)
        k = min(per_roi, len(members))
        groups[members] = offset + KMeans(k, n_init=4, random_state=seed).fit_predict(positions[members].astype(float))
        offset += k
    return groups


class QueryEncoder(torch.nn.Module):
    """Tokens (B, N, C) -> responses (B, voxels) through one pre-norm cross-attention block."""

    def __init__(self, token_dim: int, n_tokens: int, groups: np.ndarray, width: int, heads: int):
        super().__init__()
        n_groups, n_voxels = int(groups.max()) + 1, len(groups)
        self.project = torch.nn.Linear(token_dim, width)
        self.position = torch.nn.Parameter(0.02 * torch.randn(n_tokens, width))
        self.queries = torch.nn.Parameter(0.02 * torch.randn(n_groups, width))
        self.token_norm, self.query_norm = torch.nn.LayerNorm(width), torch.nn.LayerNorm(width)
        self.attention = torch.nn.MultiheadAttention(width, heads, batch_first=True)
        self.feedforward = torch.nn.Sequential(torch.nn.LayerNorm(width), torch.nn.Linear(width, 2 * width),
                                               torch.nn.GELU(), torch.nn.Linear(2 * width, width))
        self.readout = torch.nn.Parameter(torch.zeros(n_voxels, width))
        self.bias = torch.nn.Parameter(torch.zeros(n_voxels))
        self.register_buffer("groups", torch.as_tensor(groups, dtype=torch.long))

    def forward(self, tokens: torch.Tensor, return_attention: bool = False):
        keys = self.token_norm(self.project(tokens) + self.position)
        queries = self.queries.expand(len(tokens), -1, -1)
        attended, attention = self.attention(self.query_norm(queries), keys, keys, need_weights=return_attention)
        out = queries + attended
        out = out + self.feedforward(out)
        responses = torch.einsum("bvw,vw->bv", out[:, self.groups], self.readout) + self.bias
        return (responses, attention) if return_attention else responses


class TransformerEncoder:
    """A trained :class:`QueryEncoder` with the response scaling it was trained in."""

    def __init__(self, model: QueryEncoder, mean: np.ndarray, scale: np.ndarray, spec: dict):
        self.model, self.mean, self.scale, self.spec = model.eval(), mean, scale, spec

    @torch.no_grad()
    def predict(self, tokens: np.ndarray, batch_size: int = 256) -> np.ndarray:
        out = [self.model(torch.as_tensor(tokens[start:start + batch_size], dtype=torch.float32)).numpy()
               for start in range(0, len(tokens), batch_size)]
        return np.concatenate(out) * self.scale + self.mean

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {name: value.detach().contiguous() for name, value in self.model.state_dict().items()}
        tensors.update(response_mean=torch.as_tensor(self.mean, dtype=torch.float32),
                       response_scale=torch.as_tensor(self.scale, dtype=torch.float32))
        with atomic_path(folder / WEIGHTS_FILE) as tmp:
            save_file(tensors, str(tmp))
        write_json_atomic(folder / SPEC_FILE, self.spec)

    @classmethod
    def load(cls, folder: Path) -> "TransformerEncoder":
        verify_artifact(folder / WEIGHTS_FILE)
        spec = json.loads((folder / SPEC_FILE).read_text())
        tensors = load_file(str(folder / WEIGHTS_FILE))
        mean, scale = tensors.pop("response_mean").numpy(), tensors.pop("response_scale").numpy()
        model = QueryEncoder(spec["token_dim"], spec["n_tokens"], tensors["groups"].numpy(), spec["width"], spec["heads"])
        model.load_state_dict(tensors)
        return cls(model, mean.astype(np.float64), scale.astype(np.float64), spec)


def fit_transformer_encoder(tokens: np.ndarray, responses: np.ndarray, groups: np.ndarray, cfg: dict,
                            progress=None) -> tuple[TransformerEncoder, list[dict]]:
    """Train on training rows (tokens (n, N, C), responses (n, voxels)) with MSE on z-scored
    responses; returns the encoder and its per-epoch loss history. Deterministic for ``cfg["seed"]``."""
    if len(tokens) != len(responses):
        raise ValueError(f"{len(tokens)} token rows but {len(responses)} response rows")
    torch.manual_seed(cfg["seed"])
    mean, scale = responses.mean(axis=0), responses.std(axis=0)
    scale[scale == 0] = 1.0
    targets = torch.as_tensor((responses - mean) / scale, dtype=torch.float32)
    inputs = torch.as_tensor(tokens, dtype=torch.float32)
    spec = {"token_dim": int(tokens.shape[2]), "n_tokens": int(tokens.shape[1]), "width": cfg["width"],
            "heads": cfg["heads"], "n_groups": int(groups.max()) + 1}
    model = QueryEncoder(spec["token_dim"], spec["n_tokens"], groups, cfg["width"], cfg["heads"])
    optimiser, schedule = one_cycle_adamw(model.parameters(), cfg, len(inputs), cfg["weight_decay"])
    generator = torch.Generator().manual_seed(cfg["seed"])
    history = []
    model.train()
    for epoch in (progress or range)(cfg["epochs"]):
        total = 0.0
        for batch in shuffled_batches(len(inputs), cfg["batch_size"], generator):
            loss = F.mse_loss(model(inputs[batch]), targets[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(batch)
        history.append({"model": "transformer", "epoch": epoch + 1, "loss": total / len(inputs)})
    return TransformerEncoder(model, mean, scale, spec), history
