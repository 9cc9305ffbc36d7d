"""Video generation from decoded inputs, NeuroClips' design (Gong et al., NeurIPS 2024): a video
diffusion model conditioned on the decoded keyframe embedding (semantics) and the decoded motion,
started from the decoded blurry video (structure and coarse motion).

Two models go through this module:
- the embedded default, a tiny video UNet built by diffusers' ``UNetMotionModel.from_unet2d`` from
  the project's tiny image UNet (its image layers copied) plus a ``MotionAdapter`` (temporal
  attention at every level), trained on synthetic clips in the tiny VAE's latent space. The motion
  UNet has no class-label input, so both conditions enter as cross-attention tokens: the keyframe
  CLIP embedding, and a token a learned linear map makes from the coarse optical-flow field. Both
  tokens are dropped together at random in training, so classifier-free guidance works;
- a pretrained ``AnimateDiffSparseControlNetPipeline`` (a Stable Diffusion 1.5 folder, a motion
  adapter and the SparseCtrl RGB model), given the keyframe image as the frame-0 control, a prompt,
  and the blurry video noised to the first timestep as its initial latents (how NeuroClips'
  pipeline uses it).
The tiny sampler is img2img over clips: encode the blurry frames, noise them to the timestep that
``strength`` selects, denoise with classifier-free guidance.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neurorecon.artifacts import atomic_dir, verify_artifact
from neurorecon.io.inputs import InputDataError
from neurorecon.reconstruct.diffusion import SCHEDULER_FOLDER, TRAIN_SCHEDULE, UNET_FOLDER, guided_denoise
from neurorecon.reconstruct.vae import decode_latents, encode_images
from neurorecon.training import WeightAverage, one_cycle_adamw, shuffled_batches, training_step

MOTION_TOKENS = "motion_tokens"   # the flow -> token map: config.json + model.safetensors


@dataclass
class VideoGenerator:
    """The tiny video model: motion UNet, the flow-to-token map, the VAE and its noise schedule."""

    unet: torch.nn.Module
    motion_tokens: "MotionTokens"
    vae: torch.nn.Module
    scheduler_config: dict
    max_frames: int    # the longest clip its temporal position encoding covers
    name: str


class MotionTokens(torch.nn.Module):
    """A learned linear map from a flattened flow field (divided by ``flow_scale``, the training
    flows' SD, so that its entries are of order one) to a cross-attention token."""

    def __init__(self, flow_dim: int, embed_dim: int, flow_scale: float):
        super().__init__()
        self.config = {"flow_dim": int(flow_dim), "embed_dim": int(embed_dim), "flow_scale": float(flow_scale)}
        self.linear = torch.nn.Linear(flow_dim, embed_dim)

    def forward(self, flow: torch.Tensor) -> torch.Tensor:
        return self.linear(flow / self.config["flow_scale"])

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(self.config, indent=1, sort_keys=True))
        save_file({name: value.detach().contiguous() for name, value in self.state_dict().items()},
                  str(folder / "model.safetensors"))

    @classmethod
    def load(cls, folder: Path) -> "MotionTokens":
        from safetensors.torch import load_file

        try:
            config = json.loads((folder / "config.json").read_text())
            tokens = cls(config["flow_dim"], config["embed_dim"], config["flow_scale"])
            tokens.load_state_dict(load_file(str(folder / "model.safetensors")))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise InputDataError(folder, f"cannot load the motion-token map (config.json with flow_dim, embed_dim, "
                                         f"flow_scale and model.safetensors) ({exc})") from exc
        return tokens.eval()


def motion_unet(unet2d, cfg: dict):
    """A ``UNetMotionModel`` holding the image UNet's layers and fresh motion modules."""
    from diffusers import MotionAdapter, UNetMotionModel

    channels = tuple(unet2d.config.block_out_channels)
    adapter = MotionAdapter(block_out_channels=channels, motion_layers_per_block=unet2d.config.layers_per_block,
                            motion_norm_num_groups=math.gcd(*channels, 32),
                            motion_num_attention_heads=cfg["motion_attention_heads"],
                            motion_max_seq_length=cfg["max_frames"])
    return UNetMotionModel.from_unet2d(unet2d, adapter)


def condition_tokens(motion_tokens: MotionTokens, keyframes: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
    """(n, 2, d) cross-attention tokens: the keyframe embedding and the motion token."""
    return torch.stack([keyframes, motion_tokens(flows)], dim=1)


def _per_frame(tokens: torch.Tensor, frames: int) -> torch.Tensor:
    """The motion UNet runs its spatial layers on (clips * frames) images, so each clip's tokens
    are repeated for each of its frames."""
    return tokens.repeat_interleave(frames, dim=0)


def clips_to_latents(vae, clips: np.ndarray) -> np.ndarray:
    """Scaled latents (n, c, F, h, w) of uint8 clips (n, F, H, W, 3), each frame resized to the VAE's size."""
    n, frames = clips.shape[:2]
    latents = encode_images(vae, clips.reshape(n * frames, *clips.shape[2:]))
    return latents.reshape(n, frames, *latents.shape[1:]).transpose(0, 2, 1, 3, 4)


def latents_to_clips(vae, latents: np.ndarray) -> np.ndarray:
    """uint8 clips (n, F, H, W, 3) from latents (n, c, F, h, w)."""
    n, _, frames = latents.shape[:3]
    images = decode_latents(vae, latents.transpose(0, 2, 1, 3, 4).reshape(n * frames, *latents.shape[1:2],
                                                                          *latents.shape[3:]))
    return images.reshape(n, frames, *images.shape[1:])


def video_training_data(clip_bundle, vae, n_clips: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fresh synthetic 6-frame clips (moving shapes, drawn at the VAE's size) as training data:
    their latents (n, c, F, h, w), keyframe CLIP embeddings (n, d) and flow fields (n, k), the
    last two computed the way the decoding targets are (decode/video.py)."""
    from PIL import Image

    from neurorecon.decode.video import flow_targets, keyframe_index
    from neurorecon.stimuli.clip import embed_images
    from neurorecon.synth.video import draw_clip, sample_clips

    clips = sample_clips(n_clips, 1, np.random.default_rng([seed, 29]))
    frames = np.concatenate([draw_clip(clip, vae.config.sample_size) for clip in clips])
    keyframes = embed_images(clip_bundle, [Image.fromarray(clip[keyframe_index(clip.shape[0])]) for clip in frames])
    return clips_to_latents(vae, frames), keyframes, flow_targets(frames)


def train_tiny_video_unet(latents: np.ndarray, keyframes: np.ndarray, flows: np.ndarray, unet2d, cfg: dict,
                          out_dir: Path, progress=None, device: str = "cpu") -> list[dict]:
    """Fine-tune the image UNet's layers and train fresh motion modules and the motion-token map on
    clip latents (n, c, F, h, w) with their keyframe embeddings (n, d) and flows (n, k); save the
    EMA weights under ``out_dir`` (``unet``, ``motion_tokens``, ``scheduler``).

    Like the image UNet (:func:`neurorecon.reconstruct.diffusion.train_tiny_unet`): v or epsilon
    prediction, both conditions zeroed together with probability ``condition_dropout``, one-cycle
    AdamW, CPU-generator draws so that batches and noise do not depend on ``device``.
    """
    from diffusers import DDPMScheduler

    if not len(latents) == len(keyframes) == len(flows):
        raise ValueError(f"{len(latents)} clips but {len(keyframes)} keyframe embeddings and {len(flows)} flows")
    torch.manual_seed(cfg["seed"])
    x0 = torch.from_numpy(np.ascontiguousarray(latents)).float()
    key = torch.from_numpy(np.ascontiguousarray(keyframes)).float()
    flow = torch.from_numpy(np.ascontiguousarray(flows)).float()
    unet = motion_unet(unet2d, cfg).to(device)
    tokens = MotionTokens(flow.shape[1], key.shape[1], float(flow.std()) or 1.0).to(device)
    modules = torch.nn.ModuleList([unet, tokens])
    scheduler = DDPMScheduler(**TRAIN_SCHEDULE, prediction_type=cfg["prediction_type"])
    average = WeightAverage(modules, cfg["ema_decay"])
    optimiser, schedule = one_cycle_adamw(modules.parameters(), cfg, len(x0), weight_decay=0.01)
    generator = torch.Generator().manual_seed(cfg["seed"])
    frames = x0.shape[2]
    history = []
    modules.train()
    for epoch in (progress or range)(cfg["epochs"]):
        total = 0.0
        for batch in shuffled_batches(len(x0), cfg["batch_size"], generator):
            clean = x0[batch]
            noise = torch.randn(clean.shape, generator=generator)
            timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (len(batch),), generator=generator)
            keep = (torch.rand(len(batch), generator=generator) >= cfg["condition_dropout"]).float()[:, None, None]
            cond = condition_tokens(tokens, key[batch].to(device), flow[batch].to(device)) * keep.to(device)
            noisy = scheduler.add_noise(clean, noise, timesteps).to(device)
            predicted = unet(noisy, timesteps.to(device), encoder_hidden_states=_per_frame(cond, frames)).sample
            target = noise if cfg["prediction_type"] == "epsilon" else scheduler.get_velocity(clean, noise, timesteps)
            loss = ((predicted - target.to(device)) ** 2).mean()
            total += training_step(loss, optimiser, schedule, average) * len(batch)
        history.append({"epoch": epoch + 1, "loss": total / len(x0)})

    average.copy_to_module()
    with atomic_dir(out_dir) as tmp:
        unet.save_pretrained(tmp / UNET_FOLDER, safe_serialization=True)
        tokens.save(tmp / MOTION_TOKENS)
        scheduler.save_pretrained(tmp / SCHEDULER_FOLDER)
    return history


def load_tiny_video_generator(folder: Path, vae, device: str = "cpu") -> VideoGenerator:
    """The tiny video model saved by :func:`train_tiny_video_unet`, with the VAE it was trained in."""
    from diffusers import DDPMScheduler, UNetMotionModel

    folder = Path(folder)
    if not (folder / UNET_FOLDER / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no {UNET_FOLDER}/config.json; not a tiny video generator folder")
    verify_artifact(folder)
    try:
        unet = UNetMotionModel.from_pretrained(folder, subfolder=UNET_FOLDER, local_files_only=True,
                                               use_safetensors=True).to(device).eval()
        scheduler = DDPMScheduler.from_pretrained(folder, subfolder=SCHEDULER_FOLDER, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise InputDataError(folder, f"cannot load the tiny video generator (safetensors motion UNet and scheduler) "
                                     f"({exc})") from exc
    tokens = MotionTokens.load(folder / MOTION_TOKENS).to(device)
    if tokens.config["embed_dim"] != unet.config.cross_attention_dim:
        raise InputDataError(folder / MOTION_TOKENS, f"embed_dim {tokens.config['embed_dim']} but the UNet attends to "
                                                     f"{unet.config.cross_attention_dim}-d tokens")
    return VideoGenerator(unet=unet, motion_tokens=tokens, vae=vae, scheduler_config=dict(scheduler.config),
                          max_frames=int(unet.config.motion_max_seq_length), name=f"tiny-video:{folder}")


def _check_inputs(generator: VideoGenerator, init_clips: np.ndarray, keyframes: np.ndarray, flows: np.ndarray) -> None:
    embed_dim, flow_dim = generator.motion_tokens.config["embed_dim"], generator.motion_tokens.config["flow_dim"]
    if not len(init_clips) == len(keyframes) == len(flows):
        raise ValueError(f"{len(init_clips)} start clips but {len(keyframes)} keyframe embeddings and {len(flows)} flows")
    if keyframes.shape[1] != embed_dim:
        raise ValueError(f"the video generator {generator.name} takes {embed_dim}-d keyframe embeddings; the decoded "
                         f"ones are {keyframes.shape[1]}-d (use the CLIP model it was trained with)")
    if init_clips.shape[1] > generator.max_frames:
        raise ValueError(f"the video generator {generator.name} draws up to {generator.max_frames} frames; the start "
                         f"clips have {init_clips.shape[1]}")
    if flows.shape[1] != flow_dim:
        raise ValueError(f"the video generator {generator.name} takes {flow_dim}-value flow fields; the decoded ones "
                         f"have {flows.shape[1]}")


@torch.no_grad()
def animate(generator: VideoGenerator, init_clips: np.ndarray, keyframes: np.ndarray, flows: np.ndarray, *,
            sampler: str, steps: int, guidance: float, strength: float, seed: int, batch_size: int = 16,
            progress=None) -> np.ndarray:
    """One clip per (start clip, keyframe embedding, flow): uint8 (n, F, H, W, 3) at the VAE's size.

    ``init_clips`` are uint8 (n, F, h, w, 3) start clips of any size; ``strength`` in (0, 1] and
    ``guidance`` as in image sampling. Deterministic for a given ``seed`` and ``batch_size``.
    """
    if not 0 < strength <= 1:
        raise ValueError(f"strength must be in (0, 1], got {strength}")
    _check_inputs(generator, init_clips, keyframes, flows)
    unet, device = generator.unet, next(generator.unet.parameters()).device
    latents0 = clips_to_latents(generator.vae, init_clips)
    frames = latents0.shape[2]
    rng = torch.Generator().manual_seed(seed)
    out = []
    starts = range(0, len(init_clips), batch_size)
    for start in (progress(starts) if progress else starts):
        init = torch.from_numpy(latents0[start:start + batch_size]).float()
        key = torch.from_numpy(np.ascontiguousarray(keyframes[start:start + batch_size])).float().to(device)
        flow = torch.from_numpy(np.ascontiguousarray(flows[start:start + batch_size])).float().to(device)
        cond = condition_tokens(generator.motion_tokens, key, flow)
        both = _per_frame(torch.cat([torch.zeros_like(cond), cond]), frames)
        latents = guided_denoise(unet, init, {"encoder_hidden_states": both}, sampler=sampler,
                                 scheduler_config=generator.scheduler_config, steps=steps, strength=strength,
                                 guidance=guidance, rng=rng)
        out.append(latents_to_clips(generator.vae, latents.cpu().numpy()))
    return np.concatenate(out)


def load_sparsectrl_pipeline(base: str | Path, motion_adapter: str | Path, sparsectrl: str | Path, device: str = "cpu"):
    """diffusers' AnimateDiffSparseControlNetPipeline from a Stable Diffusion 1.5 folder (or hub id),
    a motion adapter and a SparseCtrl RGB model, each read offline when it is a local folder."""
    from diffusers import AnimateDiffSparseControlNetPipeline, DDIMScheduler, MotionAdapter, SparseControlNetModel

    def local(location):
        if Path(location).is_dir() and not any((Path(location) / name).is_file()
                                               for name in ("model_index.json", "config.json")):
            raise FileNotFoundError(f"{location}: neither model_index.json nor config.json; not a diffusers folder")
        return Path(location).is_dir()

    adapter = MotionAdapter.from_pretrained(str(motion_adapter), local_files_only=local(motion_adapter),
                                            use_safetensors=True)
    controlnet = SparseControlNetModel.from_pretrained(str(sparsectrl), local_files_only=local(sparsectrl),
                                                       use_safetensors=True)
    pipe = AnimateDiffSparseControlNetPipeline.from_pretrained(
        str(base), motion_adapter=adapter, controlnet=controlnet, local_files_only=local(base), use_safetensors=True)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config, clip_sample=False)
    return pipe.to(device)


@torch.no_grad()
def animate_sparsectrl(pipe, keyframe_images: np.ndarray, init_clips: np.ndarray, prompt: str, negative_prompt: str, *,
                       size: int, steps: int, guidance: float, seed: int, conditioning_scale: float = 1.0) -> np.ndarray:
    """NeuroClips' generation step with diffusers' pipeline: per clip, the keyframe image (uint8
    H, W, 3) is the SparseCtrl control at frame 0, and the start clip (uint8 F, h, w, 3), encoded
    by the pipeline's VAE and noised to the first (noisiest) timestep, is the initial latents of a
    full sampling run: a low-frequency prior mixed into the noise, as in NeuroClips' pipeline.
    Returns uint8 clips (n, F, size, size, 3)."""
    from PIL import Image

    if len(keyframe_images) != len(init_clips):
        raise ValueError(f"{len(keyframe_images)} keyframe images but {len(init_clips)} start clips")
    vae = pipe.vae
    frames = init_clips.shape[1]
    rng = torch.Generator().manual_seed(seed)
    out = []
    for keyframe, clip in zip(keyframe_images, init_clips):
        pixels = torch.from_numpy(np.ascontiguousarray(clip)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        pixels = torch.nn.functional.interpolate(pixels, size=(size, size), mode="bilinear", antialias=True)
        z = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist.mean * vae.config.scaling_factor
        z = z.permute(1, 0, 2, 3)[None]                                   # (1, c, F, h, w)
        pipe.scheduler.set_timesteps(steps)
        noise = torch.randn(z.shape, generator=rng).to(z.device, z.dtype)
        latents = pipe.scheduler.add_noise(z, noise, pipe.scheduler.timesteps[:1])
        result = pipe(prompt=prompt, negative_prompt=negative_prompt, height=size, width=size, num_frames=frames,
                      num_inference_steps=steps, guidance_scale=guidance, latents=latents,
                      conditioning_frames=[Image.fromarray(keyframe).resize((size, size))],
                      controlnet_frame_indices=[0], controlnet_conditioning_scale=conditioning_scale,
                      generator=rng, output_type="np")
        out.append(np.round(np.clip(result.frames[0], 0, 1) * 255).astype(np.uint8))
    return np.stack(out)


def start_clips(decoded: dict[str, np.ndarray], start: str) -> np.ndarray:
    """The uint8 clips generation starts from: the decoded blurry video (``blurry``, NeuroClips), or
    its keyframe moved along the decoded flow (``keyframe_flow``, the CVPR 2025 flow design)."""
    from neurorecon.decode.video import decoded_start_clips, flow_animated_clips

    blurry = decoded_start_clips(decoded)
    if start == "blurry":
        return blurry
    if start == "keyframe_flow":
        return flow_animated_clips(blurry, decoded["flow"])
    raise ValueError(f"unknown reconstruct.video.sampling.start {start!r}; expected blurry or keyframe_flow")


def apply_motion(clips: np.ndarray, flows: np.ndarray, motion: str) -> np.ndarray:
    """The final clips: the generator's own frames (``generator``), or its keyframe moved along the
    decoded flow (``flow_warp``, the CVPR 2025 design of animating a frame with decoded flow), which
    keeps the motion the brain data carry where the generator's frames flicker."""
    from neurorecon.decode.video import flow_animated_clips

    if motion == "generator":
        return clips
    if motion == "flow_warp":
        return flow_animated_clips(clips, flows, side=clips.shape[2])
    raise ValueError(f"unknown reconstruct.video.sampling.motion {motion!r}; expected flow_warp or generator")


def generate_clips(video_cfg: dict, start_clips: np.ndarray, keyframes: np.ndarray, flows: np.ndarray, *, vae,
                   video_dir: str | Path, image_generator: dict, device: str = "cpu", progress=None
                   ) -> tuple[np.ndarray, dict]:
    """Clips from decoded inputs with the configured generator (``reconstruct.video``), and what to
    record of the run (generator, seconds per clip).

    ``tiny``: the tiny video UNet in ``video_dir``; ``sparsectrl``: the keyframe image is drawn
    first by the image generator (``image_generator``: its config section, folder and sampling)
    from the blurry keyframe and the decoded embedding, as NeuroClips draws it with unCLIP."""
    import time

    from neurorecon.decode.video import keyframe_index

    sampling, began = video_cfg["sampling"], time.perf_counter()
    if video_cfg["model"] == "tiny":
        generator = load_tiny_video_generator(Path(video_dir), vae, device=device)
        clips = animate(generator, start_clips, keyframes, flows, sampler=sampling["sampler"], steps=sampling["steps"],
                        guidance=sampling["guidance"], strength=sampling["strength"], seed=sampling["seed"],
                        batch_size=sampling["batch_size"], progress=progress)
        name = generator.name
    elif video_cfg["model"] == "sparsectrl":
        from neurorecon.reconstruct.diffusion import draw_images

        spec = video_cfg["sparsectrl"]
        missing = [key for key in ("base", "motion_adapter", "controlnet") if not spec[key]]
        if missing:
            raise ValueError(f"reconstruct.video.model is sparsectrl but reconstruct.video.sparsectrl."
                             f"{', '.join(missing)} is not set (a folder or hub id)")
        keyframe_images = draw_images(image_generator, start_clips[:, keyframe_index(start_clips.shape[1])], keyframes,
                                      vae=vae, device=device)
        pipe = load_sparsectrl_pipeline(spec["base"], spec["motion_adapter"], spec["controlnet"], device=device)
        clips = animate_sparsectrl(pipe, keyframe_images, start_clips, spec["prompt"], spec["negative_prompt"],
                                   size=spec["size"], steps=sampling["steps"], guidance=sampling["guidance"],
                                   seed=sampling["seed"], conditioning_scale=spec["conditioning_scale"])
        name = f"sparsectrl:{spec['base']}"
    else:
        raise ValueError(f"reconstruct.video.model {video_cfg['model']!r} draws no clips")
    seconds = time.perf_counter() - began
    return clips, {"generator": name, "seconds_per_clip": seconds / max(len(clips), 1)}
