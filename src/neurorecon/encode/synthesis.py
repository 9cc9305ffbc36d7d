"""ROI-driven image synthesis (BrainDiVE, Luo et al., NeurIPS 2023): sample the image generator and,
at every step, push the latents up the gradient of the encoder's predicted mean response of a chosen
voxel population.

Each step follows BrainDiVE's guidance: the clean latents the model predicts are blended with the
noisy ones, decoded, embedded by CLIP and scored by the linear encoder; the gradient of the score
with respect to the noisy latents shifts the predicted noise (classifier guidance). BrainDiVE samples
Stable Diffusion unconditionally; the tiny generator's unconditional samples are too poor for that
(on the default world, gradient guidance alone names a colour population's colour in about 28% of
images, chance 17%), so by default the sampler is also conditioned on the population's preferred
CLIP embedding, its encoder direction projected onto natural images (BrainSCUBA's projection)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from neurorecon.encode.captions import project_to_images
from neurorecon.encode.linear import LinearEncoder
from neurorecon.reconstruct.diffusion import ImageGenerator, make_scheduler, tiny_tokens
from neurorecon.reconstruct.vae import tensor_to_images


def clip_embedder(bundle) -> Callable[[torch.Tensor], torch.Tensor]:
    """Differentiable CLIP image embeddings (unit length) of images in [0, 1] (n, 3, H, W), resized and
    normalised as the model's own transform does."""
    cfg = bundle.model.visual.preprocess_cfg
    size = bundle.model.visual.image_size
    size = size if isinstance(size, int) else size[0]
    mean = torch.tensor(cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(cfg["std"]).view(1, 3, 1, 1)

    def embed(images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != size:
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
        return F.normalize(bundle.model.encode_image((images - mean.to(images)) / std.to(images)).float(), dim=-1)

    return embed


def population_readout(encoder: LinearEncoder, voxels: np.ndarray) -> Callable[[torch.Tensor], torch.Tensor]:
    """The linear encoder's predicted mean response (in each voxel's training standard deviations
    above its mean) over ``voxels`` (boolean mask), as a function of CLIP image embeddings (n, d)."""
    members = np.flatnonzero(voxels)
    coef = torch.as_tensor(encoder.coef[:, members], dtype=torch.float32)
    mean = torch.as_tensor(encoder.mean, dtype=torch.float32)
    scale = torch.as_tensor(encoder.scale, dtype=torch.float32)
    spread = torch.as_tensor(np.linalg.norm(encoder.coef[:, members], axis=0) + 1e-9, dtype=torch.float32)

    def readout(embeddings: torch.Tensor) -> torch.Tensor:
        return (((embeddings - mean) / scale) @ coef / spread).mean(dim=1)

    return readout


def population_score(encoder: LinearEncoder, voxels: np.ndarray, embed: Callable) -> Callable[[torch.Tensor], torch.Tensor]:
    """:func:`population_readout` as a function of images in [0, 1] (n, 3, H, W), through ``embed``."""
    readout = population_readout(encoder, voxels)
    return lambda images: readout(embed(images))


def synthesise(generator: ImageGenerator, score: Callable[[torch.Tensor], torch.Tensor] | None, n_images: int, *,
               steps: int, guidance_scale: float, seed: int, condition: np.ndarray | None = None,
               condition_guidance: float = 1.0, batch_size: int = 16, progress=None) -> np.ndarray:
    """``n_images`` samples (uint8 (n, H, W, 3)) of the tiny generator, guided up ``score`` at
    ``guidance_scale`` (``score`` None or scale 0: plain samples from the same noise). Unconditional
    (BrainDiVE's empty prompt) unless ``condition`` gives a CLIP image embedding (d,) to condition on,
    with classifier-free guidance ``condition_guidance``. Deterministic for a given ``seed`` and
    ``batch_size``."""
    unet, vae = generator.unet, generator.vae
    device = next(unet.parameters()).device
    config = dict(generator.scheduler_config)
    prediction = config.get("prediction_type", "epsilon")
    scheduler = make_scheduler("ddim", {**config, "prediction_type": "epsilon"})
    scheduler.set_timesteps(steps)
    alphas = scheduler.alphas_cumprod.to(device)
    channels, size = unet.config.in_channels, unet.config.sample_size
    rng = torch.Generator().manual_seed(seed)
    empty = torch.zeros(1, generator.embed_dim, device=device)
    out = []
    starts = range(0, n_images, batch_size)
    for start in (progress(starts) if progress else starts):
        n = min(batch_size, n_images - start)
        latents = torch.randn((n, channels, size, size), generator=rng).to(device)
        embeds = [empty] if condition is None else [empty, torch.as_tensor(condition, dtype=torch.float32,
                                                                            device=device).reshape(1, -1)]
        conditioning = {"encoder_hidden_states": torch.cat([tiny_tokens(e, None).expand(n, -1, -1) for e in embeds]),
                        "class_labels": torch.cat([e.expand(n, -1) for e in embeds])}
        for t in scheduler.timesteps:
            alpha = alphas[t]
            with torch.enable_grad():
                noisy = latents.detach().requires_grad_(guidance_scale > 0 and score is not None)
                outputs = unet(torch.cat([noisy] * len(embeds)), t, **conditioning).sample.chunk(len(embeds))
                output = outputs[0] if condition is None else outputs[0] + condition_guidance * (outputs[1] - outputs[0])
                if prediction == "v_prediction":
                    epsilon = alpha.sqrt() * output + (1 - alpha).sqrt() * noisy
                else:
                    epsilon = output
                if noisy.requires_grad:
                    clean = (noisy - (1 - alpha).sqrt() * epsilon) / alpha.sqrt()
                    blended = (1 - alpha).sqrt() * clean + (1 - (1 - alpha).sqrt()) * noisy
                    images = (vae.decode(blended / vae.config.scaling_factor).sample.clamp(-1, 1) + 1) / 2
                    gradient = torch.autograd.grad(guidance_scale * score(images).sum(), noisy)[0]
                    epsilon = epsilon - (1 - alpha).sqrt() * gradient
            latents = scheduler.step(epsilon.detach(), t, latents).prev_sample
        with torch.no_grad():
            out.append(tensor_to_images(vae.decode(latents / vae.config.scaling_factor).sample))
    return np.concatenate(out)


def unit_images(images: np.ndarray) -> torch.Tensor:
    """uint8 images (n, H, W, 3) as floats in [0, 1] (n, 3, H, W), what ``embed`` and scores take."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


@torch.no_grad()
def predicted_scores(score: Callable[[torch.Tensor], torch.Tensor], images: np.ndarray) -> np.ndarray:
    """``score`` of uint8 images (n, H, W, 3)."""
    return score(unit_images(images)).numpy()


def roi_populations(roi: np.ndarray, roi_names: dict[int, str], names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Voxel masks of the named ROIs (all labelled ones when ``names`` is None), in ``roi`` order."""
    present = {name: roi == label for label, name in roi_names.items() if (roi == label).any()}
    unknown = sorted(set(names or []) - set(present))
    if unknown:
        raise KeyError(f"unknown synthesis target ROI(s) {unknown}; the encoded voxels are in {sorted(present)}")
    return {name: present[name] for name in (names or present)}


def preference_populations(clean: np.ndarray, attributes: pd.DataFrame, size: int) -> dict[str, np.ndarray]:
    """Synthetic world: for each value of each attribute column, the ``size`` voxels whose noise-free
    responses prefer it most (mean response to it minus the mean to the rest, in voxel standard
    deviations), named ``attribute=value``."""
    spread = clean.std(axis=0) + 1e-12
    populations = {}
    for column in attributes.columns:
        values = attributes[column].astype(str).to_numpy()
        for value in sorted(set(values)):
            contrast = (clean[values == value].mean(axis=0) - clean[values != value].mean(axis=0)) / spread
            mask = np.zeros(clean.shape[1], bool)
            mask[np.argsort(-contrast, kind="stable")[:size]] = True
            populations[f"{column}={value}"] = mask
    return populations


def population_condition(encoder: LinearEncoder, voxels: np.ndarray, image_embeddings: np.ndarray,
                         temperature: float) -> np.ndarray:
    """The CLIP image embedding a population prefers: its voxels' mean encoder direction, projected onto
    natural images' embeddings as the voxel captions are (BrainSCUBA), to condition the generator on."""
    direction = encoder.directions()[voxels].mean(axis=0)
    return project_to_images(direction[None] / np.linalg.norm(direction), image_embeddings, temperature)[0]


def synthesis_rows(targets: pd.DataFrame) -> list[dict]:
    """Summary rows of the targets table: per ROI target, ``activation_<roi>`` (the guided images' mean
    predicted response; chance: the unguided images'; ceiling: the training images that drive it most);
    per attribute of the preference populations, the same averaged (``activation_<attribute>``) and
    ``feature_hit_<attribute>``, how often the judge reads each population's preferred value in its
    images (chance: in the unguided images; ceiling 1)."""
    rows = []
    is_population = targets["target"].str.contains("=")
    for _, target in targets[~is_population].iterrows():
        rows.append({"metric": f"activation_{target['target']}", "value": target["predicted_guided"],
                     "chance": target["predicted_unguided"], "ceiling": target["predicted_top_natural"],
                     "n": int(target["voxels"])})
    populations = targets[is_population].assign(attribute=lambda t: t["target"].str.split("=").str[0])
    for attribute, group in populations.groupby("attribute", sort=True):
        rows.append({"metric": f"activation_{attribute}", "value": group["predicted_guided"].mean(),
                     "chance": group["predicted_unguided"].mean(), "ceiling": group["predicted_top_natural"].mean(),
                     "n": len(group)})
        if "hit_guided" in group:
            rows.append({"metric": f"feature_hit_{attribute}", "value": group["hit_guided"].mean(),
                         "chance": group["hit_unguided"].mean(), "ceiling": 1.0, "n": len(group)})
    return rows
