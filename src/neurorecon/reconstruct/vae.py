"""The low-level image model: a diffusers ``AutoencoderKL`` between images and latents.

Real use loads a pretrained VAE (a folder or hub id, optionally a ``subfolder`` such as ``vae`` of a
Stable Diffusion pipeline). The embedded default trains a tiny one on synthetic scenes and saves it
with ``save_pretrained`` (config.json + safetensors), so it is loaded back by the same
:func:`load_vae` as a pretrained one. Images travel as uint8 arrays (n, H, W, 3); latents are the
posterior means multiplied by the model's ``scaling_factor``, as Stable Diffusion uses them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from neurorecon.artifacts import atomic_dir, verify_artifact
from neurorecon.io.inputs import InputDataError
from neurorecon.training import one_cycle_adamw, shuffled_batches


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float (n, 3, H, W) in [-1, 1], the range diffusers models use."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def tensor_to_images(tensor: torch.Tensor) -> np.ndarray:
    """float (n, 3, H, W) in [-1, 1] -> uint8 (n, H, W, 3), clipped."""
    scaled = ((tensor.detach().float().clamp(-1, 1) + 1.0) * 127.5).round()
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def tiny_vae_config(cfg: dict, image_size: int) -> dict:
    """An AutoencoderKL config sized by ``cfg``; it downsamples by 2 ** (len(channels) - 1)."""
    channels = tuple(cfg["channels"])
    return {
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ["DownEncoderBlock2D"] * len(channels),
        "up_block_types": ["UpDecoderBlock2D"] * len(channels),
        "block_out_channels": list(channels),
        "layers_per_block": 1,
        "latent_channels": cfg["latent_channels"],
        "norm_num_groups": math.gcd(*channels, 8),
        "sample_size": image_size,
        "mid_block_add_attention": False,
    }


def train_tiny_vae(images: np.ndarray, cfg: dict, out_dir: Path, progress=None, device: str = "cpu") -> list[dict]:
    """Train a tiny AutoencoderKL (reconstruction + ``kl_weight`` x KL) and save it to ``out_dir``.

    After training, ``scaling_factor`` is set to 1 / std of the training latents, so scaled latents
    have unit variance as the diffusion model expects. Returns the per-epoch loss history. Random
    draws come from a CPU generator, so they are the same on any ``device``.
    """
    from diffusers import AutoencoderKL

    torch.manual_seed(cfg["seed"])
    vae = AutoencoderKL(**tiny_vae_config(cfg, images.shape[1])).to(device)
    pixels = images_to_tensor(images).to(device)
    optimiser, schedule = one_cycle_adamw(vae.parameters(), cfg, len(pixels), weight_decay=0.01)
    generator = torch.Generator().manual_seed(cfg["seed"])
    history = []
    vae.train()
    for epoch in (progress or range)(cfg["epochs"]):
        total_recon = total_kl = 0.0
        for indices in shuffled_batches(len(pixels), cfg["batch_size"], generator):
            batch = pixels[indices.to(device)]
            posterior = vae.encode(batch).latent_dist
            latents = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=generator).to(device)
            recon = ((vae.decode(latents).sample - batch) ** 2).mean()
            kl = posterior.kl().mean() / batch[0].numel()
            loss = recon + cfg["kl_weight"] * kl
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total_recon += recon.item() * len(batch)
            total_kl += kl.item() * len(batch)
        history.append({"epoch": epoch + 1, "recon_mse": total_recon / len(pixels), "kl": total_kl / len(pixels)})

    vae.eval()
    with torch.no_grad():
        latents = torch.cat([vae.encode(pixels[s:s + 256]).latent_dist.mean for s in range(0, len(pixels), 256)])
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    with atomic_dir(out_dir) as tmp:
        vae.save_pretrained(tmp, safe_serialization=True)
    return history


def load_vae(model: str | Path, subfolder: str | None = None, device: str = "cpu"):
    """An AutoencoderKL from a local folder (read offline) or a hub id, in eval mode."""
    from diffusers import AutoencoderKL

    local = Path(model).is_dir()
    if not local and Path(model).exists():
        raise FileNotFoundError(f"{model}: expected a diffusers model folder (config.json + weights) or a hub id")
    if local and not (Path(model) / (subfolder or "") / "config.json").is_file():
        raise FileNotFoundError(f"{Path(model) / (subfolder or '')}: no config.json; not a diffusers AutoencoderKL folder")
    if local:
        verify_artifact(model)
    try:
        vae = AutoencoderKL.from_pretrained(str(model), subfolder=subfolder, local_files_only=local, use_safetensors=True)
    except (OSError, ValueError) as exc:  # also a config.json that is not JSON, truncated or absent weights
        raise InputDataError(Path(model) / (subfolder or ""), f"cannot load as a diffusers AutoencoderKL with safetensors "
                                                              f"weights ({exc})") from exc
    return vae.to(device).eval()


@torch.no_grad()
def encode_images(vae, images: np.ndarray, size: int | None = None, batch_size: int = 64) -> np.ndarray:
    """Scaled posterior-mean latents (n, c, h, w) of uint8 images resized to ``size`` (default:
    the VAE's own sample size)."""
    device = next(vae.parameters()).device
    size = size or vae.config.sample_size
    out = []
    for start in range(0, len(images), batch_size):
        batch = images_to_tensor(images[start:start + batch_size]).to(device)
        if batch.shape[-1] != size:
            batch = torch.nn.functional.interpolate(batch, size=(size, size), mode="bilinear", antialias=True)
        out.append((vae.encode(batch).latent_dist.mean * vae.config.scaling_factor).cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def decode_latents(vae, latents: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """uint8 images (n, H, W, 3) from scaled latents."""
    device = next(vae.parameters()).device
    out = []
    for start in range(0, len(latents), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(latents[start:start + batch_size])).float().to(device)
        out.append(tensor_to_images(vae.decode(batch / vae.config.scaling_factor).sample))
    return np.concatenate(out)
