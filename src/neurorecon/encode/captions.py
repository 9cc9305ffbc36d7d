"""Voxel captions (BrainSCUBA, Luo et al., ICLR 2024): each voxel's linear-encoder direction in CLIP
space is projected onto natural image embeddings (a softmax over their similarity at temperature
150, the paper's ``softmax_convex``), and the projection is put into words as the caption in a corpus
whose CLIP text embedding lies nearest (in place of the paper's CLIPCap captioner, which needs
pretrained weights)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def project_to_images(directions: np.ndarray, image_embeddings: np.ndarray, temperature: float) -> np.ndarray:
    """Unit-length softmax-weighted means of ``image_embeddings`` (m, d) for each direction (v, d)."""
    images = image_embeddings / np.linalg.norm(image_embeddings, axis=1, keepdims=True)
    scores = temperature * directions @ images.T
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    projected = weights @ images
    return projected / np.linalg.norm(projected, axis=1, keepdims=True)


def voxel_captions(directions: np.ndarray, image_embeddings: np.ndarray, caption_embeddings: np.ndarray,
                   temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """The corpus caption (index) nearest each voxel's projected direction, and its cosine similarity."""
    projected = project_to_images(directions, image_embeddings, temperature)
    texts = caption_embeddings / np.linalg.norm(caption_embeddings, axis=1, keepdims=True)
    similarity = projected @ texts.T
    best = similarity.argmax(axis=1)
    return best, similarity[np.arange(len(best)), best]


def known_preferences(true_responses: np.ndarray, attributes: pd.DataFrame) -> pd.DataFrame:
    """Per voxel, from noise-free responses (stimuli x voxels) and the stimuli's attribute columns:
    the attribute that explains most of its variance (eta squared), that share, and the attribute
    value with the highest mean response (the voxel's known preference in the synthetic world)."""
    centred = true_responses - true_responses.mean(axis=0)
    total = np.maximum((centred ** 2).sum(axis=0), 1e-12)
    best_share = np.full(true_responses.shape[1], -1.0)
    best_attribute = np.empty(true_responses.shape[1], dtype=object)
    best_value = np.empty(true_responses.shape[1], dtype=object)
    for column in attributes.columns:
        values = attributes[column].astype(str).to_numpy()
        levels = np.unique(values)
        means = np.stack([centred[values == level].mean(axis=0) for level in levels])
        counts = np.array([(values == level).sum() for level in levels])
        share = (counts[:, None] * means ** 2).sum(axis=0) / total
        better = share > best_share
        best_share[better] = share[better]
        best_attribute[better] = column
        best_value[better] = levels[means.argmax(axis=0)][better]
    return pd.DataFrame({"attribute": best_attribute, "value": best_value, "share": best_share})


def caption_hits(preferences: pd.DataFrame, caption_rows: np.ndarray, corpus: pd.DataFrame,
                 min_share: float) -> pd.DataFrame:
    """For voxels whose known preference explains at least ``min_share`` of their variance: whether
    their caption's stimulus has the preferred value (``hit``), and how often corpus captions have it
    (``chance``, the base rate), per preferred attribute."""
    rows = []
    for voxel in np.flatnonzero(preferences["share"].to_numpy() >= min_share):
        attribute, value = preferences.at[voxel, "attribute"], preferences.at[voxel, "value"]
        column = corpus[attribute].astype(str)
        rows.append({"voxel": int(voxel), "attribute": attribute, "value": value,
                     "hit": float(column.iloc[caption_rows[voxel]] == value), "chance": float((column == value).mean())})
    return pd.DataFrame(rows, columns=["voxel", "attribute", "value", "hit", "chance"])


def hit_summary(hits: pd.DataFrame) -> list[dict]:
    """Summary rows of the caption check: the hit rate per preferred attribute and overall, each
    against the corpus base rate of the preferred values (chance) and 1 (ceiling)."""
    groups = [(f"caption_hit_{attribute}", group) for attribute, group in hits.groupby("attribute", sort=True)]
    return [{"metric": metric, "value": float(group["hit"].mean()), "chance": float(group["chance"].mean()),
             "ceiling": 1.0, "n": int(len(group))} for metric, group in [*groups, ("caption_hit", hits)] if len(group)]


def read_caption_file(path) -> list[str]:
    """Captions, one per non-empty line of a text file."""
    from neurorecon.io.inputs import InputDataError

    try:
        lines = [line.strip() for line in open(path, encoding="utf-8")]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputDataError(path, f"cannot read the caption corpus ({exc})") from exc
    captions = [line for line in lines if line]
    if not captions:
        raise InputDataError(path, "the caption corpus (encode.captions.corpus) has no captions; expected one per line")
    return captions
