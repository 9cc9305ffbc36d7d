"""Any saved embedding decoder, read back as one function from responses to CLIP embeddings.

Stages downstream of decoding (evaluation, reconstruction) need the decoder itself only for the
noise ceiling: the same decoder applied to noise-free responses. This module gives them one
loader for the per-subject ridge and the cross-subject model alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from neurorecon.decode import ridge


@dataclass
class SavedDecoder:
    """A decoder's prediction function for one subject, and the ROIs and target it was fitted on."""

    predict: Callable[[np.ndarray], np.ndarray]
    rois: list[str] | None
    target: str


def load_saved_decoder(weights: Path, subject: str) -> SavedDecoder:
    """The decoder whose weights file is ``weights``: ``ridge.safetensors`` (per-subject ridge) or
    ``model.safetensors`` (a cross-subject model holding an adapter for ``subject``, or an EEG /
    sEEG encoder)."""
    weights = Path(weights)
    if weights.name == ridge.WEIGHTS_FILE:
        info = json.loads((weights.parent / ridge.INFO_FILE).read_text())
        return SavedDecoder(ridge.RidgeDecoder.load(weights.parent).predict, info["rois"], info["target"])
    from neurorecon.decode.shared import CONFIG_FILE, WEIGHTS_FILE, SharedDecoder, predict

    if weights.name != WEIGHTS_FILE:
        raise ValueError(f"{weights}: not a decoder weights file (expected {ridge.WEIGHTS_FILE} or {WEIGHTS_FILE})")
    if json.loads((weights.parent / CONFIG_FILE).read_text()).get("kind") == "sensor-encoder":
        from neurorecon.decode.sensors import SensorEncoder, encode

        encoder = SensorEncoder.load(weights.parent)
        shape = (encoder.shape["n_channels"], encoder.shape["n_times"])
        return SavedDecoder(lambda values: encode(encoder, values.reshape(len(values), *shape))["embedding"],
                            None, "image")
    model = SharedDecoder.load(weights.parent)
    model.adapter(subject)  # fails early, naming the subjects it has
    info = json.loads((weights.parent / CONFIG_FILE).read_text())
    return SavedDecoder(lambda values: predict(model, subject, values)["clip"], info["rois"], "image")
