"""The tiny OpenCLIP model: trains, saves in the hub layout, and loads back through the real loader."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from neurorecon.stimuli import clip
from neurorecon.synth.scenes import draw_scene, sample_scenes

TINY = dict(seed=0, embed_dim=16, vision_tower="resnet", resnet_width=8, layers=1, width=32, head_width=16,
            patch_size=8, context_length=24, learning_rate=2e-3, weight_decay=0.1, epochs=2, batch_size=32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    scenes = sample_scenes(64, np.random.default_rng(0))
    images = np.stack([draw_scene(s, 32) for s in scenes])
    folder = tmp_path_factory.mktemp("clip")
    history = clip.train_tiny_clip(images, [s.caption for s in scenes], TINY, folder)
    return folder, images, [s.caption for s in scenes], history


def test_training_saves_hub_layout_with_safetensors(trained):
    folder, _, _, history = trained
    assert (folder / clip.WEIGHTS_FILE).is_file()
    saved = json.loads((folder / clip.CONFIG_FILE).read_text())
    assert saved["model_cfg"]["embed_dim"] == 16 and saved["model_cfg"]["vision_cfg"]["image_size"] == 32
    assert len(history) == 2 and history[1]["loss"] < history[0]["loss"]


def test_folder_and_local_dir_names_load_the_same_weights(trained):
    folder, images, captions, _ = trained
    by_folder = clip.load_clip(str(folder))
    by_schema = clip.load_clip(f"local-dir:{folder}")
    pil = [Image.fromarray(im) for im in images[:4]]
    a = clip.embed_images(by_folder, pil)
    assert np.allclose(a, clip.embed_images(by_schema, pil))
    assert a.shape == (4, 16) and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    t = clip.embed_texts(by_folder, captions[:4])
    assert t.shape == (4, 16)


def test_loaded_model_matches_trained_weights(trained):
    from safetensors.torch import load_file

    folder, _, _, _ = trained
    bundle = clip.load_clip(str(folder))
    saved = load_file(str(folder / clip.WEIGHTS_FILE))
    for name, tensor in bundle.model.state_dict().items():
        assert torch.equal(tensor, saved[name]), name


def test_training_is_deterministic(tmp_path):
    scenes = sample_scenes(32, np.random.default_rng(1))
    images = np.stack([draw_scene(s, 32) for s in scenes])
    caps = [s.caption for s in scenes]
    cfg = {**TINY, "epochs": 1}
    clip.train_tiny_clip(images, caps, cfg, tmp_path / "a")
    clip.train_tiny_clip(images, caps, cfg, tmp_path / "b")
    assert (tmp_path / "a" / clip.WEIGHTS_FILE).read_bytes() == (tmp_path / "b" / clip.WEIGHTS_FILE).read_bytes()


def test_vit_tower_trains_and_loads_back(tmp_path):
    scenes = sample_scenes(32, np.random.default_rng(2))
    images = np.stack([draw_scene(s, 32) for s in scenes])
    clip.train_tiny_clip(images, [s.caption for s in scenes], {**TINY, "vision_tower": "vit", "epochs": 1}, tmp_path)
    saved = json.loads((tmp_path / clip.CONFIG_FILE).read_text())
    assert saved["model_cfg"]["vision_cfg"]["patch_size"] == 8
    assert clip.embed_images(clip.load_clip(str(tmp_path)), [Image.fromarray(images[0])]).shape == (1, 16)


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="open_clip_config.json"):
        clip.load_clip(f"local-dir:{tmp_path}")


def test_caption_retrieval_counts_shared_captions_as_hits():
    emb = np.eye(3)
    result = clip.caption_retrieval(emb, emb[[1, 0, 2]], ["a", "a", "b"])
    assert result["image_to_text_top1"] == 1.0  # items 0 and 1 share a caption
    assert result["chance"] == pytest.approx((2 + 2 + 1) / 9)
