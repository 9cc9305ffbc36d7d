"""VAE, low-level decoding, the tiny generator, the sampler and the pretrained unCLIP path."""

import numpy as np
import pytest

from neurorecon.reconstruct import diffusion, vae as vae_module
from neurorecon.reconstruct.lowlevel import LowLevelSpace, fit_lowlevel, resize_images
from neurorecon.reconstruct.subject import choose_samples, rescale_embeddings
from neurorecon.stimuli.structure import structure_maps
from neurorecon.synth.scenes import draw_scene, sample_scenes

VAE_CFG = {"seed": 0, "channels": [8, 16], "latent_channels": 4, "learning_rate": 0.003, "kl_weight": 0.001,
           "epochs": 3, "batch_size": 16}
LIGHT_TOUCH_TOLERANCE = 4.0  # mean absolute difference, 0-255 scale
SCENES = sample_scenes(64, np.random.default_rng(4))
UNET_CFG = {"seed": 0, "channels": [16, 32], "layers_per_block": 1, "attention_head_dim": 8,
            "resnet_time_scale_shift": "default", "condition_dropout": 0.1, "text_dropout": 0.3,
            "prediction_type": "v_prediction", "ema_decay": 0.9, "learning_rate": 0.002, "epochs": 2, "batch_size": 16,
            "controlnet": {"structure": "silhouette", "map_size": 8, "map_dropout": 0.1, "learning_rate": 0.002,
                           "epochs": 1}}


@pytest.fixture(scope="module")
def scenes():
    return np.stack([draw_scene(s, 32) for s in SCENES])


@pytest.fixture(scope="module")
def trained_vae(tmp_path_factory, scenes):
    folder = tmp_path_factory.mktemp("vae") / "model"
    history = vae_module.train_tiny_vae(scenes, VAE_CFG, folder)
    return folder, history


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory, trained_vae, scenes):
    vae = vae_module.load_vae(trained_vae[0])
    folder = tmp_path_factory.mktemp("generator") / "model"
    embeddings = np.random.default_rng(0).normal(size=(len(scenes), 8)).astype(np.float32)
    texts = np.random.default_rng(1).normal(size=(len(scenes), 8)).astype(np.float32)
    maps = structure_maps("silhouette", 8, scenes=SCENES)
    diffusion.train_tiny_unet(vae_module.encode_images(vae, scenes), embeddings, texts, UNET_CFG, folder, maps=maps)
    return diffusion.load_tiny_generator(folder, vae), embeddings


def test_tiny_vae_learns_and_reloads_identically(trained_vae, scenes):
    folder, history = trained_vae
    assert history[-1]["recon_mse"] < history[0]["recon_mse"]
    assert (folder / "config.json").is_file() and (folder / "diffusion_pytorch_model.safetensors").is_file()
    assert not list(folder.parent.glob("*.partial"))
    vae = vae_module.load_vae(folder)
    latents = vae_module.encode_images(vae, scenes)
    assert latents.shape == (64, 4, 16, 16)
    assert latents.std() == pytest.approx(1.0, rel=0.05)  # scaling_factor = 1 / std of training latents
    again = vae_module.encode_images(vae_module.load_vae(folder), scenes)
    np.testing.assert_array_equal(latents, again)
    decoded = vae_module.decode_latents(vae, latents)
    assert decoded.shape == scenes.shape and decoded.dtype == np.uint8


def test_load_vae_names_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        vae_module.load_vae(tmp_path)


def test_pixel_space_round_trip_and_planted_decoding():
    rng = np.random.default_rng(0)
    patterns = (rng.random((160, 6, 6)) > 0.5).astype(np.uint8) * 255
    images = np.repeat(patterns[..., None], 3, axis=3)
    space = LowLevelSpace("pixels", 6)
    targets, shape = space.encode(images)
    np.testing.assert_array_equal(space.decode(targets, shape, 6), images)
    # responses are a noisy linear mixture of the pixels: ridge recovers held-out patterns
    mixing = rng.normal(size=(targets.shape[1], 300))
    responses = targets @ mixing + rng.normal(0, 0.5, size=(160, 300))
    decoder, shape = fit_lowlevel(responses[:140], images[:140], space, [0.1, 1, 10, 100], None)
    recon = space.decode(decoder.predict(responses[140:]), shape, 6)
    accuracy = ((recon[..., 0] > 127) == (images[140:, ..., 0] > 127)).mean()
    assert accuracy > 0.9


def test_lowlevel_space_rejects_unknown_target():
    with pytest.raises(ValueError, match="unknown low-level target"):
        LowLevelSpace("edges", 8)
    with pytest.raises(ValueError, match="needs a VAE"):
        LowLevelSpace("vae", 8)


def test_film_conditioning_is_built_saved_and_reloaded(tmp_path, trained_vae, scenes):
    vae = vae_module.load_vae(trained_vae[0])
    cfg = {**UNET_CFG, "resnet_time_scale_shift": "scale_shift", "epochs": 1}
    embeddings = np.random.default_rng(1).normal(size=(16, 8)).astype(np.float32)
    diffusion.train_tiny_unet(vae_module.encode_images(vae, scenes[:16]), embeddings, embeddings, cfg, tmp_path / "model")
    generator = diffusion.load_tiny_generator(tmp_path / "model", vae)
    assert generator.unet.config.resnet_time_scale_shift == "scale_shift"
    # FiLM: each ResNet block's embedding projection yields a scale and a shift per channel
    block = generator.unet.down_blocks[0].resnets[0]
    assert block.time_emb_proj.out_features == 2 * UNET_CFG["channels"][0]


def test_img2img_is_seeded_and_strength_controls_departure(tiny_generator, scenes):
    generator, embeddings = tiny_generator
    kwargs = dict(sampler="ddim", steps=10, guidance=2.0, batch_size=8)
    first = diffusion.img2img(generator, scenes[:8], embeddings[:8], strength=0.8, seed=1, **kwargs)
    again = diffusion.img2img(generator, scenes[:8], embeddings[:8], strength=0.8, seed=1, **kwargs)
    other = diffusion.img2img(generator, scenes[:8], embeddings[:8], strength=0.8, seed=2, **kwargs)
    assert first.shape == (8, 32, 32, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, again)
    assert np.abs(first.astype(int) - other).mean() > 0.5
    # a light touch keeps the start image; starting from noise does not
    vae_recon = vae_module.decode_latents(generator.vae, vae_module.encode_images(generator.vae, scenes[:8]))
    light = diffusion.img2img(generator, scenes[:8], embeddings[:8], strength=0.1, seed=1, **kwargs)
    heavy = diffusion.img2img(generator, scenes[:8], embeddings[:8], strength=1.0, seed=1, **kwargs)
    distance = lambda a: np.abs(a.astype(int) - vae_recon).mean()  # noqa: E731
    assert distance(light) < distance(heavy)


def test_a_light_touch_returns_the_start_image(tiny_generator, scenes):
    """One step from a barely noised latent gives back about the VAE's own reconstruction; a sampler
    that clipped latents to [-1, 1] (DDPM's default for pixels) would distort it."""
    generator, embeddings = tiny_generator
    vae_recon = vae_module.decode_latents(generator.vae, vae_module.encode_images(generator.vae, scenes[:8]))
    light = diffusion.img2img(generator, scenes[:8], embeddings[:8], sampler="ddim", steps=20, guidance=1.0,
                              strength=0.05, seed=0)
    assert np.abs(light.astype(int) - vae_recon).mean() < LIGHT_TOUCH_TOLERANCE


@pytest.mark.parametrize("sampler", sorted(diffusion.SAMPLERS))
def test_every_sampler_runs(tiny_generator, scenes, sampler):
    generator, embeddings = tiny_generator
    out = diffusion.img2img(generator, scenes[:2], embeddings[:2], sampler=sampler, steps=4, guidance=1.5,
                            strength=0.6, seed=0)
    assert out.shape == (2, 32, 32, 3)


def test_sampler_errors_are_clear(tiny_generator, scenes):
    generator, embeddings = tiny_generator
    with pytest.raises(ValueError, match="unknown sampler 'heun'"):
        diffusion.img2img(generator, scenes[:1], embeddings[:1], sampler="heun", steps=2, guidance=1, strength=0.5, seed=0)
    with pytest.raises(ValueError, match="takes 8-d image embeddings; the decoded embeddings are 5-d"):
        diffusion.img2img(generator, scenes[:1], embeddings[:1, :5], sampler="ddim", steps=2, guidance=1, strength=0.5,
                          seed=0)
    with pytest.raises(ValueError, match="strength"):
        diffusion.img2img(generator, scenes[:1], embeddings[:1], sampler="ddim", steps=2, guidance=1, strength=0, seed=0)


def test_text_and_structure_steer_the_generator_and_reload(tiny_generator, scenes):
    """The control branch loads back with the maps it was trained on; at structure scale 0 it is an
    exact no-op, and decoded maps or text embeddings change the images."""
    generator, embeddings = tiny_generator
    assert generator.text_input == "embedding" and generator.structure == {"kind": "silhouette", "size": 8}
    texts = np.random.default_rng(2).normal(size=(4, 8)).astype(np.float32)
    maps = structure_maps("silhouette", 8, scenes=SCENES[:4])
    kwargs = dict(sampler="ddim", steps=4, guidance=2.0, strength=0.8, seed=3)
    plain = diffusion.img2img(generator, scenes[:4], embeddings[:4], **kwargs)
    unscaled = diffusion.img2img(generator, scenes[:4], embeddings[:4], structure=maps, structure_scale=0.0, **kwargs)
    np.testing.assert_array_equal(plain, unscaled)
    controlled = diffusion.img2img(generator, scenes[:4], embeddings[:4], structure=maps, structure_scale=2.0, **kwargs)
    texted = diffusion.img2img(generator, scenes[:4], embeddings[:4], text=texts, text_guidance=3.0, **kwargs)
    assert np.abs(controlled.astype(int) - plain).mean() > 0   # one epoch: the zero-initialised outputs barely moved
    assert np.abs(texted.astype(int) - plain).mean() > 0.5


def test_nested_guidance_weighs_each_branch_against_the_one_before():
    """Two weights over three branches: e0 + w1 (e1 - e0) + w2 (e2 - e1); one weight is plain
    classifier-free guidance. A stand-in UNet returns its conditioning, so the result is exact."""
    import torch

    class Echo(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros(1))

        def forward(self, sample, t, encoder_hidden_states):
            from types import SimpleNamespace

            return SimpleNamespace(sample=torch.zeros_like(sample) + encoder_hidden_states[:, :, None, None])

    config = {"num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
              "clip_sample": False, "prediction_type": "epsilon"}
    init = torch.zeros(1, 1, 2, 2)
    branches = torch.tensor([[0.0], [1.0], [3.0]])   # e0 = 0, e1 = 1, e2 = 3
    common = dict(sampler="ddim", scheduler_config=config, steps=1, strength=1.0)
    nested = diffusion.guided_denoise(Echo(), init, {"encoder_hidden_states": branches}, guidance=[2.0, 0.5],
                                      rng=torch.Generator().manual_seed(0), **common)
    target = diffusion.guided_denoise(Echo(), init, {"encoder_hidden_states": torch.tensor([[0.0], [3.0]])},
                                      guidance=1.0, rng=torch.Generator().manual_seed(0), **common)
    # 0 + 2 * (1 - 0) + 0.5 * (3 - 1) = 3: the same prediction as one branch that says 3 at weight 1
    torch.testing.assert_close(nested, target)


def test_choose_samples_picks_the_closest_in_clip_space():
    decoded = np.array([[1.0, 0.0], [0.0, 1.0]])
    samples = np.array([[[0.0, 1.0], [2.0, 0.1]], [[0.0, 3.0], [1.0, 0.0]]])
    np.testing.assert_array_equal(choose_samples(samples, decoded), [1, 0])


def test_rescale_embeddings():
    e = np.array([[3.0, 4.0]])
    np.testing.assert_allclose(rescale_embeddings(e, 10.0), [[6.0, 8.0]])
    assert rescale_embeddings(e, None) is e


def test_resize_images_keeps_dtype_and_size():
    images = np.zeros((2, 8, 8, 3), np.uint8)
    assert resize_images(images, 8) is images
    assert resize_images(images, 16).shape == (2, 16, 16, 3)


def test_pretrained_unclip_pipeline_loads_offline_and_samples(tmp_path, scenes):
    from unclip_fixture import EMBED_DIM, build_tiny_unclip

    folder = build_tiny_unclip(tmp_path / "unclip")
    generator = diffusion.load_unclip_generator(folder, noise_level=0)
    assert generator.embed_dim == EMBED_DIM and generator.image_size == 32
    embeddings = np.random.default_rng(0).normal(size=(3, EMBED_DIM)).astype(np.float32)
    out = diffusion.img2img(generator, scenes[:3], embeddings, sampler="dpm", steps=3, guidance=2.0, strength=0.7, seed=0)
    again = diffusion.img2img(generator, scenes[:3], embeddings, sampler="dpm", steps=3, guidance=2.0, strength=0.7, seed=0)
    assert out.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(out, again)
    # decoded captions prompt the pipeline's own text encoder, guided on top of the image embedding
    captions = np.asarray(["a large red circle", "a small blue star", "a green ring"])
    prompted = diffusion.img2img(generator, scenes[:3], embeddings, sampler="dpm", steps=3, guidance=2.0,
                                 strength=0.7, seed=0, text=captions, text_guidance=3.0)
    assert prompted.shape == out.shape and np.abs(prompted.astype(int) - out).mean() > 0
    with pytest.raises(ValueError, match="takes decoded text as captions; it was given embeddings"):
        diffusion.img2img(generator, scenes[:1], embeddings[:1], sampler="dpm", steps=1, guidance=2.0, strength=0.7,
                          seed=0, text=embeddings[:1])
    with pytest.raises(ValueError, match="no control branch"):
        diffusion.img2img(generator, scenes[:1], embeddings[:1], sampler="dpm", steps=1, guidance=2.0, strength=0.7,
                          seed=0, structure=np.zeros((1, 8, 8), np.float32))
    # a ControlNetModel built for the pipeline's UNet, saved and loaded offline, follows decoded maps
    import torch
    from diffusers import ControlNetModel

    control = ControlNetModel.from_unet(generator.unet)
    with torch.no_grad():   # as if trained: its zero-initialised output convolutions no longer zero
        for conv in [*control.controlnet_down_blocks, control.controlnet_mid_block]:
            conv.weight.normal_(0, 0.05, generator=torch.Generator().manual_seed(0))
    control.save_pretrained(tmp_path / "controlnet", safe_serialization=True)
    controlled = diffusion.load_unclip_generator(folder, noise_level=0, controlnet=tmp_path / "controlnet")
    maps = np.random.default_rng(1).random((3, 16, 16)).astype(np.float32)
    kwargs = dict(sampler="dpm", steps=3, guidance=2.0, strength=0.7, seed=0)
    plain = diffusion.img2img(controlled, scenes[:3], embeddings, **kwargs)
    np.testing.assert_array_equal(plain, out)
    np.testing.assert_array_equal(diffusion.img2img(controlled, scenes[:3], embeddings, structure=maps,
                                                    structure_scale=0.0, **kwargs), out)
    steered = diffusion.img2img(controlled, scenes[:3], embeddings, structure=maps, structure_scale=1.0, **kwargs)
    assert steered.shape == out.shape and np.abs(steered.astype(int) - out).mean() > 0
    with pytest.raises(ValueError, match="noise_level 5000"):
        diffusion.load_unclip_generator(folder, noise_level=5000)
    with pytest.raises(FileNotFoundError, match="model_index.json"):
        diffusion.load_unclip_generator(tmp_path, noise_level=0)
