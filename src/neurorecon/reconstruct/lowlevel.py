"""Low-level reconstruction: ridge regression from brain responses to a stimulus' VAE latents (or
its pixels), decoded into a blurry image that carries layout and colour.

This is the first stage of brain-diffuser (Ozcelik & VanRullen 2023, VDVAE latents), of Takagi &
Nishimoto (2023, the Stable Diffusion latent z) and MindEye2's low-level submodule; its output is
the start image of the diffusion stage. The ``pixels`` target regresses pixel values directly, as
Miyawaki et al. (2008) did for their 10 x 10 binary patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from neurorecon.decode.ridge import RidgeDecoder, fit_ridge
from neurorecon.reconstruct.vae import decode_latents, encode_images

TARGETS = ("vae", "pixels")


@dataclass(frozen=True)
class LowLevelSpace:
    """How stimulus images become regression targets and back: ``kind`` is ``vae`` (latents of
    ``vae``) or ``pixels`` (RGB values in [0, 1] at ``pixel_size``)."""

    kind: str
    pixel_size: int
    vae: object = None

    def __post_init__(self):
        if self.kind not in TARGETS:
            raise ValueError(f"unknown low-level target {self.kind!r}; expected one of {TARGETS}")
        if self.kind == "vae" and self.vae is None:
            raise ValueError("the vae low-level target needs a VAE")

    def encode(self, images: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
        """Flattened targets (n, d) of uint8 images, and the shape one row unflattens to."""
        if self.kind == "vae":
            latents = encode_images(self.vae, images)
            return latents.reshape(len(latents), -1), latents.shape[1:]
        pixels = resize_images(images, self.pixel_size).astype(np.float64) / 255.0
        return pixels.reshape(len(pixels), -1), pixels.shape[1:]

    def decode(self, rows: np.ndarray, shape: tuple[int, ...], size: int) -> np.ndarray:
        """uint8 images (n, size, size, 3) from predicted target rows."""
        values = rows.reshape(len(rows), *shape)
        if self.kind == "vae":
            return resize_images(decode_latents(self.vae, values.astype(np.float32)), size)
        return resize_images((np.clip(values, 0.0, 1.0) * 255.0).round().astype(np.uint8), size)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (n, H, W, 3) -> (n, size, size, 3), bicubic; returned as is when already that size."""
    if images.shape[1:3] == (size, size):
        return images
    return np.stack([np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))
                     for image in images])


def fit_lowlevel(train_responses: np.ndarray, train_images: np.ndarray, space: LowLevelSpace,
                 alphas: list[float], cv: int | None) -> tuple[RidgeDecoder, tuple[int, ...]]:
    """A ridge decoder from responses to the low-level targets of the training images."""
    targets, shape = space.encode(train_images)
    return fit_ridge(train_responses, targets, alphas, cv), shape
