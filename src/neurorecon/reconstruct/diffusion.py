"""The high-level path: a latent diffusion model that draws an image from a CLIP image embedding,
started from the low-level reconstruction (img2img), as unCLIP-style reconstruction does
(Takagi & Nishimoto 2023; brain-diffuser, Ozcelik & VanRullen 2023; MindEye2, Scotti et al. 2024).

Two models go through one sampler:
- the embedded default, a tiny ``UNet2DConditionModel`` trained here on synthetic scenes in the
  tiny VAE's latent space, conditioned on the CLIP image embedding both through cross-attention
  and through the time embedding (``class_embed_type="projection"``, the way Stable unCLIP feeds
  its image embedding), and on the caption's CLIP text embedding as a second cross-attention token
  (as Stable unCLIP takes a prompt beside the image), with the conditions dropped at random during
  training so that classifier-free guidance works; and a ``ControlNetModel`` copied from that UNet
  and trained on the frozen UNet to follow a structure map (NeuroPictor's structural control);
- a pretrained ``StableUnCLIPImg2ImgPipeline`` (a folder or hub id), whose own ``encode_prompt`` and
  ``noise_image_embeddings`` turn decoded embeddings into its UNet's conditioning.
The sampler follows diffusers' img2img pipelines: encode the start image, noise it to the timestep
that ``strength`` selects, then denoise with classifier-free guidance, one scale per decoded input
(Brain-Streams): each input's prediction adds to the one without it (the nested guidance of
InstructPix2Pix, Brooks et al. 2023), and the control branch adds to every branch with its own
conditioning scale, as diffusers' ControlNet pipelines do.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from neurorecon.artifacts import atomic_dir, verify_artifact, write_json_atomic
from neurorecon.io.inputs import InputDataError
from neurorecon.reconstruct.vae import decode_latents, encode_images
from neurorecon.training import WeightAverage, one_cycle_adamw, shuffled_batches, training_step

UNET_FOLDER = "unet"
SCHEDULER_FOLDER = "scheduler"
CONTROLNET_FOLDER = "controlnet"
STRUCTURE_FILE = "structure.json"   # which structure maps (kind, size) the control branch was trained on
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

# (image embeddings, decoded text (embeddings or captions) or None, noise generator) -> the UNet's
# keyword arguments of the unconditional branch, then of one branch per guided input (image, then
# image + text)
Conditioning = Callable[[torch.Tensor, object, torch.Generator], tuple[dict, list[dict]]]


@dataclass
class ImageGenerator:
    """What the sampler needs: a UNet, its VAE and scheduler config, a function that turns decoded
    embeddings (n, d) and decoded text into the UNet's keyword arguments per guidance branch, and the
    control branch with the structure maps (kind, size) it follows, when the generator has one."""

    unet: torch.nn.Module
    vae: torch.nn.Module
    scheduler_config: dict
    conditioning: Conditioning
    embed_dim: int
    image_size: int
    name: str
    controlnet: torch.nn.Module | None = None
    structure: dict | None = None
    text_input: str | None = None   # what decoded text it takes: "embedding" (tiny), "caption" (unCLIP prompts)


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


def tiny_tokens(image: torch.Tensor, text: torch.Tensor | None) -> torch.Tensor:
    """The tiny UNet's cross-attention tokens: (n, 2, d), the image embedding and the text embedding
    (zeros where an input is absent, as the dropped inputs seen in training)."""
    return torch.stack([image, torch.zeros_like(image) if text is None else text], dim=1)


def _tiny_conditioning(embeds: torch.Tensor, text: torch.Tensor | None, generator: torch.Generator
                       ) -> tuple[dict, list[dict]]:
    """Unconditional branch: every input zero; then the image branch; then image + text."""
    empty = torch.zeros_like(embeds)
    streams = [{"encoder_hidden_states": tiny_tokens(embeds, None), "class_labels": embeds}]
    if text is not None:
        streams.append({"encoder_hidden_states": tiny_tokens(embeds, text), "class_labels": embeds})
    return {"encoder_hidden_states": tiny_tokens(empty, None), "class_labels": empty}, streams


def _dropped_inputs(n: int, cfg: dict, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per training example, whether its image and its text condition are kept: all inputs are
    dropped together with probability ``condition_dropout`` (the unconditional branch), and the
    text alone with ``text_dropout`` (the image-only branch of nested guidance)."""
    keep = (torch.rand(n, generator=generator) >= cfg["condition_dropout"]).float()
    keep_text = keep * (torch.rand(n, generator=generator) >= cfg["text_dropout"]).float()
    return keep[:, None], keep_text[:, None]


def train_tiny_unet(latents: np.ndarray, embeddings: np.ndarray, texts: np.ndarray, cfg: dict, out_dir: Path,
                    progress=None, device: str = "cpu", maps: np.ndarray | None = None) -> list[dict]:
    """Train the tiny conditional UNet on VAE latents, then (given structure ``maps``) its control
    branch; save them with ``save_pretrained`` under ``out_dir/unet`` and ``out_dir/controlnet``,
    the noise schedule under ``out_dir/scheduler``.

    The target is ``prediction_type`` (``epsilon`` or ``v_prediction``; v converges faster on short
    schedules, Salimans & Ho 2022). ``embeddings`` and ``texts`` are the CLIP image and caption
    embeddings of the training images, dropped at random (:func:`_dropped_inputs`) for guidance.
    The saved weights are an exponential moving average of the trained ones (decay ``ema_decay``),
    which samples markedly cleaner after few steps. Returns the per-epoch loss history of both.
    Random draws come from a CPU generator, so the batches and noise are the same on any ``device``.
    """
    from diffusers import DDPMScheduler, UNet2DConditionModel

    if not len(latents) == len(embeddings) == len(texts):
        raise ValueError(f"{len(latents)} latents, {len(embeddings)} image and {len(texts)} text embeddings")
    torch.manual_seed(cfg["seed"])
    x0 = torch.from_numpy(np.ascontiguousarray(latents)).float().to(device)
    cond = torch.from_numpy(np.ascontiguousarray(embeddings)).float().to(device)
    text = torch.from_numpy(np.ascontiguousarray(texts)).float().to(device)
    unet = UNet2DConditionModel(**tiny_unet_config(cfg, x0.shape[-1], x0.shape[1], cond.shape[1])).to(device)
    scheduler = DDPMScheduler(**TRAIN_SCHEDULE, prediction_type=cfg["prediction_type"])
    generator = torch.Generator().manual_seed(cfg["seed"])

    def batches():
        for batch in shuffled_batches(len(x0), cfg["batch_size"], generator):
            keep, keep_text = (k.to(device) for k in _dropped_inputs(len(batch), cfg, generator))
            batch = batch.to(device)
            noise = torch.randn(x0[batch].shape, generator=generator).to(device)
            timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (len(batch),), generator=generator).to(device)
            image = cond[batch] * keep
            kwargs = {"encoder_hidden_states": tiny_tokens(image, text[batch] * keep_text), "class_labels": image}
            clean = x0[batch]
            target = noise if cfg["prediction_type"] == "epsilon" else scheduler.get_velocity(clean, noise, timesteps)
            yield batch, scheduler.add_noise(clean, noise, timesteps), timesteps, kwargs, target

    history = []
    average = WeightAverage(unet, cfg["ema_decay"])
    optimiser, schedule = one_cycle_adamw(unet.parameters(), cfg, len(x0), weight_decay=0.01)
    unet.train()
    for epoch in (progress or range)(cfg["epochs"]):
        total = 0.0
        for batch, noisy, timesteps, kwargs, target in batches():
            predicted = unet(noisy, timesteps, **kwargs).sample
            total += training_step(((predicted - target) ** 2).mean(), optimiser, schedule, average) * len(batch)
        history.append({"model": "unet", "epoch": epoch + 1, "loss": total / len(x0)})
    average.copy_to_module()
    unet.eval()

    controlnet = None
    if maps is not None:
        controlnet, control_history = _train_controlnet(unet, batches, maps, cfg, device, generator, progress)
        history += control_history
    with atomic_dir(out_dir) as tmp:
        unet.save_pretrained(tmp / UNET_FOLDER, safe_serialization=True)
        scheduler.save_pretrained(tmp / SCHEDULER_FOLDER)
        if controlnet is not None:
            controlnet.save_pretrained(tmp / CONTROLNET_FOLDER, safe_serialization=True)
            write_json_atomic(tmp / CONTROLNET_FOLDER / STRUCTURE_FILE,
                              {"kind": cfg["controlnet"]["structure"], "size": int(maps.shape[-1])})
    return history


def degrade_maps(maps: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Structure maps made to look decoded: contrast scaled down by a random factor in [0.6, 1],
    plus Gaussian noise (sd 0.05), so that the control branch also follows ridge-decoded maps
    (blurred, lower contrast), not only crisp true or retrieved ones."""
    scale = 0.6 + 0.4 * torch.rand(len(maps), 1, 1, 1, generator=generator)
    return maps * scale.to(maps.device) + 0.05 * torch.randn(maps.shape, generator=generator).to(maps.device)


def _train_controlnet(unet, batches, maps: np.ndarray, cfg: dict, device: str, generator: torch.Generator,
                      progress) -> tuple[torch.nn.Module, list[dict]]:
    """A ControlNetModel copied from the trained ``unet`` (kept frozen) and trained to steer it with
    structure maps (n, s, s) at the latent size; a map is blanked with probability ``map_dropout``."""
    from diffusers import ControlNetModel

    control_cfg = cfg["controlnet"]
    structure = maps_at(maps, unet.config.sample_size).to(device)
    controlnet = ControlNetModel.from_unet(unet, conditioning_channels=1,
                                           conditioning_embedding_out_channels=(16,)).to(device)
    unet.requires_grad_(False)
    average = WeightAverage(controlnet, cfg["ema_decay"])
    optimiser, schedule = one_cycle_adamw(controlnet.parameters(), {**cfg, **control_cfg}, len(maps), weight_decay=0.01)
    history = []
    controlnet.train()
    for epoch in (progress or range)(control_cfg["epochs"]):
        total = 0.0
        for batch, noisy, timesteps, kwargs, target in batches():
            keep_map = (torch.rand(len(batch), generator=generator) >= control_cfg["map_dropout"]).float()
            control = degrade_maps(structure[batch], generator) * keep_map[:, None, None, None].to(device)
            down, mid = controlnet(noisy, timesteps, controlnet_cond=control, return_dict=False, **kwargs)
            predicted = unet(noisy, timesteps, down_block_additional_residuals=down,
                             mid_block_additional_residual=mid, **kwargs).sample
            total += training_step(((predicted - target) ** 2).mean(), optimiser, schedule, average) * len(batch)
        history.append({"model": "controlnet", "epoch": epoch + 1, "loss": total / len(maps)})
    average.copy_to_module()
    return controlnet.eval(), history


def load_tiny_generator(folder: Path, vae, device: str = "cpu") -> ImageGenerator:
    """The tiny conditional UNet saved by :func:`train_tiny_unet`, with the VAE it was trained on,
    and its control branch when the folder has one."""
    from diffusers import ControlNetModel, DDPMScheduler, UNet2DConditionModel

    if not (Path(folder) / UNET_FOLDER / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no {UNET_FOLDER}/config.json; not a tiny generator folder")
    verify_artifact(folder)
    controlnet, structure = None, None
    try:
        unet = UNet2DConditionModel.from_pretrained(folder, subfolder=UNET_FOLDER, local_files_only=True,
                                                    use_safetensors=True).to(device).eval()
        scheduler = DDPMScheduler.from_pretrained(folder, subfolder=SCHEDULER_FOLDER, local_files_only=True)
        if (Path(folder) / CONTROLNET_FOLDER / "config.json").is_file():
            controlnet = ControlNetModel.from_pretrained(folder, subfolder=CONTROLNET_FOLDER, local_files_only=True,
                                                         use_safetensors=True).to(device).eval()
            structure = json.loads((Path(folder) / CONTROLNET_FOLDER / STRUCTURE_FILE).read_text())
    except (OSError, ValueError) as exc:  # also a config that is not JSON, truncated or absent weights
        raise InputDataError(folder, f"cannot load the tiny generator (safetensors UNet, scheduler and control "
                                     f"branch) ({exc})") from exc
    return ImageGenerator(unet=unet, vae=vae, scheduler_config=dict(scheduler.config), conditioning=_tiny_conditioning,
                          embed_dim=unet.config.cross_attention_dim, image_size=vae.config.sample_size,
                          name=f"tiny:{folder}", controlnet=controlnet, structure=structure,
                          text_input="embedding")


def load_unclip_generator(model: str | Path, noise_level: int, device: str = "cpu",
                          controlnet: str | Path | None = None) -> ImageGenerator:
    """A pretrained StableUnCLIPImg2ImgPipeline (folder, read offline, or hub id) as a generator.

    Its UNet is conditioned on a prompt's text encoding (cross-attention) and on the image
    embedding, noised to ``noise_level`` by the pipeline's own image-noising schedule (class labels).
    The image branch has an empty prompt; given decoded captions, a further branch prompts with them
    (their encodings by the pipeline's own text encoder: decoded text in the form the pipeline reads).
    ``controlnet``: a diffusers ControlNetModel (folder, read offline, or hub id) built for this UNet
    (e.g. one trained on Stable Diffusion 2.1), fed the decoded structure maps.
    """
    from diffusers import StableUnCLIPImg2ImgPipeline

    local = Path(model).is_dir()
    if local and not (Path(model) / "model_index.json").is_file():
        raise FileNotFoundError(f"{model}: no model_index.json; not a diffusers pipeline folder")
    pipe = StableUnCLIPImg2ImgPipeline.from_pretrained(str(model), local_files_only=local, use_safetensors=True).to(device)
    if noise_level >= pipe.image_noising_scheduler.config.num_train_timesteps:
        raise ValueError(f"noise_level {noise_level} must be below the pipeline's "
                         f"{pipe.image_noising_scheduler.config.num_train_timesteps} image-noising steps")

    def conditioning(embeds: torch.Tensor, captions, generator: torch.Generator) -> tuple[dict, list[dict]]:
        empty, _ = pipe.encode_prompt([""] * len(embeds), embeds.device, 1, False)
        noised = pipe.noise_image_embeddings(embeds.to(pipe.unet.dtype), noise_level=noise_level, generator=generator)
        streams = [{"encoder_hidden_states": empty, "class_labels": noised}]
        if captions is not None:
            prompt, _ = pipe.encode_prompt([str(c) for c in captions], embeds.device, 1, False)
            streams.append({"encoder_hidden_states": prompt, "class_labels": noised})
        return {"encoder_hidden_states": empty, "class_labels": torch.zeros_like(noised)}, streams

    control = None
    if controlnet is not None:
        from diffusers import ControlNetModel

        local_control = Path(controlnet).is_dir()
        if local_control and not (Path(controlnet) / "config.json").is_file():
            raise FileNotFoundError(f"{controlnet}: no config.json; not a diffusers ControlNetModel folder")
        control = ControlNetModel.from_pretrained(str(controlnet), local_files_only=local_control,
                                                  use_safetensors=True).to(device).eval()
    embed_dim = pipe.image_normalizer.mean.shape[-1]
    return ImageGenerator(unet=pipe.unet.eval(), vae=pipe.vae.eval(), scheduler_config=dict(pipe.scheduler.config),
                          conditioning=conditioning, embed_dim=int(embed_dim),
                          image_size=pipe.unet.config.sample_size * pipe.vae_scale_factor, name=str(model),
                          text_input="caption", controlnet=control)


def make_scheduler(sampler: str, scheduler_config: dict):
    """A fresh sampler of the named kind on the model's training noise schedule."""
    import diffusers

    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {sorted(SAMPLERS)}")
    return getattr(diffusers, SAMPLERS[sampler]).from_config(scheduler_config)


@torch.no_grad()
def guided_denoise(unet, init: torch.Tensor, conditioning: dict, *, sampler: str, scheduler_config: dict, steps: int,
                   strength: float, guidance: float | Sequence[float], rng: torch.Generator,
                   control: tuple | None = None) -> torch.Tensor:
    """diffusers' img2img loop: start latents noised to the timestep ``strength`` selects, then
    denoised with classifier-free guidance. ``conditioning``: the UNet's keyword arguments of every
    branch stacked along the batch, the unconditional branch first; ``guidance``: one scale per
    further branch, each weighing that branch's prediction against the one before it (one scale:
    plain classifier-free guidance). ``control``: (controlnet, maps (n, 1, h, w), scale), added to
    every branch. Noise is drawn from ``rng``."""
    device = next(unet.parameters()).device
    weights = [float(guidance)] if np.isscalar(guidance) else [float(w) for w in guidance]
    branches = len(weights) + 1
    scheduler = make_scheduler(sampler, scheduler_config)
    scheduler.set_timesteps(steps)
    t_start = steps - min(max(int(round(steps * strength)), 1), steps)
    timesteps = scheduler.timesteps[t_start * scheduler.order:]
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(t_start * scheduler.order)
    noise = torch.randn(init.shape, generator=rng)
    latents = scheduler.add_noise(init, noise, timesteps[:1].repeat(len(init))).to(device)
    for t in timesteps:
        model_input = scheduler.scale_model_input(torch.cat([latents] * branches), t)
        residuals = {}
        if control is not None:
            controlnet, maps, scale = control
            down, mid = controlnet(model_input, t, controlnet_cond=torch.cat([maps] * branches),
                                   conditioning_scale=scale, return_dict=False, **conditioning)
            residuals = {"down_block_additional_residuals": down, "mid_block_additional_residual": mid}
        predictions = unet(model_input, t, **conditioning, **residuals).sample.chunk(branches)
        predicted = predictions[0]
        for k, weight in enumerate(weights):
            predicted = predicted + weight * (predictions[k + 1] - predictions[k])
        latents = scheduler.step(predicted, t, latents, generator=rng).prev_sample
    return latents


def _control_maps(generator_model: ImageGenerator, structure: np.ndarray) -> torch.Tensor:
    """Decoded structure maps (n, s, s) as the control branch's input: resized to the size its
    conditioning embedding brings down to the latent size (the latent size for the tiny branch, the
    image size for one built like Stable Diffusion's), repeated to its channels."""
    controlnet = generator_model.controlnet
    if controlnet is None:
        raise ValueError(f"the generator {generator_model.name} has no control branch for structure maps; "
                         f"leave structure out of reconstruct.sampling.inputs")
    downsampling = 2 ** (len(controlnet.config.conditioning_embedding_out_channels) - 1)
    maps = maps_at(structure, generator_model.unet.config.sample_size * downsampling)
    return maps.repeat(1, controlnet.config.conditioning_channels, 1, 1)


def maps_at(maps: np.ndarray, size: int) -> torch.Tensor:
    """Structure maps (n, s, s) as a (n, 1, size, size) tensor, resized bilinearly where s differs."""
    tensor = torch.from_numpy(np.ascontiguousarray(maps)).float()[:, None]
    if tensor.shape[-1] != size:
        tensor = torch.nn.functional.interpolate(tensor, size=size, mode="bilinear", align_corners=False)
    return tensor


@torch.no_grad()
def img2img(generator_model: ImageGenerator, init_images: np.ndarray, embeddings: np.ndarray, *, sampler: str,
            steps: int, guidance: float, strength: float, seed: int, batch_size: int = 50, progress=None,
            text: np.ndarray | None = None, text_guidance: float = 1.0, structure: np.ndarray | None = None,
            structure_scale: float = 1.0) -> np.ndarray:
    """One image per (start image, embedding) pair: uint8 (n, H, W, 3) at the model's size.

    ``strength`` in (0, 1]: how far into the noise schedule the start image is pushed (1 keeps
    almost nothing of it); ``guidance``: classifier-free guidance scale of the image embedding (1 =
    none). Optional decoded inputs: ``text`` (embeddings (n, d) for the tiny generator, captions for
    an unCLIP pipeline), guided by ``text_guidance`` on top of the image, and ``structure`` maps
    (n, s, s) through the control branch at ``structure_scale``.
    Deterministic for a given ``seed`` and ``batch_size``.
    """
    if not 0 < strength <= 1:
        raise ValueError(f"strength must be in (0, 1], got {strength}")
    if embeddings.shape[1] != generator_model.embed_dim:
        raise ValueError(f"the generator {generator_model.name} takes {generator_model.embed_dim}-d image embeddings; "
                         f"the decoded embeddings are {embeddings.shape[1]}-d (use the CLIP model it was trained with)")
    captions = generator_model.text_input == "caption"
    if text is not None:
        given = "caption" if np.asarray(text).dtype.kind in "USO" else "embedding"
        if given != generator_model.text_input:
            raise ValueError(f"the generator {generator_model.name} takes decoded text as "
                             f"{generator_model.text_input or 'nothing'}s; it was given {given}s")
    maps = None if structure is None else _control_maps(generator_model, structure)
    unet, device = generator_model.unet, next(generator_model.unet.parameters()).device
    latents0 = encode_images(generator_model.vae, init_images, size=generator_model.image_size)
    rng = torch.Generator().manual_seed(seed)
    as_tensor = lambda values: torch.from_numpy(np.ascontiguousarray(values)).float().to(device)  # noqa: E731
    out = []
    starts = range(0, len(init_images), batch_size)
    for start in (progress(starts) if progress else starts):
        rows = slice(start, start + batch_size)
        init = torch.from_numpy(latents0[rows]).float()
        decoded_text = None if text is None else list(text[rows]) if captions else as_tensor(text[rows])
        uncond, streams = generator_model.conditioning(as_tensor(embeddings[rows]), decoded_text, rng)
        branches = [uncond, *streams]
        control = None if maps is None else (generator_model.controlnet, maps[rows].to(device), structure_scale)
        latents = guided_denoise(unet, init, {key: torch.cat([branch[key] for branch in branches]) for key in uncond},
                                 sampler=sampler, scheduler_config=generator_model.scheduler_config, steps=steps,
                                 strength=strength, guidance=[guidance, text_guidance][:len(streams)], rng=rng,
                                 control=control)
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
        model = load_unclip_generator(image_cfg["model"], sampling["noise_level"], device=device,
                                      controlnet=image_cfg["controlnet"])
    return img2img(model, starts, embeddings, sampler=sampling["sampler"], steps=sampling["steps"],
                   guidance=sampling["guidance"], strength=sampling["strength"], seed=sampling["seed"],
                   batch_size=sampling["batch_size"])
