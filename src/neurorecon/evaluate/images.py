"""Image reconstruction metrics, computed the way the NSD reconstruction papers compute them.

- ``pixcorr``: Pearson correlation between the flattened RGB pixels of a reconstruction and its
  stimulus, both resized to one size (brain-diffuser, Ozcelik & VanRullen 2023; MindEye, Scotti et
  al. 2023).
- ``ssim``: structural similarity of the grayscale images at that size, Gaussian-weighted
  (sigma 1.5), population covariance, data range 1 (the settings of MindEye's evaluation code).
- ``<layer>_2way``: 2-way identification on a network's features (AlexNet layers 2 and 5,
  Inception-v3 pool, CLIP image embedding): for each reconstruction, the fraction of other
  stimuli whose features correlate less with it than its own stimulus' features do; chance 0.5
  (Ozcelik & VanRullen 2023; Scotti et al. 2023).
- ``effnet_dist`` / ``swav_dist``: mean correlation distance between the features of a
  reconstruction and of its stimulus (EfficientNet-B1 and SwAV-ResNet50 pool; lower is better).

Chance for the pairwise scores is their value over mismatched pairs (every reconstruction against
every other stimulus), which is what shuffling the pairs gives in expectation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from skimage.color import rgb2gray
from skimage.metrics import structural_similarity

from neurorecon.evaluate.retrieval import matched_and_chance, pearson_matrix
from neurorecon.reconstruct.lowlevel import resize_images

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Backbone:
    """A torchvision network whose features score reconstructions."""

    architecture: str                 # torchvision.models constructor
    input_size: int                   # images are resized to this side
    layers: dict[str, str]            # metric name -> feature node
    kind: str                         # "2way" or "dist"
    torchvision_file: str | None      # the file torchvision's own weights are cached as


BACKBONES = {
    "alexnet": Backbone("alexnet", 256, {"alexnet2_2way": "features.4", "alexnet5_2way": "features.11"},
                        "2way", "alexnet-owt-7be5be79.pth"),
    "inception": Backbone("inception_v3", 342, {"inception_2way": "avgpool"}, "2way", "inception_v3_google-0cc3c7bd.pth"),
    "efficientnet": Backbone("efficientnet_b1", 255, {"effnet_dist": "avgpool"}, "dist",
                             "efficientnet_b1_rwightman-bac287d4.pth"),
    "swav": Backbone("resnet50", 224, {"swav_dist": "avgpool"}, "dist", None),
}


def pixcorr_matrix(recon: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Pearson r of every reconstruction (rows) with every stimulus (columns), on RGB pixels."""
    return pearson_matrix(recon.reshape(len(recon), -1).astype(np.float64),
                          truth.reshape(len(truth), -1).astype(np.float64))


def ssim_matrix(recon: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """SSIM of every reconstruction (rows) with every stimulus (columns)."""
    gray_recon = [rgb2gray(image) for image in recon]
    gray_truth = [rgb2gray(image) for image in truth]
    return np.array([[structural_similarity(t, r, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                            data_range=1.0) for t in gray_truth] for r in gray_recon])


def correlation_matrix(recon_features: np.ndarray, true_features: np.ndarray) -> np.ndarray:
    """Pearson r between every reconstruction's features (rows) and every stimulus' (columns)."""
    return pixcorr_matrix(recon_features, true_features)


def two_way_from_matrix(similarity: np.ndarray) -> float:
    """2-way identification: for reconstruction i, the fraction of stimuli j != i with
    similarity[i, j] < similarity[i, i], averaged over i."""
    n = len(similarity)
    if n < 2:
        raise ValueError("2-way identification needs at least 2 items")
    wins = (similarity < np.diag(similarity)[:, None]).sum(axis=1)
    return float(np.mean(wins / (n - 1)))


def resolve_weights(setting: str | None, backbone: Backbone) -> Path | None:
    """The weights file a backbone setting names: a path, ``auto`` (torchvision's own cached file
    under $TORCH_HOME/hub/checkpoints) or None (skip)."""
    if setting is None:
        return None
    if setting == "auto":
        if backbone.torchvision_file is None:
            return None
        torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
        return torch_home / "hub" / "checkpoints" / backbone.torchvision_file
    return Path(setting)


def load_backbone(name: str, weights: Path):
    """A torchvision network in eval mode with weights from a safetensors file or a torch file read
    with ``weights_only=True``; SwAV's ``module.`` prefix and projection head are dropped."""
    import torch
    import torchvision

    backbone = BACKBONES[name]
    kwargs = {"aux_logits": True, "init_weights": False} if backbone.architecture == "inception_v3" else {}
    model = getattr(torchvision.models, backbone.architecture)(weights=None, **kwargs)
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(weights))
    else:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
    state = {key.removeprefix("module."): value for key, value in state.items()}
    expected = model.state_dict()
    missing = [key for key in expected if key not in state and not key.startswith("fc.")]
    if missing:
        raise ValueError(f"{weights}: not {backbone.architecture} weights; missing {missing[:3]}")
    model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)
    return model.eval()


def backbone_features(name: str, model, images: np.ndarray, batch_size: int = 32) -> dict[str, np.ndarray]:
    """Flattened features of uint8 images at each of the backbone's metric layers."""
    import torch
    from torchvision.models.feature_extraction import create_feature_extractor

    backbone = BACKBONES[name]
    extractor = create_feature_extractor(model, return_nodes={node: metric for metric, node in backbone.layers.items()})
    mean = torch.tensor(IMAGENET_MEAN)[None, :, None, None]
    std = torch.tensor(IMAGENET_STD)[None, :, None, None]
    out: dict[str, list[np.ndarray]] = {metric: [] for metric in backbone.layers}
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = resize_images(images[start:start + batch_size], backbone.input_size)
            x = (torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0 - mean) / std
            for metric, value in extractor(x).items():
                out[metric].append(value.flatten(1).numpy())
    return {metric: np.concatenate(values) for metric, values in out.items()}


def feature_metric(kind: str, recon_features: np.ndarray, true_features: np.ndarray) -> tuple[float, float]:
    """(value, chance) of a feature metric: 2-way identification or mean correlation distance."""
    similarity = correlation_matrix(recon_features, true_features)
    if kind == "2way":
        return two_way_from_matrix(similarity), 0.5
    matched, mismatched = matched_and_chance(1.0 - similarity)
    return matched, mismatched


FeatureFn = Callable[[np.ndarray], dict[str, np.ndarray]]


def image_metrics(recon: np.ndarray, truth: np.ndarray, size: int, feature_fns: dict[str, tuple[str, FeatureFn]],
                  ceiling_recon: np.ndarray | None = None) -> list[dict]:
    """Metric rows (metric, value, chance, ceiling, n) of reconstructions against their stimuli.

    ``feature_fns`` maps a backbone to (kind, function returning {metric: features}); the CLIP
    metric comes in the same way. ``ceiling_recon``: reconstructions from noise-free responses.
    """
    if recon.shape[0] != truth.shape[0]:
        raise ValueError(f"{len(recon)} reconstructions for {len(truth)} stimuli")
    recon_s, truth_s = resize_images(recon, size), resize_images(truth, size)
    ceiling_s = resize_images(ceiling_recon, size) if ceiling_recon is not None else None
    rows = []

    def add(metric, value, chance, ceiling):
        rows.append({"metric": metric, "value": value, "chance": chance, "ceiling": ceiling, "n": len(recon)})

    for metric, matrix_fn in (("pixcorr", pixcorr_matrix), ("ssim", ssim_matrix)):
        value, chance = matched_and_chance(matrix_fn(recon_s, truth_s))
        ceiling = matched_and_chance(matrix_fn(ceiling_s, truth_s))[0] if ceiling_s is not None else None
        add(metric, value, chance, ceiling)
    for kind, features_of in feature_fns.values():
        true_features, recon_features = features_of(truth), features_of(recon)
        ceiling_features = features_of(ceiling_recon) if ceiling_recon is not None else None
        for metric in true_features:
            value, chance = feature_metric(kind, recon_features[metric], true_features[metric])
            ceiling = (feature_metric(kind, ceiling_features[metric], true_features[metric])[0]
                       if ceiling_features is not None else None)
            add(metric, value, chance, ceiling)
    return rows


def available_feature_fns(backbones: dict[str, str | None],
                          clip_features: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[dict, list[str]]:
    """Feature functions for every backbone whose weights are present, plus the project's CLIP
    (``clip_2way``) when ``clip_features`` (uint8 images -> CLIP embeddings) is given, and a note
    for each backbone skipped and why."""
    fns: dict[str, tuple[str, FeatureFn]] = {}
    notes = []
    for name, setting in backbones.items():
        backbone = BACKBONES[name]
        metrics = ", ".join(backbone.layers)
        weights = resolve_weights(setting, backbone)
        if weights is None:
            notes.append(f"{metrics} skipped: no weights configured for {name} (evaluate.image.backbones.{name})")
            continue
        if not weights.is_file():
            notes.append(f"{metrics} skipped: {name} weights not found at {weights}")
            continue
        model = load_backbone(name, weights)
        fns[name] = (backbone.kind, lambda images, _name=name, _model=model: backbone_features(_name, _model, images))
    if clip_features is not None:
        fns["clip"] = ("2way", lambda images: {"clip_2way": clip_features(images)})
    return fns, notes


def clip_image_features(clip_bundle, images: np.ndarray) -> np.ndarray:
    """The project's CLIP image embeddings of uint8 images."""
    from PIL import Image

    from neurorecon.stimuli.clip import embed_images

    return embed_images(clip_bundle, [Image.fromarray(image) for image in images])


def attribute_accuracy(recon_features: np.ndarray, true_labels: np.ndarray, reference_features: np.ndarray,
                       reference_labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, chance) of reading an attribute (a scene's shape, its colour) off reconstructions:
    each takes the label of its nearest reference image (cosine, CLIP space), compared with the
    label of its own stimulus. Chance is the agreement of independent draws from the two label
    distributions."""
    unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # noqa: E731
    nearest = (unit(recon_features) @ unit(reference_features).T).argmax(axis=1)
    accuracy = float(np.mean(reference_labels[nearest] == true_labels))
    labels = np.unique(np.concatenate([true_labels, reference_labels]))
    chance = float(sum(np.mean(true_labels == label) * np.mean(reference_labels == label) for label in labels))
    return accuracy, chance


def attribute_metrics(recon_features: np.ndarray, ceiling_features: np.ndarray | None, true_attributes: dict,
                      reference_features: np.ndarray, reference_attributes: dict) -> list[dict]:
    """``<attribute>_acc`` rows for each known stimulus attribute (synthetic scenes: shape, colour)."""
    rows = []
    for name, true_labels in true_attributes.items():
        value, chance = attribute_accuracy(recon_features, true_labels, reference_features, reference_attributes[name])
        ceiling = (attribute_accuracy(ceiling_features, true_labels, reference_features, reference_attributes[name])[0]
                   if ceiling_features is not None else None)
        rows.append({"metric": f"{name}_acc", "value": value, "chance": chance, "ceiling": ceiling,
                     "n": len(true_labels)})
    return rows


ATTRIBUTES = ("shape", "colour")  # columns of the synthetic world's stimulus table


class ImageScorer:
    """Every image metric of one evaluation config: the feature metrics, the CLIP attribute judge
    (where the stimulus table names shape and colour) and the independent scene judge (when given).
    Built once per job, applied to each set of reconstructions."""

    def __init__(self, cfg: dict, clip_bundle, stimuli_tsv: str | Path, embeddings: dict, judge=None):
        from neurorecon.stimuli.images import read_stimulus_table

        self.cfg, self.clip, self.judge, self.stimuli_tsv = cfg, clip_bundle, judge, stimuli_tsv
        self._clip_cache: dict[int, np.ndarray] = {}
        self.feature_fns, self.notes = available_feature_fns(cfg["backbones"], self.clip_features)
        self.stimuli = read_stimulus_table(stimuli_tsv).set_index("stim_id")
        self.attributes = [a for a in ATTRIBUTES if a in self.stimuli.columns]
        ids = embeddings["stim_ids"].astype(str)
        train_ids = [s for s in ids if self.stimuli.loc[s, "split"] == "train"]
        self.train_features = embeddings["image"][np.isin(ids, train_ids)]
        self.train_attributes = {a: self.stimuli.loc[train_ids, a].to_numpy() for a in self.attributes}

    def clip_features(self, images: np.ndarray) -> np.ndarray:
        """The CLIP embeddings of an image set, computed once per set within :meth:`rows` (its 2-way
        metric and the attribute judge both read them)."""
        if id(images) not in self._clip_cache:
            self._clip_cache[id(images)] = clip_image_features(self.clip, images)
        return self._clip_cache[id(images)]

    def rows(self, images: np.ndarray, ceiling: np.ndarray | None, stim_ids: list[str]) -> list[dict]:
        """Metric rows (metric, value, chance, ceiling, n) of reconstructions of ``stim_ids``."""
        from neurorecon.evaluate.judge import judge_rows
        from neurorecon.stimuli.images import load_stimulus_images

        truth = load_stimulus_images(self.stimuli_tsv, stim_ids)
        try:
            rows = image_metrics(images, truth, self.cfg["size"], self.feature_fns, ceiling)
            true = {a: self.stimuli.loc[stim_ids, a].to_numpy() for a in self.attributes}
            if self.attributes:
                rows += attribute_metrics(self.clip_features(images),
                                          self.clip_features(ceiling) if ceiling is not None else None, true,
                                          self.train_features, self.train_attributes)
        finally:
            self._clip_cache.clear()   # the ids are those of this call's arrays only
        if self.judge is not None and len(self.attributes) == len(ATTRIBUTES):
            rows += judge_rows(self.judge, images, ceiling, true)
        return rows


def mean_over_subjects(table, keys: list[str]):
    """Mean value, chance and ceiling (and total n) per ``keys`` of a long metric table with a
    ``subject`` column; ``subjects`` counts them. Keys keep their first-seen order."""
    import pandas as pd

    grouped = table.groupby(keys, sort=False)
    mean = grouped[["value", "chance", "ceiling"]].mean()
    return pd.concat([mean, grouped["n"].sum(), grouped["subject"].nunique().rename("subjects")], axis=1).reset_index()
