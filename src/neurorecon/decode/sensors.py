"""EEG and sEEG encoders into the CLIP embedding space, trained contrastively.

- EEG: the temporal-spatial convolution of NICE (Song et al., ICLR 2024) and ATM (Li et al.,
  NeurIPS 2024): a temporal convolution per channel, a convolution across all channels, average
  pooling over time, then a projection (linear, residual MLP, LayerNorm) to the embedding.
- sEEG: channels grouped by brain region, the Du-IN idea (Zheng et al., NeurIPS 2024): each
  region's channels are mixed into a few region signals, filtered in time, pooled and
  projected; the same contrastive objective plus a category head (cross-entropy).

Both standardise inputs with the training rows' statistics and minimise a symmetric InfoNCE
(every row of the same stimulus is a positive) plus a squared error on the embedding, with
AdamW, warm-up and cosine decay, and seeded per-epoch shuffling, so fixed seeds give identical
weights. Saved as model.safetensors + model.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from neurorecon.artifacts import atomic_path, verify_artifact, write_json_atomic
from neurorecon.decode.shared import ResidualBlock, contrastive_loss, warmup_cosine

WEIGHTS_FILE = "model.safetensors"
SPEC_FILE = "model.json"


class Projection(nn.Module):
    """Features -> embedding: linear, residual MLP blocks, LayerNorm, linear head."""

    def __init__(self, n_features: int, hidden_dim: int, embed_dim: int, blocks: int, dropout: float):
        super().__init__()
        self.input = nn.Sequential(nn.Linear(n_features, hidden_dim), nn.GELU(), nn.Dropout(dropout))
        self.blocks = nn.Sequential(*[ResidualBlock(hidden_dim, dropout) for _ in range(blocks)])
        self.norm = nn.LayerNorm(hidden_dim)
        self.head = nn.Linear(hidden_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.norm(self.blocks(self.input(x)))
        return self.head(hidden), hidden


class SensorEncoder(nn.Module):
    """Epochs (rows, channels, times) -> CLIP embedding (and category logits when asked).

    ``groups`` lists the channel indices of each region; one group of all channels is the EEG
    encoder (a spatial convolution over the whole cap), several groups the sEEG region encoder.
    """

    def __init__(self, n_channels: int, n_times: int, groups: list[list[int]], arch: dict, embed_dim: int,
                 n_categories: int = 0):
        super().__init__()
        self.arch = dict(arch)
        self.shape = {"n_channels": n_channels, "n_times": n_times, "groups": [list(map(int, g)) for g in groups],
                      "embed_dim": embed_dim, "n_categories": n_categories}
        filters, kernel = arch["filters"], arch["temporal_kernel"]
        self.register_buffer("mean", torch.zeros(n_channels, n_times))
        self.register_buffer("scale", torch.ones(n_channels, n_times))
        self.temporal = nn.Conv1d(1, filters, kernel, padding=kernel // 2)
        # one spatial mixing per group: (filters x group channels) -> region_filters signals
        self.spatial = nn.ModuleList(nn.Conv2d(filters, arch["region_filters"], (len(g), 1)) for g in groups)
        self.norm = nn.BatchNorm1d(arch["region_filters"] * len(groups))
        self.pool = nn.AvgPool1d(arch["pool"], arch["pool"])
        pooled = (n_times + 2 * (kernel // 2) - kernel + 1) // arch["pool"]
        self.dropout = nn.Dropout(arch["dropout"])
        self.projection = Projection(arch["region_filters"] * len(groups) * pooled, arch["hidden_dim"], embed_dim,
                                     arch["blocks"], arch["dropout"])
        self.category = nn.Linear(arch["hidden_dim"], n_categories) if n_categories else None

    def set_statistics(self, epochs: np.ndarray) -> None:
        """Standardise each channel x time with the training rows' mean and standard deviation."""
        self.mean.copy_(torch.as_tensor(epochs.mean(axis=0), dtype=torch.float32))
        scale = torch.as_tensor(epochs.std(axis=0), dtype=torch.float32)
        self.scale.copy_(torch.where(scale > 0, scale, torch.ones_like(scale)))

    def forward(self, epochs: torch.Tensor) -> dict[str, torch.Tensor]:
        x = (epochs - self.mean) / self.scale
        rows, channels, times = x.shape
        filtered = self.temporal(x.reshape(rows * channels, 1, times))
        filtered = filtered.reshape(rows, channels, filtered.shape[1], -1).transpose(1, 2)  # rows, filters, channels, t
        regions = [conv(filtered[:, :, group]).squeeze(2) for conv, group in zip(self.spatial, self.shape["groups"])]
        signals = nn.functional.elu(self.norm(torch.cat(regions, dim=1)))
        features = self.dropout(self.pool(signals)).flatten(1)
        embedding, hidden = self.projection(features)
        out = {"embedding": embedding}
        if self.category is not None:
            out["category"] = self.category(hidden)
        return out

    def save(self, folder: Path, info: dict | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / WEIGHTS_FILE) as tmp:
            save_file({k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, str(tmp))
        clash = sorted(set(info or {}) & (set(self.shape) | {"kind", "arch"}))
        if clash:
            raise ValueError(f"model info keys {clash} would overwrite the encoder's own description")
        write_json_atomic(folder / SPEC_FILE, {"kind": "sensor-encoder", "arch": self.arch, **self.shape, **(info or {})})

    @classmethod
    def load(cls, folder: Path) -> "SensorEncoder":
        spec_path, weights_path = Path(folder) / SPEC_FILE, Path(folder) / WEIGHTS_FILE
        for path in (spec_path, weights_path):
            if not path.exists():
                raise FileNotFoundError(f"{path}: not found; expected a saved sensor encoder folder")
        verify_artifact(folder)
        spec = json.loads(spec_path.read_text())
        model = cls(spec["n_channels"], spec["n_times"], spec["groups"], spec["arch"], spec["embed_dim"],
                    spec["n_categories"])
        model.load_state_dict(load_file(str(weights_path)))
        return model.eval()


def channel_groups(channels: list[str], region_of: dict[str, str], by_region: bool) -> tuple[list[list[int]], list[str]]:
    """Channel indices per region (sorted region names), or one group of every channel."""
    if not by_region:
        return [list(range(len(channels)))], ["all"]
    names = sorted(set(region_of[c] for c in channels))
    return [[i for i, c in enumerate(channels) if region_of[c] == name] for name in names], names


def train_encoder(epochs: np.ndarray, targets: np.ndarray, stimulus: np.ndarray, groups: list[list[int]], cfg: dict,
                  categories: np.ndarray | None = None, n_categories: int = 0, progress: Callable | None = None,
                  device: str = "cpu") -> tuple[SensorEncoder, list[dict]]:
    """Fit an encoder on training epochs (rows, channels, times) to their stimuli's embeddings.

    ``stimulus`` gives each row's stimulus index (repeats of one stimulus are positives of each
    other); ``categories`` (integer labels below ``n_categories``) adds the category head and its
    cross-entropy."""
    torch.manual_seed(cfg["seed"])
    if categories is None:
        n_categories = 0
    model = SensorEncoder(epochs.shape[1], epochs.shape[2], groups, cfg, targets.shape[1], n_categories)
    model.set_statistics(epochs)
    model.to(device)
    x = torch.as_tensor(epochs, dtype=torch.float32, device=device)
    y = torch.as_tensor(targets, dtype=torch.float32, device=device)
    stim = torch.as_tensor(stimulus, device=device)
    labels = torch.as_tensor(categories, device=device) if categories is not None else None
    steps = -(-len(x) // cfg["batch_size"])
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg["learning_rate"], weight_decay=cfg["weight_decay"])
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, warmup_cosine(cfg["epochs"] * steps))
    history = []
    epochs_iter = range(cfg["epochs"]) if progress is None else progress(range(cfg["epochs"]))
    for epoch in epochs_iter:
        model.train()
        generator = torch.Generator().manual_seed(cfg["seed"] * 100_003 + epoch)
        order = torch.randperm(len(x), generator=generator).to(device)
        totals = {"loss": 0.0, "contrastive": 0.0, "mse": 0.0, **({} if labels is None else {"category": 0.0})}
        for start in range(0, len(x), cfg["batch_size"]):
            rows = order[start:start + cfg["batch_size"]]
            if len(rows) < 2:
                continue
            out = model(x[rows])
            parts = {"contrastive": contrastive_loss(out["embedding"], y[rows], stim[rows], cfg["temperature"]),
                     "mse": nn.functional.mse_loss(out["embedding"], y[rows])}
            loss = cfg["contrastive_weight"] * parts["contrastive"] + cfg["mse_weight"] * parts["mse"]
            if labels is not None:
                parts["category"] = nn.functional.cross_entropy(out["category"], labels[rows])
                loss = loss + cfg["category_weight"] * parts["category"]
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            totals["loss"] += float(loss.detach()) * len(rows)
            for name, value in parts.items():
                totals[name] += float(value.detach()) * len(rows)
        history.append({"epoch": epoch + 1, **{k: v / len(x) for k, v in totals.items()}})
    return model.eval().cpu(), history


@torch.no_grad()
def encode(model: SensorEncoder, epochs: np.ndarray) -> dict[str, np.ndarray]:
    """Embeddings (and category probabilities) of epochs (rows, channels, times)."""
    expected = (model.shape["n_channels"], model.shape["n_times"])
    if tuple(epochs.shape[1:]) != expected:
        raise ValueError(f"encoder expects epochs of {expected[0]} channels x {expected[1]} times, got {epochs.shape[1:]}")
    out = model.eval()(torch.as_tensor(epochs, dtype=torch.float32))
    result = {"embedding": out["embedding"].numpy()}
    if "category" in out:
        result["category_probability"] = out["category"].softmax(1).numpy()
    return result


def category_labels(stimuli, column: str | None) -> dict[str, int] | None:
    """Stimulus id -> integer class of ``column`` (classes in sorted order), or None without one."""
    if not column:
        return None
    if column not in stimuli.columns:
        raise KeyError(f"category column {column!r} is not in the stimulus table (columns: {list(stimuli.columns)})")
    classes = sorted(stimuli[column].astype(str).unique())
    return {str(s): classes.index(str(c)) for s, c in zip(stimuli["stim_id"], stimuli[column])}


def fit_sensor_decoders(responses, embeddings: dict[str, np.ndarray], stimuli, cfg: dict, by_region: bool,
                        progress: Callable | None = None, device: str = "cpu") -> dict:
    """Fit the ridge baseline and the encoder on the training rows; predict the test rows.

    Returns the two decoders, the encoder's loss history, the test stim_ids and both sets of
    predicted embeddings (the contract the reconstruction stage reads)."""
    from neurorecon.decode.ridge import embedding_rows, fit_ridge

    train = (responses.trials["split"] == "train").to_numpy()
    test = ~train
    train_ids = responses.trials.loc[train, "stim_id"].astype(str).tolist()
    targets = embedding_rows(embeddings, train_ids, "image")
    ridge = fit_ridge(responses.values[train], targets, cfg["alphas"], None)
    region_of = dict(zip(responses.channels, responses.channel_regions()))
    groups, group_names = channel_groups(responses.channels, region_of, by_region)
    labels = category_labels(stimuli, cfg["category"]) if cfg["category_weight"] > 0 else None
    stimulus_index = np.unique(train_ids, return_inverse=True)[1]
    model, history = train_encoder(
        responses.epochs(responses.values[train]), targets, stimulus_index, groups, cfg,
        None if labels is None else np.array([labels[s] for s in train_ids]),
        0 if labels is None else max(labels.values()) + 1, progress, device)
    test_x = responses.values[test]
    return {"ridge": ridge, "encoder": model, "history": history, "groups": group_names,
            "test_ids": responses.trials.loc[test, "stim_id"].astype(str).tolist(),
            "encoder_predictions": encode(model, responses.epochs(test_x))["embedding"],
            "ridge_predictions": ridge.predict(test_x)}
