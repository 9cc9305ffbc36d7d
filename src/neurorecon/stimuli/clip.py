"""CLIP image and text embeddings of the stimuli through open-clip-torch.

Real use names an OpenCLIP model and pretrained tag (``ViT-H-14`` / ``laion2b_s32b_b79k``), a
checkpoint file, or a folder in the Hugging Face hub layout (``open_clip_config.json`` +
``open_clip_model.safetensors``). The embedded default trains a tiny OpenCLIP model from a custom
config on synthetic image-caption pairs, saves it in that same folder layout, and loads it back
through :func:`load_clip`, the loader every real checkpoint goes through.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from neurorecon.artifacts import atomic_path, write_json_atomic
from neurorecon.config import RESNET_DOWNSAMPLING
from neurorecon.training import one_cycle_adamw, shuffled_batches

CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.safetensors"
LOCAL_DIR = "local-dir:"


@dataclass
class ClipBundle:
    """A loaded OpenCLIP model with its image transform and tokenizer."""

    model: torch.nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]
    tokenizer: Callable[[Sequence[str]], torch.Tensor]
    name: str


def tiny_model_config(cfg: dict, image_size: int) -> dict:
    """An OpenCLIP model config sized by ``cfg``: a text transformer, and an image tower that is
    either a small ``ModifiedResNet`` (one bottleneck block per stage, ``resnet_width`` stem
    channels; convolutions pick up the shapes of our scenes far sooner than patches do) or a ViT."""
    if cfg["vision_tower"] == "resnet":
        if image_size % RESNET_DOWNSAMPLING:
            raise ValueError(f"the tiny CLIP's resnet tower needs an image size that is a multiple of "
                             f"{RESNET_DOWNSAMPLING}, got {image_size}; use vision_tower: vit or a larger image_size")
        vision = {"image_size": image_size, "layers": [1, 1, 1, 1], "width": cfg["resnet_width"],
                  "head_width": cfg["head_width"]}
    elif cfg["vision_tower"] == "vit":
        vision = {"image_size": image_size, "layers": cfg["layers"], "width": cfg["width"],
                  "head_width": cfg["head_width"], "patch_size": cfg["patch_size"]}
    else:
        raise ValueError(f"unknown vision_tower {cfg['vision_tower']!r}; expected 'resnet' or 'vit'")
    return {
        "embed_dim": cfg["embed_dim"],
        "vision_cfg": vision,
        "text_cfg": {"context_length": cfg["context_length"], "vocab_size": 49408, "width": cfg["width"],
                     "heads": cfg["width"] // cfg["head_width"], "layers": cfg["layers"]},
    }


def _normalise_images(images: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float (n, 3, H, W) normalised as the model's transform does."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(mean)[None, :, None, None]) / torch.tensor(std)[None, :, None, None]


def train_tiny_clip(
    images: np.ndarray, captions: Sequence[str], cfg: dict, out_dir: Path, progress=None, device: str = "cpu",
    group: int = 1,
) -> list[dict]:
    """Train a tiny OpenCLIP model contrastively on image-caption pairs; save it in the hub layout.

    ``group`` > 1: consecutive pairs form hard-negative groups (scenes that differ in one
    attribute), each kept within one minibatch. Returns the per-epoch loss history. Deterministic
    for a given ``cfg["seed"]`` on one device.
    """
    import open_clip
    from safetensors.torch import save_file

    torch.manual_seed(cfg["seed"])
    model_cfg = tiny_model_config(cfg, images.shape[1])
    model = open_clip.CLIP(**model_cfg).to(device)
    tokenizer = open_clip.SimpleTokenizer(context_length=cfg["context_length"])
    preprocess_cfg = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "interpolation": "bicubic",
                      "resize_mode": "shortest", "size": images.shape[1]}
    pixels = _normalise_images(images, preprocess_cfg["mean"], preprocess_cfg["std"]).to(device)
    tokens = tokenizer(list(captions)).to(device)
    optimiser, schedule = one_cycle_adamw(model.parameters(), cfg, len(pixels), cfg["weight_decay"], group)
    generator = torch.Generator().manual_seed(cfg["seed"])
    history = []
    model.train()
    for epoch in (progress or range)(cfg["epochs"]):
        total = 0.0
        for batch in shuffled_batches(len(pixels), cfg["batch_size"], generator, group):
            batch = batch.to(device)
            image_features, text_features, logit_scale = model(pixels[batch], tokens[batch])[:3]
            logits = logit_scale * image_features @ text_features.T
            labels = torch.arange(len(batch), device=device)
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(batch)
        history.append({"epoch": epoch + 1, "loss": total / len(pixels)})

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(out_dir / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp))
    write_json_atomic(out_dir / CONFIG_FILE, {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg})
    return history


def load_clip(model: str, pretrained: str | None = None, device: str = "cpu") -> ClipBundle:
    """Load an OpenCLIP model for inference.

    ``model`` is an OpenCLIP model name (``ViT-H-14``; ``pretrained`` is then a tag such as
    ``laion2b_s32b_b79k`` or a checkpoint path), or ``local-dir:<folder>`` / a folder path in the hub
    layout (config + safetensors weights). Weights are never unpickled beyond ``weights_only``.
    """
    import open_clip

    if Path(model).is_dir():
        model = LOCAL_DIR + str(model)
    if model.startswith(LOCAL_DIR):
        folder = Path(model[len(LOCAL_DIR):])
        if not (folder / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{folder}: not an OpenCLIP model folder; expected {CONFIG_FILE} and weights inside")
        pretrained = None
    clip_model, _, preprocess = open_clip.create_model_and_transforms(
        model, pretrained=pretrained, device=device, weights_only=True)
    clip_model.eval()
    return ClipBundle(model=clip_model, preprocess=preprocess, tokenizer=open_clip.get_tokenizer(model), name=model)


@torch.no_grad()
def embed_images(bundle: ClipBundle, images: Sequence[Image.Image], batch_size: int = 64) -> np.ndarray:
    """L2-normalised CLIP image embeddings (n, d), through the model's own transform."""
    device = next(bundle.model.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        batch = torch.stack([bundle.preprocess(image) for image in images[start:start + batch_size]]).to(device)
        out.append(F.normalize(bundle.model.encode_image(batch).float(), dim=-1).cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def embed_texts(bundle: ClipBundle, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """L2-normalised CLIP text embeddings (n, d)."""
    device = next(bundle.model.parameters()).device
    out = []
    for start in range(0, len(texts), batch_size):
        tokens = bundle.tokenizer(list(texts[start:start + batch_size])).to(device)
        out.append(F.normalize(bundle.model.encode_text(tokens).float(), dim=-1).cpu())
    return torch.cat(out).numpy()


def caption_retrieval(image_embeddings: np.ndarray, text_embeddings: np.ndarray, captions: Sequence[str]) -> dict:
    """Top-1 image->caption and caption->image retrieval; a hit is any item with the same caption
    (two scenes can share a caption and differ only in texture). Chance is given for comparison."""
    captions = np.asarray(captions)
    similarity = image_embeddings @ text_embeddings.T
    same = captions[:, None] == captions[None, :]
    image_to_text = same[np.arange(len(captions)), similarity.argmax(1)].mean()
    text_to_image = same[similarity.argmax(0), np.arange(len(captions))].mean()
    return {
        "image_to_text_top1": float(image_to_text),
        "text_to_image_top1": float(text_to_image),
        "chance": float(same.sum(1).mean() / len(captions)),
        "n": int(len(captions)),
    }
