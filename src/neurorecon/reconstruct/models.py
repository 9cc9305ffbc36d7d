"""Where the configured models come from: the tiny ones trained in this run, or the user's."""

from __future__ import annotations

import torch


def clip_location(clip_cfg: dict, tiny_dir: str) -> tuple[str, str | None]:
    """(model, pretrained) arguments of ``load_clip`` for the stimuli stage's CLIP config."""
    return (tiny_dir, None) if clip_cfg["model"] == "tiny" else (clip_cfg["model"], clip_cfg["pretrained"])


def vae_location(vae_cfg: dict, tiny_dir: str) -> tuple[str, str | None]:
    """(model, subfolder) arguments of ``load_vae`` for the reconstruct stage's VAE config."""
    return (tiny_dir, None) if vae_cfg["model"] == "tiny" else (vae_cfg["model"], vae_cfg["subfolder"])


def best_device() -> str:
    """cuda when a GPU is visible, else cpu."""
    return "cuda" if torch.cuda.is_available() else "cpu"
