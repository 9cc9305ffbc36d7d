"""One subject's image reconstructions: low-level from responses, then final images from the
generator, each also from the noise-free responses (the noise ceiling) on synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorecon.responses import Responses
from neurorecon.reconstruct.diffusion import ImageGenerator, img2img
from neurorecon.reconstruct.lowlevel import LowLevelSpace, fit_lowlevel
from neurorecon.stimuli.images import load_stimulus_images


def lowlevel_subject(responses: Responses, stimuli_tsv: Path, cfg: dict, space: LowLevelSpace,
                     noise_free: np.ndarray | None) -> dict:
    """Fit the low-level decoder on training trials and reconstruct the test stimuli.

    Returns the decoder, test ids and uint8 images at the stimuli's size, plus the images from
    the noise-free test responses (``ceiling``) when they are given (synthetic data).
    """
    train_x, train_trials = responses.select("train", cfg["rois"])
    test_x, test_trials = responses.select("test", cfg["rois"])
    train_images = load_stimulus_images(stimuli_tsv, list(train_trials["stim_id"]))
    size = train_images.shape[1]
    decoder, shape = fit_lowlevel(train_x, train_images, space, cfg["alphas"], cfg["cv"])
    result = {"decoder": decoder, "stim_ids": list(test_trials["stim_id"].astype(str)),
              "images": space.decode(decoder.predict(test_x), shape, size), "ceiling": None}
    if noise_free is not None:
        result["ceiling"] = space.decode(decoder.predict(noise_free), shape, size)
    return result


def rescale_embeddings(embeddings: np.ndarray, norm: float | None) -> np.ndarray:
    """Embeddings rescaled to L2 ``norm`` (None: as they are)."""
    if norm is None:
        return embeddings
    lengths = np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return embeddings / lengths * norm


def draw_samples(generator: ImageGenerator, start_images: np.ndarray, embeddings: np.ndarray, sampling: dict,
                 progress=None) -> np.ndarray:
    """``sampling["samples"]`` images per stimulus: uint8 (n, samples, H, W, 3), sample k drawn
    with seed ``sampling["seed"] + k``."""
    conditioning = rescale_embeddings(embeddings, sampling["embedding_norm"]).astype(np.float32)
    draws = [img2img(generator, start_images, conditioning, sampler=sampling["sampler"], steps=sampling["steps"],
                     guidance=sampling["guidance"], strength=sampling["strength"], seed=sampling["seed"] + k,
                     batch_size=sampling["batch_size"], progress=progress)
             for k in range(sampling["samples"])]
    return np.stack(draws, axis=1)


def choose_samples(sample_embeddings: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """Index of the sample whose CLIP embedding is most similar (cosine) to the decoded embedding,
    per stimulus: the brain-guided selection of MindEye (Scotti et al. 2023); the stimulus itself
    is never consulted. ``sample_embeddings``: (n, samples, d)."""
    unit = sample_embeddings / np.maximum(np.linalg.norm(sample_embeddings, axis=-1, keepdims=True), 1e-12)
    target = decoded / np.maximum(np.linalg.norm(decoded, axis=-1, keepdims=True), 1e-12)
    return np.einsum("nkd,nd->nk", unit, target).argmax(axis=1)
