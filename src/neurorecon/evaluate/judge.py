"""An independent judge of synthetic reconstructions: a small CNN trained on freshly drawn synthetic
scenes to name a scene's shape and colour from its pixels.

The CLIP judge (``shape_acc``, ``colour_acc``) reads attributes off the same CLIP space the
decoders target and the generator is conditioned on, so a reconstruction can please it without
drawing the shape. This classifier never sees CLIP: it is trained on pixels, with blur, noise and
contrast jitter so that it reads blurred, imperfect drawings as well as clean ones, and its own
accuracy on as many further fresh scenes is saved with it (config.json, and its job's manifest).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from neurorecon.artifacts import atomic_dir, verify_artifact
from neurorecon.synth.scenes import COLOURS, SHAPES
from neurorecon.training import one_cycle_adamw, shuffled_batches

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
ATTRIBUTES = {"shape": list(SHAPES), "colour": list(COLOURS)}


class SceneJudge(torch.nn.Module):
    """Four stride-2 convolutions, global average pooling, one linear head per attribute."""

    def __init__(self, width: int, image_size: int):
        super().__init__()
        self.image_size = image_size
        layers, channels = [], 3
        for out in (width, 2 * width, 4 * width, 4 * width):
            layers += [torch.nn.Conv2d(channels, out, 3, stride=2, padding=1), torch.nn.BatchNorm2d(out),
                       torch.nn.ReLU()]
            channels = out
        self.features = torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        self.heads = torch.nn.ModuleDict({name: torch.nn.Linear(channels, len(labels))
                                          for name, labels in ATTRIBUTES.items()})

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.features(images)
        return {name: head(features) for name, head in self.heads.items()}


def _as_input(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float (n, 3, size, size) in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float().permute(0, 3, 1, 2) / 127.5 - 1.0
    if x.shape[-1] != size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random blur (down- and up-sampling by 1-4x), brightness / contrast jitter and pixel noise."""
    size = x.shape[-1]
    factor = int(torch.randint(1, 5, (1,), generator=generator))
    if factor > 1:
        x = torch.nn.functional.interpolate(x, size=size // factor, mode="bilinear", align_corners=False, antialias=True)
        x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
    n = len(x)
    contrast = 0.7 + 0.6 * torch.rand(n, 1, 1, 1, generator=generator)
    shift = 0.2 * (torch.rand(n, 1, 1, 1, generator=generator) - 0.5)
    return x * contrast + shift + 0.1 * torch.randn(x.shape, generator=generator)


def train_judge(cfg: dict, out_dir: Path, progress=None) -> dict:
    """Train the judge on ``cfg["n_images"]`` fresh scenes (never the stimuli) and save it; returns
    its accuracy per attribute on as many further fresh scenes."""
    from neurorecon.synth.scenes import draw_scene, sample_scenes

    torch.manual_seed(cfg["seed"])
    rng = np.random.default_rng([cfg["seed"], 29])
    scenes = sample_scenes(2 * cfg["n_images"], rng)
    images = np.stack([draw_scene(scene, cfg["image_size"]) for scene in scenes])
    labels = {name: torch.tensor([ATTRIBUTES[name].index(getattr(s, name)) for s in scenes]) for name in ATTRIBUTES}
    train, held = slice(0, cfg["n_images"]), slice(cfg["n_images"], None)
    x = _as_input(images, cfg["image_size"])
    model = SceneJudge(cfg["width"], cfg["image_size"])
    optimiser, schedule = one_cycle_adamw(model.parameters(), cfg, cfg["n_images"], weight_decay=1e-4)
    generator = torch.Generator().manual_seed(cfg["seed"])
    model.train()
    for _ in (progress or range)(cfg["epochs"]):
        for batch in shuffled_batches(cfg["n_images"], cfg["batch_size"], generator):
            logits = model(_augment(x[train][batch], generator))
            loss = sum(torch.nn.functional.cross_entropy(logits[name], labels[name][train][batch]) for name in ATTRIBUTES)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    model.eval()
    predicted = judge_labels(model, images[held])
    accuracy = {name: float(np.mean(predicted[name] == np.asarray([getattr(s, name) for s in scenes[held]])))
                for name in ATTRIBUTES}
    with atomic_dir(out_dir) as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp / WEIGHTS))
        (tmp / CONFIG).write_text(json.dumps({"width": cfg["width"], "image_size": cfg["image_size"],
                                              "attributes": ATTRIBUTES, "held_out_accuracy": accuracy}, indent=2))
    return accuracy


def load_judge(folder: Path) -> SceneJudge:
    verify_artifact(folder)
    spec = json.loads((Path(folder) / CONFIG).read_text())
    model = SceneJudge(spec["width"], spec["image_size"])
    model.load_state_dict(load_file(str(Path(folder) / WEIGHTS)))
    return model.eval()


@torch.no_grad()
def judge_labels(model: SceneJudge, images: np.ndarray, batch_size: int = 256) -> dict[str, np.ndarray]:
    """The shape and colour names the judge reads off uint8 images (n, H, W, 3)."""
    out = {name: [] for name in ATTRIBUTES}
    for start in range(0, len(images), batch_size):
        logits = model(_as_input(images[start:start + batch_size], model.image_size))
        for name in ATTRIBUTES:
            out[name].append(np.asarray(ATTRIBUTES[name])[logits[name].argmax(1).numpy()])
    return {name: np.concatenate(values) if values else np.asarray([], dtype=str) for name, values in out.items()}


def judge_rows(model: SceneJudge, images: np.ndarray, ceiling: np.ndarray | None, true: dict[str, np.ndarray]) -> list[dict]:
    """``<attribute>_judge_acc`` rows: the share of reconstructions the judge gives the stimulus'
    own shape (colour); chance is the agreement of independent draws from the true and judged
    label distributions; the ceiling is the same on the reconstructions from noise-free responses."""
    verdicts = judge_labels(model, images)
    ceiling_verdicts = judge_labels(model, ceiling) if ceiling is not None else None
    rows = []
    for name in ATTRIBUTES:
        labels = np.asarray(true[name]).astype(str)
        judged = verdicts[name]
        chance = float(sum(np.mean(labels == label) * np.mean(judged == label) for label in ATTRIBUTES[name]))
        rows.append({"metric": f"{name}_judge_acc", "value": float(np.mean(judged == labels)), "chance": chance,
                     "ceiling": None if ceiling_verdicts is None else float(np.mean(ceiling_verdicts[name] == labels)),
                     "n": len(labels)})
    return rows
