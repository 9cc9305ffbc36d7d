"""A miniature THINGS-EEG2 release with the exact on-disk layout (image_set/, preprocessed_data/),
small enough for tests: each image has a colour, and the EEG of posterior channels carries it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CHANNELS = ["Pz", "P3", "P7", "O1", "Oz", "O2", "P4", "P8", "P1", "P5", "PO7", "PO3", "POz", "PO4", "PO8", "P6", "P2"]
TIMES = np.round(np.arange(-0.2, 0.8, 0.01), 2)
CONCEPTS = ["aardvark", "abacus", "accordion", "acorn", "air_conditioner", "airplane", "alligator", "alpaca",
            "altar", "ambulance", "anchor", "anklet", "ant", "antelope", "anvil", "apple", "apron", "aquarium"]


def build_mini_things(root: Path, n_train_concepts: int = 12, images_per_concept: int = 4, n_test_concepts: int = 6,
                      train_repeats: int = 4, test_repeats: int = 8, subjects: tuple[int, ...] = (1,), seed: int = 0) -> Path:
    """Write the miniature release under ``root``; returns ``root``."""
    rng = np.random.default_rng(seed)
    concepts = [f"{i + 1:05d}_{name}" for i, name in enumerate(CONCEPTS[: n_train_concepts + n_test_concepts])]
    metadata, colours = {}, {}
    for split, folder, chosen, per_concept in (("train", "training_images", concepts[:n_train_concepts], images_per_concept),
                                               ("test", "test_images", concepts[n_train_concepts:], 1)):
        files, labels = [], []
        for concept in chosen:
            for k in range(per_concept):
                name = f"{concept.split('_', 1)[1]}_{k + 1:02d}{'b' if split == 'train' else 's'}.jpg"
                colour = rng.uniform(0.1, 0.9, 3)
                path = root / "image_set" / folder / concept / name
                path.parent.mkdir(parents=True, exist_ok=True)
                pixels = np.clip(colour[None, None, :] + 0.05 * rng.standard_normal((40, 48, 3)), 0, 1)
                Image.fromarray((pixels * 255).astype(np.uint8)).save(path, quality=95)
                files.append(name)
                labels.append(concept)
                colours[name] = colour
        metadata[f"{split}_img_files"] = np.asarray(files)
        metadata[f"{split}_img_concepts"] = np.asarray(labels)
    np.save(root / "image_set" / "image_metadata.npy", metadata)
    patterns = rng.standard_normal((3, len(CHANNELS), len(TIMES))) * (TIMES > 0.05)[None, None, :]
    for subject in subjects:
        folder = root / "preprocessed_data" / f"sub-{subject:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for split, name, repeats in (("train", "training", train_repeats), ("test", "test", test_repeats)):
            signal = np.einsum("nc,ckt->nkt", np.stack([colours[f] for f in metadata[f"{split}_img_files"]]) - 0.5, patterns)
            noise = rng.standard_normal((len(signal), repeats, len(CHANNELS), len(TIMES)))
            data = (signal[:, None] + noise).astype(np.float32)
            np.save(folder / f"preprocessed_eeg_{name}.npy",
                    {"preprocessed_eeg_data": data, "ch_names": list(CHANNELS), "times": TIMES})
    return root
