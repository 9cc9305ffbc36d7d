"""Image features for the encoders: the CLIP image embedding, and the image tower's spatial tokens."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from PIL import Image

from neurorecon.stimuli.clip import ClipBundle

RESNET_TOKEN_STAGE = "layer2"   # 1/8 of the image side: 8x8 tokens for 64-pixel scenes


def token_module(bundle: ClipBundle, stage: str = "auto") -> torch.nn.Module:
    """The submodule whose output holds the spatial tokens: a ResNet stage (``auto``: layer2) of a
    ModifiedResNet tower, or a ViT tower's transformer (its last block's tokens)."""
    visual = bundle.model.visual
    if hasattr(visual, "transformer"):
        return visual.transformer
    name = RESNET_TOKEN_STAGE if stage == "auto" else stage
    if not hasattr(visual, name):
        raise ValueError(f"the image tower {type(visual).__name__} has no stage {name!r}; "
                         f"expected auto, layer1, layer2, layer3 or layer4")
    return getattr(visual, name)


def _as_tokens(output: torch.Tensor, batch: int) -> torch.Tensor:
    """(B, C, H, W) feature maps or (B, L, C) / (L, B, C) transformer tokens -> (B, N, C) without the class token."""
    if output.dim() == 4:
        return output.flatten(2).transpose(1, 2)
    if output.shape[0] != batch:
        output = output.transpose(0, 1)
    return output[:, 1:]


@torch.no_grad()
def image_tokens(bundle: ClipBundle, images: Sequence[Image.Image], stage: str = "auto",
                 batch_size: int = 64) -> np.ndarray:
    """Spatial tokens (n, N, C) of each image through the model's own transform: read with a forward
    hook on the tower's token module, so the model itself is left as it is."""
    module = token_module(bundle, stage)
    device = next(bundle.model.parameters()).device
    captured = []
    hook = module.register_forward_hook(lambda _module, _inputs, output: captured.append(output))
    try:
        out = []
        for start in range(0, len(images), batch_size):
            batch = torch.stack([bundle.preprocess(image) for image in images[start:start + batch_size]]).to(device)
            captured.clear()
            bundle.model.encode_image(batch)
            out.append(_as_tokens(captured[-1], len(batch)).float().cpu())
    finally:
        hook.remove()
    return torch.cat(out).numpy()
