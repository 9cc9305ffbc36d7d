"""The shared part of the synthetic world: the stimulus set and its latent representation.

Every synthetic subject sees the same stimuli and represents them in one shared latent
space (low-level opponent-colour maps plus a semantic embedding); subjects differ only in how
their voxels mix that space (see ``neurorecon.synth.fmri``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from neurorecon.artifacts import atomic_path, write_text_atomic
from neurorecon.synth.scenes import Scene, draw_scene, lowlevel_features, sample_scenes, semantic_features

@dataclass
class World:
    """Stimuli with their split and the shared latents that drive every subject."""

    stim_ids: list[str]
    split: np.ndarray           # "train" / "test" per stimulus
    captions: list[str]
    images: np.ndarray | None   # (n, H, W, 3) uint8; not stored in world.npz (the PNGs hold them)
    lowlevel: np.ndarray        # (n, grid, grid, 3) opponent-colour maps
    semantic: np.ndarray        # (n, latent_dim) shared semantic latent

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(
                    handle, stim_ids=np.asarray(self.stim_ids), split=self.split,
                    captions=np.asarray(self.captions), lowlevel=self.lowlevel, semantic=self.semantic,
                )

    @classmethod
    def load(cls, path: Path) -> "World":
        with np.load(path, allow_pickle=False) as data:
            return cls(
                stim_ids=[str(s) for s in data["stim_ids"]], split=data["split"].astype(str),
                captions=[str(c) for c in data["captions"]], images=None,
                lowlevel=data["lowlevel"], semantic=data["semantic"],
            )


def semantic_latent(features: np.ndarray, latent_dim: int, rng: np.random.Generator) -> np.ndarray:
    """Project one-hot scene features into a shared nonlinear latent space (tanh of a random map)."""
    projection = rng.standard_normal((features.shape[1], latent_dim)) / np.sqrt(features.shape[1] / 3)
    latent = np.tanh(features @ projection)
    return (latent - latent.mean(0)) / latent.std(0)


def build_world(cfg: dict) -> tuple[World, list[Scene]]:
    """Sample and draw the stimulus set (test stimuli first) and compute its shared latents."""
    rng = np.random.default_rng([cfg["seed"], 0])
    n_test, n_train = cfg["n_test_stimuli"], cfg["n_train_stimuli"]
    scenes = sample_scenes(n_test + n_train, rng)
    images = np.stack([draw_scene(scene, cfg["image_size"]) for scene in scenes])
    world = World(
        stim_ids=[f"stim{i + 1:04d}" for i in range(len(scenes))],
        split=np.asarray(["test"] * n_test + ["train"] * n_train),
        captions=[scene.caption for scene in scenes],
        images=images,
        lowlevel=lowlevel_features(images),
        semantic=semantic_latent(semantic_features(scenes), cfg["latent_dim"], rng),
    )
    return world, scenes


def write_stimuli(world: World, scenes: list[Scene], bids_root: Path) -> Path:
    """Write ``stimuli/<id>.png`` and ``stimuli/stimuli.tsv`` (id, file, split, caption, attributes)."""
    stim_dir = bids_root / "stimuli"
    stim_dir.mkdir(parents=True, exist_ok=True)
    for stim_id, image in zip(world.stim_ids, world.images):
        with atomic_path(stim_dir / f"{stim_id}.png") as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
    table = pd.DataFrame([scene.as_record() for scene in scenes])
    table.insert(0, "stim_id", world.stim_ids)
    table.insert(1, "stim_file", [f"stimuli/{s}.png" for s in world.stim_ids])
    table.insert(2, "split", world.split)
    tsv = stim_dir / "stimuli.tsv"
    write_text_atomic(tsv, table.to_csv(sep="\t", index=False))
    return tsv
