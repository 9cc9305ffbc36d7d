"""The high-level path: a latent diffusion model that draws an image from a CLIP image embedding,
started from the low-level reconstruction (img2img), as unCLIP-style reconstruction does
(Takagi & Nishimoto 2023; brain-diffuser, Ozcelik & VanRullen 2023; MindEye2, Scotti et al. 2024).

Two models go through one sampler:
- the embedded default, a tiny ``UNet2DConditionModel`` trained here on synthetic scenes in the
  tiny VAE's latent space, conditioned on the CLIP image embedding both through cross-attention
  (one token) and through the time embedding (``class_embed_type="projection"``, the way Stable
  unCLIP feeds its image embedding), with the condition dropped at random during training so that
  classifier-free guidance works;
- a pretrained ``StableUnCLIPImg2ImgPipeline`` (a folder or hub id), whose own ``encode_prompt`` and
  ``noise_image_embeddings`` turn decoded embeddings into its UNet's conditioning.
The sampler follows diffusers' img2img pipelines: encode the start image, noise it to the timestep
that ``strength`` selects, then denoise with classifier-free guidance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from neurorecon.artifacts import atomic_dir, verify_artifact
from neurorecon.io.inputs import InputDataError
from neurorecon.reconstruct.vae import decode_latents, encode_images
from neurorecon.training import WeightAverage, one_cycle_adamw, shuffled_batches, training_step

UNET_FOLDER = "unet"
SCHEDULER_FOLDER = "scheduler"
SAMPLERS = {
    "ddim": "DDIMScheduler",
    "ddpm": "DDPMScheduler",
    "dpm": "DPMSolverMultistepScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler_ancestral": "EulerAncestralDiscreteScheduler",
}
# the noise schedule Stable Diffusion was trained with; the tiny model uses it too. Latents are not
# bounded like pixels, so predicted latents must not be clipped to [-1, 1] (the DDPM default).
TRAIN_SCHEDULE = {"num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                  "beta_end": 0.012, "clip_sample": False}

Conditioning = Callable[[torch.Tensor, torch.Generator], tuple[dict, dict]]


@dataclass
class ImageGenerator:
    """What the sampler needs: a UNet, its VAE and scheduler config, and a function that turns
    image embeddings (n, d) into the UNet's conditional and unconditional keyword arguments."""

    unet: torch.nn.Module
    vae: torch.nn.Module
    scheduler_config: dict
    conditioning: Conditioning
    embed_dim: int
    image_size: int
    name: str


def tiny_unet_config(cfg: dict, latent_size: int, latent_channels: int, embed_dim: int) -> dict:
    """A two-level UNet2DConditionModel, conditioned on an ``embed_dim`` CLIP image embedding.

    ``resnet_time_scale_shift``: ``default`` adds the time + image embedding to each ResNet block's
    features; ``scale_shift`` turns it into a per-channel scale and shift (FiLM, as in Dhariwal &
    Nichol 2021), which draws shapes better once trained longer (config/examples/quality.yaml).
    """
    channels = list(cfg["channels"])
    return {
        "sample_size": latent_size,
        "in_channels": latent_channels,
        "out_channels": latent_channels,
        "block_out_channels": channels,
        "layers_per_block": cfg["layers_per_block"],
        "down_block_types": ["DownBlock2D"] + ["CrossAttnDownBlock2D"] * (len(channels) - 1),
        "up_block_types": ["CrossAttnUpBlock2D"] * (len(channels) - 1) + ["UpBlock2D"],
        "cross_attention_dim": embed_dim,
        "attention_head_dim": cfg["attention_head_dim"],
        "norm_num_groups": math.gcd(*channels, 32),
        "class_embed_type": "projection",
        "projection_class_embeddings_input_dim": embed_dim,
        "resnet_time_scale_shift": cfg["resnet_time_scale_shift"],
    }


def _tiny_conditioning(embeds: torch.Tensor, generator: torch.Generator) -> tuple[dict, dict]:
    """The tiny UNet's conditioning: the embedding as one cross-attention token and as class label;
    zeros (the dropped condition seen in training) for the unconditional branch."""
    empty = torch.zeros_like(embeds)
    return ({"encoder_hidden_states": embeds[:, None], "class_labels": embeds},
            {"encoder_hidden_states": empty[:, None], "class_labels": empty})


def train_tiny_unet(latents: np.ndarray, embeddings: np.ndarray, cfg: dict, out_dir: Path, progress=None,
                    device: str = "cpu") -> list[dict]:
    """Train the tiny conditional UNet on VAE latents; save it with ``save_pretrained`` under
    ``out_dir/unet`` and its noise schedule under ``out_dir/scheduler``.

    The target is ``prediction_type`` (``epsilon`` or ``v_prediction``; v converges faster on short
    schedules, Salimans & Ho 2022). ``embeddings`` are the CLIP image embeddings of the training
    images; each is replaced by zeros with probability ``condition_dropout`` (classifier-free
    guidance training). The saved weights are an exponential moving average of the trained ones
    (decay ``ema_decay``), which samples markedly cleaner after few steps. Returns the per-epoch
    loss history. Random draws come from a CPU generator, so the batches and noise are the same on
    any ``device``.
    """
    from diffusers import DDPMScheduler, UNet2DConditionModel

    if len(latents) != len(embeddings):
        raise ValueError(f"{len(latents)} latents but {len(embeddings)} embeddings")
    torch.manual_seed(cfg["seed"])
    x0 = torch.from_numpy(np.ascontiguousarray(latents)).float().to(device)
    cond = torch.from_numpy(np.ascontiguousarray(embeddings)).float().to(device)
    unet = UNet2DConditionModel(**tiny_unet_config(cfg, x0.shape[-1], x0.shape[1], cond.shape[1])).to(device)
    scheduler = DDPMScheduler(**TRAIN_SCHEDULE, prediction_type=cfg["prediction_type"])
    average = WeightAverage(unet, cfg["ema_decay"])
    optimiser, schedule = one_cycle_adamw(unet.parameters(), cfg, len(x0), weight_decay=0.01)
    generator = torch.Generator().manual_seed(cfg["seed"])
    history = []
    unet.train()
    for epoch in (progress or range)(cfg["epochs"]):
        total = 0.0
        for batch in shuffled_batches(len(x0), cfg["batch_size"], generator):
            batch = batch.to(device)
            clean = x0[batch]
            noise = torch.randn(clean.shape, generator=generator).to(device)
            timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (len(batch),), generator=generator).to(device)
            keep = (torch.rand(len(batch), generator=generator) >= cfg["condition_dropout"]).float()[:, None].to(device)
            embeds = cond[batch] * keep
            predicted = unet(scheduler.add_noise(clean, noise, timesteps), timesteps,
                             encoder_hidden_states=embeds[:, None], class_labels=embeds).sample
            target = noise if cfg["prediction_type"] == "epsilon" else scheduler.get_velocity(clean, noise, timesteps)
            total += training_step(((predicted - target) ** 2).mean(), optimiser, schedule, average) * len(batch)
        history.append({"epoch": epoch + 1, "loss": total / len(x0)})

    average.copy_to_module()
    unet.eval()
    with atomic_dir(out_dir) as tmp:
        unet.save_pretrained(tmp / UNET_FOLDER, safe_serialization=True)
        scheduler.save_pretrained(tmp / SCHEDULER_FOLDER)
    return history


def load_tiny_generator(folder: Path, vae, device: str = "cpu") -> ImageGenerator:
    """The tiny conditional UNet saved by :func:`train_tiny_unet`, with the VAE it was trained on."""
    from diffusers import DDPMScheduler, UNet2DConditionModel

    if not (Path(folder) / UNET_FOLDER / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no {UNET_FOLDER}/config.json; not a tiny generator folder")
    verify_artifact(folder)
    try:
        unet = UNet2DConditionModel.from_pretrained(folder, subfolder=UNET_FOLDER, local_files_only=True,
                                                    use_safetensors=True).to(device).eval()
        scheduler = DDPMScheduler.from_pretrained(folder, subfolder=SCHEDULER_FOLDER, local_files_only=True)
    except (OSError, ValueError) as exc:  # also a config that is not JSON, truncated or absent weights
        raise InputDataError(folder, f"cannot load the tiny generator (safetensors UNet and scheduler) ({exc})") from exc
    return ImageGenerator(unet=unet, vae=vae, scheduler_config=dict(scheduler.config), conditioning=_tiny_conditioning,
                          embed_dim=unet.config.cross_attention_dim, image_size=vae.config.sample_size,
                          name=f"tiny:{folder}")


def load_unclip_generator(model: str | Path, noise_level: int, device: str = "cpu") -> ImageGenerator:
    """A pretrained StableUnCLIPImg2ImgPipeline (folder, read offline, or hub id) as a generator.

    Its UNet is conditioned on an empty prompt's text embedding (cross-attention) and on the image
    embedding, noised to ``noise_level`` by the pipeline's own image-noising schedule (class labels).
    """
    from diffusers import StableUnCLIPImg2ImgPipeline

    local = Path(model).is_dir()
    if local and not (Path(model) / "model_index.json").is_file():
        raise FileNotFoundError(f"{model}: no model_index.json; not a diffusers pipeline folder")
    pipe = StableUnCLIPImg2ImgPipeline.from_pretrained(str(model), local_files_only=local, use_safetensors=True).to(device)
    if noise_level >= pipe.image_noising_scheduler.config.num_train_timesteps:
        raise ValueError(f"noise_level {noise_level} must be below the pipeline's "
                         f"{pipe.image_noising_scheduler.config.num_train_timesteps} image-noising steps")

    def conditioning(embeds: torch.Tensor, generator: torch.Generator) -> tuple[dict, dict]:
        text, _ = pipe.encode_prompt([""] * len(embeds), embeds.device, 1, False)
        noised = pipe.noise_image_embeddings(embeds.to(pipe.unet.dtype), noise_level=noise_level, generator=generator)
        return ({"encoder_hidden_states": text, "class_labels": noised},
                {"encoder_hidden_states": text, "class_labels": torch.zeros_like(noised)})

    embed_dim = pipe.image_normalizer.mean.shape[-1]
    return ImageGenerator(unet=pipe.unet.eval(), vae=pipe.vae.eval(), scheduler_config=dict(pipe.scheduler.config),
                          conditioning=conditioning, embed_dim=int(embed_dim),
                          image_size=pipe.unet.config.sample_size * pipe.vae_scale_factor, name=str(model))


def make_scheduler(sampler: str, scheduler_config: dict):
    """A fresh sampler of the named kind on the model's training noise schedule."""
    import diffusers

    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {sorted(SAMPLERS)}")
    return getattr(diffusers, SAMPLERS[sampler]).from_config(scheduler_config)


@torch.no_grad()
def guided_denoise(unet, init: torch.Tensor, conditioning: dict, *, sampler: str, scheduler_config: dict, steps: int,
                   strength: float, guidance: float, rng: torch.Generator) -> torch.Tensor:
    """diffusers' img2img loop: start latents noised to the timestep ``strength`` selects, then
    denoised with classifier-free guidance. ``conditioning``: the UNet's keyword arguments with the
    unconditional batch first and the conditional one second; noise is drawn from ``rng``."""
    device = next(unet.parameters()).device
    scheduler = make_scheduler(sampler, scheduler_config)
    scheduler.set_timesteps(steps)
    t_start = steps - min(max(int(round(steps * strength)), 1), steps)
    timesteps = scheduler.timesteps[t_start * scheduler.order:]
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(t_start * scheduler.order)
    noise = torch.randn(init.shape, generator=rng)
    latents = scheduler.add_noise(init, noise, timesteps[:1].repeat(len(init))).to(device)
    for t in timesteps:
        model_input = scheduler.scale_model_input(torch.cat([latents, latents]), t)
        noise_uncond, noise_cond = unet(model_input, t, **conditioning).sample.chunk(2)
        predicted = noise_uncond + guidance * (noise_cond - noise_uncond)
        latents = scheduler.step(predicted, t, latents, generator=rng).prev_sample
    return latents


@torch.no_grad()
def img2img(generator_model: ImageGenerator, init_images: np.ndarray, embeddings: np.ndarray, *, sampler: str,
            steps: int, guidance: float, strength: float, seed: int, batch_size: int = 50, progress=None) -> np.ndarray:
    """One image per (start image, embedding) pair: uint8 (n, H, W, 3) at the model's size.

    ``strength`` in (0, 1]: how far into the noise schedule the start image is pushed (1 keeps
    almost nothing of it); ``guidance``: classifier-free guidance scale (1 = none). Deterministic
    for a given ``seed`` and ``batch_size``.
    """
    if not 0 < strength <= 1:
        raise ValueError(f"strength must be in (0, 1], got {strength}")
    if embeddings.shape[1] != generator_model.embed_dim:
        raise ValueError(f"the generator {generator_model.name} takes {generator_model.embed_dim}-d image embeddings; "
                         f"the decoded embeddings are {embeddings.shape[1]}-d (use the CLIP model it was trained with)")
    unet, device = generator_model.unet, next(generator_model.unet.parameters()).device
    latents0 = encode_images(generator_model.vae, init_images, size=generator_model.image_size)
    rng = torch.Generator().manual_seed(seed)
    out = []
    starts = range(0, len(init_images), batch_size)
    for start in (progress(starts) if progress else starts):
        init = torch.from_numpy(latents0[start:start + batch_size]).float()
        embeds = torch.from_numpy(np.ascontiguousarray(embeddings[start:start + batch_size])).float().to(device)
        cond, uncond = generator_model.conditioning(embeds, rng)
        latents = guided_denoise(unet, init, {key: torch.cat([uncond[key], cond[key]]) for key in cond},
                                 sampler=sampler, scheduler_config=generator_model.scheduler_config, steps=steps,
                                 strength=strength, guidance=guidance, rng=rng)
        out.append(decode_latents(generator_model.vae, latents.cpu().numpy()))
    return np.concatenate(out)


def draw_images(image_generator: dict, starts: np.ndarray, embeddings: np.ndarray, *, vae, device: str = "cpu"
                ) -> np.ndarray:
    """Images drawn by the configured image generator from start images (uint8, any size) and
    decoded embeddings: how the video and 3D branches get a keyframe or an object's picture.
    ``image_generator`` holds its config section (``diffusion``), folder (``dir``) and ``sampling``."""
    image_cfg, sampling = image_generator["diffusion"], image_generator["sampling"]
    if image_cfg["model"] == "tiny":
        model = load_tiny_generator(Path(image_generator["dir"]), vae, device=device)
    else:
        model = load_unclip_generator(image_cfg["model"], sampling["noise_level"], device=device)
    return img2img(model, starts, embeddings, sampler=sampling["sampler"], steps=sampling["steps"],
                   guidance=sampling["guidance"], strength=sampling["strength"], seed=sampling["seed"],
                   batch_size=sampling["batch_size"])
