"""Metrics of reconstructed meshes, as MinD-3D's evaluation computes them (tools/get_cd.py,
get_emd.py, get_acc_shape.py), each with chance and noise ceiling.

Geometry, on surface points after ``meshes.normalised_points`` (centre of mass, principal axes,
radius-0.5 sphere): ``chamfer_distance`` (squared nearest-neighbour distances, mean of each
direction, summed), ``emd`` (POT's exact transport between uniform clouds, Euclidean cost),
``fscore`` at a threshold (precision and recall of points within it; not in MinD-3D's code, the
usual definition of Tatarchenko et al. 2019), and ``voxel_iou`` of the normalised meshes' filled
voxels. Semantics, on six rendered views per object: N-way identification with the true view's
top-1 class (MinD-3D's protocol, 2- and 10-way, 100 trials, per view), the classifier being the
project's CLIP as a zero-shot classifier over class names, or torchvision's ViT-H/14 when its
weights are given. ``category_accuracy``: a judge trained on the training objects' true voxels
(not the generator's space) names each reconstruction's category.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from neurorecon.evaluate.retrieval import two_way_identification
from neurorecon.evaluate.retrieval import row_correlations
from neurorecon.evaluate.video import _derangements, _shuffled_mean, identification_rows

GEOMETRY = ("chamfer_distance", "emd", "fscore", "voxel_iou")
LOWER_IS_BETTER = ("chamfer_distance", "emd")
JUDGE_SIDE = 16     # the category judge sees 16^3 occupancy


def decoded_rows(predicted: dict[str, np.ndarray], true: dict[str, np.ndarray],
                 ceiling: dict[str, np.ndarray] | None) -> list[dict]:
    """Rows (metric, value, chance, ceiling, n) for the decoded targets: the embedding's CLIP 2-way,
    the shape code's and the blurry view's correlation with the truth per object, and the colour's
    mean absolute error (RGB in [0, 1]); chance is the same against the objects shuffled."""
    scores = {
        "embedding_clip_2way": (lambda p, t: two_way_identification(p, t), "embedding"),
        "shape_code_corr": (row_correlations, "shape"),
        "colour_abs_error": (lambda p, t: np.abs(p - t).mean(axis=1), "colour"),
        "view_pixcorr": (row_correlations, "view"),
    }
    return [{"metric": metric, "value": float(np.mean(score(predicted[kind], true[kind]))),
             "chance": _shuffled_mean(score, predicted[kind], true[kind]),
             "ceiling": float(np.mean(score(ceiling[kind], true[kind]))) if ceiling else np.nan,
             "n": len(true[kind])}
            for metric, (score, kind) in scores.items() if kind in predicted and kind in true]


def object_class_names() -> list[str]:
    """The synthetic 3D world's objects as class names, "a {colour} {category}" (48): the classes the
    project's CLIP, as a zero-shot classifier, sorts views into for N-way identification."""
    from neurorecon.synth.objects import CATEGORIES
    from neurorecon.synth.scenes import COLOURS

    return [f"a {colour} {category}" for colour in COLOURS for category in CATEGORIES]


def chamfer_distance(a: np.ndarray, b: np.ndarray) -> float:
    """MinD-3D's Chamfer distance: mean squared distance from each point of ``a`` to ``b`` plus the reverse."""
    return float((cKDTree(b).query(a)[0] ** 2).mean() + (cKDTree(a).query(b)[0] ** 2).mean())


def earth_movers_distance(a: np.ndarray, b: np.ndarray) -> float:
    """MinD-3D's EMD: ``ot.emd2`` between uniform weights on two equal-sized clouds, Euclidean cost."""
    import ot

    if len(a) != len(b):
        raise ValueError(f"EMD compares clouds of equal size, got {len(a)} and {len(b)} points")
    weights = np.full(len(a), 1.0 / len(a))
    return float(ot.emd2(weights, weights, ot.dist(a, b, metric="euclidean")))


def f_score(a: np.ndarray, b: np.ndarray, threshold: float) -> float:
    """F-score at ``threshold``: precision (points of ``a`` within it of ``b``) and recall (the reverse)."""
    precision = float((cKDTree(b).query(a)[0] < threshold).mean())
    recall = float((cKDTree(a).query(b)[0] < threshold).mean())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def voxel_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean occupancy grids."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def geometry_scores(points: list[np.ndarray], true_points: list[np.ndarray], voxels: list | None,
                    true_voxels: list | None, cfg: dict) -> dict[str, np.ndarray]:
    """Per-object geometric metrics of paired clouds (and occupancy grids, where both are given).
    EMD uses the first ``cfg["emd_points"]`` points of each cloud (they are random samples)."""
    k = cfg["emd_points"]
    scores = {
        "chamfer_distance": np.array([chamfer_distance(p, t) for p, t in zip(points, true_points)]),
        "emd": np.array([earth_movers_distance(p[:k], t[:k]) for p, t in zip(points, true_points)]),
        "fscore": np.array([f_score(p, t, cfg["fscore_threshold"]) for p, t in zip(points, true_points)]),
    }
    if voxels is not None and true_voxels is not None:
        scores["voxel_iou"] = np.array([voxel_iou(v, t) for v, t in zip(voxels, true_voxels)])
    return scores


def geometry_rows(points, ceiling_points, true_points, voxels, ceiling_voxels, true_voxels, cfg: dict) -> list[dict]:
    """Rows (metric, value, chance, ceiling, n): the mean over objects of each geometric metric,
    chance on a mismatched pairing (each reconstruction against another object's truth)."""
    order = _derangements(len(true_points), 1, seed=2)[0]
    value = geometry_scores(points, true_points, voxels, true_voxels, cfg)
    chance = geometry_scores(points, [true_points[i] for i in order], voxels,
                             None if true_voxels is None else [true_voxels[i] for i in order], cfg)
    ceiling = (geometry_scores(ceiling_points, true_points, ceiling_voxels, true_voxels, cfg)
               if ceiling_points is not None else {})
    return [{"metric": name, "value": float(value[name].mean()), "chance": float(chance[name].mean()),
             "ceiling": float(ceiling[name].mean()) if name in ceiling else np.nan, "n": len(true_points)}
            for name in GEOMETRY if name in value]


def semantic_rows(prefix: str, view_probs: np.ndarray, true_view_probs: np.ndarray,
                  ceiling_view_probs: np.ndarray | None, num_trials: int) -> list[dict]:
    """MinD-3D's 2- and 10-way identification on views (objects x views, classes), each view pair
    scored on its own with the true view's top-1 class."""
    flat = lambda probs: None if probs is None else probs.reshape(-1, probs.shape[-1])  # noqa: E731
    return identification_rows(prefix, flat(view_probs), flat(true_view_probs), flat(ceiling_view_probs),
                               n_ways=(2, 10), num_trials=num_trials, true_classes=1)


def occupancy_features(sdf_grids: np.ndarray, side: int = JUDGE_SIDE) -> np.ndarray:
    """The category judge's input: the share of each of side^3 blocks inside the object (n, side^3)."""
    n, resolution = len(sdf_grids), sdf_grids.shape[1]
    block = resolution // side
    inside = (sdf_grids < 0).reshape(n, side, block, side, block, side, block)
    return inside.mean(axis=(2, 4, 6)).reshape(n, -1)


def fit_category_judge(features: np.ndarray, categories: np.ndarray):
    """A logistic-regression judge of category from true objects' occupancy."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=2000).fit(features, categories)


def category_rows(judge, features: np.ndarray, ceiling_features: np.ndarray | None, categories: np.ndarray) -> list[dict]:
    """Category accuracy of reconstructions by the judge, chance on a mismatched pairing, and the ceiling."""
    order = _derangements(len(categories), 1, seed=3)[0]
    named = judge.predict(features)
    return [{"metric": "category_accuracy", "value": float((named == categories).mean()),
             "chance": float((named == categories[order]).mean()),
             "ceiling": float((judge.predict(ceiling_features) == categories).mean())
             if ceiling_features is not None else np.nan, "n": len(categories)}]


def torchvision_vit_h14(weights_path: str):
    """torchvision's ViT-H/14 (ImageNet, MinD-3D's classifier) from a local weights file, read with
    ``torch.load(weights_only=True)``: a function from views (n, H, W, 3 uint8) to class probabilities."""
    import torch
    from torchvision.models import ViT_H_14_Weights, vit_h_14

    model = vit_h_14(weights=None, image_size=518)
    model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    model.eval()
    transform = ViT_H_14_Weights.IMAGENET1K_SWAG_E2E_V1.transforms()

    @torch.no_grad()
    def probabilities(views: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(views), 8):
            batch = torch.stack([transform(torch.from_numpy(v).permute(2, 0, 1)) for v in views[start:start + 8]])
            out.append(model(batch).softmax(-1).numpy())
        return np.concatenate(out)

    return probabilities
