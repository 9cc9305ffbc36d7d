"""The tiny models shipped in models/: they match the default config, load through the real loaders
and work on the synthetic world; an edited setting, an altered file or an unusable combination is
refused with a message naming the setting."""

import copy
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import REPO, load_config
from neurorecon import shipped
from neurorecon.config import ConfigError, check_config_combinations
from neurorecon.synth.scenes import draw_scene, sample_scenes

MODELS = REPO / "models"


@pytest.fixture(scope="module")
def default_config():
    return load_config("default")


@pytest.mark.parametrize("kind", sorted(shipped.SECTIONS))
def test_shipped_models_match_the_default_config_and_their_checksums(default_config, kind):
    assert shipped.uses_shipped(default_config, kind)
    shipped.check_shipped(default_config, MODELS, kind)  # raises on any difference
    training = json.loads((MODELS / shipped.MANIFEST).read_text())["models"][kind]["training"]
    assert training["code_version"] and training["git"]["commit"] and training["packages"]["torch"]


@pytest.fixture(scope="module")
def scenes():
    chosen = sample_scenes(24, np.random.default_rng(123))
    return chosen, np.stack([draw_scene(s, 64) for s in chosen])


def test_shipped_clip_loads_and_matches_captions_far_above_chance(scenes):
    from neurorecon.stimuli.clip import embed_images, embed_texts, load_clip

    chosen, images = scenes
    bundle = load_clip(f"local-dir:{MODELS / 'clip'}")
    image_embeddings = embed_images(bundle, [Image.fromarray(im) for im in images])
    text_embeddings = embed_texts(bundle, [s.caption for s in chosen])
    hits = (image_embeddings @ text_embeddings.T).argmax(axis=1) == np.arange(len(chosen))
    assert hits.mean() > 5 / len(chosen)  # chance is 1/24


def test_shipped_vae_and_unet_reconstruct_and_draw(scenes):
    from neurorecon.reconstruct import diffusion, vae as vae_module
    from neurorecon.stimuli.clip import embed_images, load_clip

    _, images = scenes
    vae = vae_module.load_vae(str(MODELS / "vae"))
    recon = vae_module.decode_latents(vae, vae_module.encode_images(vae, images))
    assert np.abs(recon.astype(int) - images).mean() < 20  # of 255
    generator = diffusion.load_tiny_generator(MODELS / "diffusion", vae)
    embeddings = embed_images(load_clip(f"local-dir:{MODELS / 'clip'}"), [Image.fromarray(im) for im in images[:4]])
    drawn = diffusion.img2img(generator, images[:4], embeddings, sampler="ddim", steps=4, guidance=2.0,
                              strength=0.5, seed=0)
    assert drawn.shape == images[:4].shape and drawn.std() > 5


def test_an_edited_setting_is_refused_with_its_name(default_config):
    config = copy.deepcopy(default_config)
    config["reconstruct"]["vae"]["tiny"]["epochs"] = 99
    with pytest.raises(shipped.ShippedModelError, match=r"reconstruct\.vae\.tiny differs .*epochs: 99 .*weights: train"):
        shipped.check_shipped(config, MODELS, "vae")
    config["reconstruct"]["vae"]["tiny"]["weights"] = "train"
    assert not shipped.uses_shipped(config, "vae")


def test_an_altered_file_is_refused_with_both_hashes(default_config, tmp_path):
    copy_dir = tmp_path / "models"
    shutil.copytree(MODELS, copy_dir)
    (copy_dir / "clip" / "training.tsv").write_text("epoch\tloss\n1\t0.0\n")
    with pytest.raises(shipped.ShippedModelError, match=r"clip/training\.tsv: sha256 [0-9a-f]{64} but .* records [0-9a-f]{64}"):
        shipped.check_shipped(default_config, copy_dir, "clip")
    with pytest.raises(shipped.ShippedModelError, match="snakemake train_models"):
        shipped.check_shipped(default_config, tmp_path / "nowhere", "clip")


def test_the_shipped_generators_need_the_shipped_clip_and_vae(default_config):
    config = copy.deepcopy(default_config)
    config["stimuli"]["clip"]["tiny"]["weights"] = "train"
    with pytest.raises(ConfigError, match=r"reconstruct\.diffusion uses the shipped tiny model.*stimuli\.clip\.model"):
        check_config_combinations(config)
    config["reconstruct"]["diffusion"]["tiny"]["weights"] = "train"
    with pytest.raises(ConfigError, match=r"reconstruct\.video uses the shipped tiny model.*tiny clip"):
        check_config_combinations(config)
    config["data"]["synthetic"]["video"]["n_subjects"] = 0      # no video to reconstruct: no video model needed
    config["data"]["synthetic"]["shapes"]["n_subjects"] = 0
    check_config_combinations(config)
    config["data"]["synthetic"]["video"]["n_subjects"] = 1
    config["reconstruct"]["video"]["tiny"]["weights"] = "train"
    check_config_combinations(config)
    config["data"]["synthetic"]["shapes"]["n_subjects"] = 1
    with pytest.raises(ConfigError, match=r"reconstruct\.shape uses the shipped tiny model.*tiny clip"):
        check_config_combinations(config)
    config["reconstruct"]["shape"]["tiny"]["weights"] = "train"
    check_config_combinations(config)


def test_ship_copies_files_and_records_settings_and_checksums(tmp_path):
    trained = tmp_path / "trained"
    for name in shipped.FILES["vae"]:
        (trained / name).parent.mkdir(parents=True, exist_ok=True)
        (trained / name).write_text(name)
    (trained / shipped.MANIFEST).write_text(json.dumps({"stage": "reconstruct"}))
    target = tmp_path / "models"
    shipped.ship(target, {"vae": trained}, {"vae": {"weights": "train", "epochs": 3}})
    entry = json.loads((target / shipped.MANIFEST).read_text())["models"]["vae"]
    assert entry["config"] == {"epochs": 3} and entry["training"] == {"stage": "reconstruct"}
    assert set(entry["files"]) == set(shipped.FILES["vae"])
    assert shipped.shipped_version(target, "vae") != shipped.shipped_version(MODELS, "vae")
