"""Encoding models against planted worlds with known answers: the linear and transformer encoders,
the noise ceiling, voxel captions, the brain score and the image tower's tokens."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from neurorecon.encode.brain_score import brain_score_rows
from neurorecon.evaluate.retrieval import pearson_matrix
from neurorecon.encode.captions import caption_hits, hit_summary, known_preferences, project_to_images, voxel_captions
from neurorecon.encode.features import image_tokens
from neurorecon.encode.linear import LinearEncoder, fit_linear_encoder
from neurorecon.encode.metrics import column_correlations, ncsnr_ceiling, roi_table
from neurorecon.encode.subject import fit_subject_encoders, summary_rows
from neurorecon.encode.transformer import TransformerEncoder, fit_transformer_encoder, voxel_groups
from neurorecon.evaluate.ceiling import ncsnr
from neurorecon.responses import Responses
from neurorecon.stimuli import clip

from conftest import load_config

TRANSFORMER = dict(seed=0, width=32, heads=4, learning_rate=0.003, weight_decay=1e-4, epochs=40, batch_size=64,
                   groups_per_roi=4, token_stage="auto")


def retinotopic_world(n=360, grid=4, channels=6, voxels_per_cell=3, noise=0.3, seed=0):
    """Tokens on a grid x grid layout; each voxel reads one token (its receptive field) through its own
    weights, like early visual cortex: a pooled embedding loses where things are."""
    rng = np.random.default_rng(seed)
    tokens = rng.standard_normal((n, grid * grid, channels)).astype(np.float32)
    cells = np.repeat(np.arange(grid * grid), voxels_per_cell)
    weights = rng.standard_normal((len(cells), channels))
    clean = np.einsum("nvc,vc->nv", tokens[:, cells], weights)
    measured = clean + noise * clean.std() * rng.standard_normal(clean.shape)
    positions = np.stack([cells // grid, cells % grid, np.zeros_like(cells)], 1) * 3 + rng.integers(0, 2, (len(cells), 3))
    return tokens, measured, clean, positions


def test_linear_encoder_recovers_a_planted_map_and_its_directions(tmp_path):
    rng = np.random.default_rng(1)
    embeddings = rng.standard_normal((300, 8))
    weights = rng.standard_normal((8, 20))
    responses = embeddings @ weights + 0.1 * rng.standard_normal((300, 20))
    encoder = fit_linear_encoder(embeddings[:250], responses[:250], [0.01, 1, 100])
    assert column_correlations(encoder.predict(embeddings[250:]), responses[250:]).min() > 0.95
    cosine = np.sum(encoder.directions() * (weights / np.linalg.norm(weights, axis=0)).T, axis=1)
    assert cosine.min() > 0.99
    encoder.save(tmp_path)
    assert np.allclose(LinearEncoder.load(tmp_path).predict(embeddings[:3]), encoder.predict(embeddings[:3]), atol=1e-4)


def test_transformer_encoder_reads_where_a_pooled_linear_model_cannot(tmp_path):
    tokens, measured, clean, positions = retinotopic_world()
    roi = np.ones(len(positions), int)
    groups = voxel_groups(positions, roi, 16, seed=0)
    assert len(np.unique(groups)) == 16
    train, test = slice(0, 300), slice(300, None)
    encoder, history = fit_transformer_encoder(tokens[train], measured[train], groups, TRANSFORMER)
    assert history[-1]["loss"] < history[0]["loss"]
    transformer_r = column_correlations(encoder.predict(tokens[test]), measured[test])
    pooled = tokens.mean(axis=1)
    linear_r = column_correlations(fit_linear_encoder(pooled[train], measured[train], [1, 10, 100]).predict(pooled[test]),
                                   measured[test])
    ceiling = column_correlations(clean[test], measured[test])
    assert transformer_r.mean() > 0.6 * ceiling.mean()
    assert transformer_r.mean() > linear_r.mean() + 0.3
    encoder.save(tmp_path)
    again = TransformerEncoder.load(tmp_path)
    assert np.allclose(again.predict(tokens[:4]), encoder.predict(tokens[:4]), atol=1e-4)
    retrained, _ = fit_transformer_encoder(tokens[train], measured[train], groups, TRANSFORMER)
    assert np.array_equal(retrained.predict(tokens[:4]), encoder.predict(tokens[:4]))   # fixed seed, same weights


def test_ncsnr_ceiling_matches_the_simulated_correlation_ceiling():
    rng = np.random.default_rng(3)
    signal = rng.standard_normal((2000, 30))
    noise_sd = np.linspace(0.3, 2.0, 30)
    trials = np.concatenate([signal + noise_sd * rng.standard_normal(signal.shape) for _ in range(3)])
    ids = np.tile(np.arange(2000), 3).astype(str)
    ceiling = ncsnr_ceiling(ncsnr(trials, ids), np.full(2000, 3))
    averaged = trials.reshape(3, 2000, 30).mean(axis=0)
    simulated = column_correlations(signal, averaged)
    assert np.abs(ceiling - simulated).max() < 0.05


def test_roi_table_gives_the_explained_fraction_against_the_ceiling():
    roi = np.array([1, 1, 2, 2])
    table = roi_table({"m": np.array([0.4, 0.4, 0.1, -0.2])}, np.array([0.8, 0.8, 0.5, 0.5]), roi,
                      {1: "EVC", 2: "HVC"}, "noise-free")
    values = table.set_index(["roi", "metric"])["value"]
    assert values[("EVC", "explained_fraction")] == pytest.approx(0.25)
    assert values[("HVC", "explained_fraction")] == pytest.approx(0.01 / 0.5)   # negative r counts as 0
    assert values[("EVC", "ceiling_r_noise-free")] == pytest.approx(0.8)
    rows = summary_rows(table.assign(model="linear"), "01").set_index("metric")
    assert rows.loc["encoding_r_EVC", "ceiling"] == pytest.approx(0.8) and rows.loc["explained", "ceiling"] == 1.0


def test_voxel_captions_name_the_planted_preference():
    rng = np.random.default_rng(4)
    corpus = pd.DataFrame({"caption": [f"a {c} {s}" for c in ("red", "blue", "green") for s in ("ring", "star")] * 5,
                           "colour": [c for c in ("red", "blue", "green") for _ in range(2)] * 5,
                           "shape": ["ring", "star"] * 15})
    colour_axes = {c: rng.standard_normal(16) for c in ("red", "blue", "green")}
    shape_axes = {s: 0.5 * rng.standard_normal(16) for s in ("ring", "star")}
    images = np.stack([colour_axes[c] + shape_axes[s] + 0.2 * rng.standard_normal(16)
                       for c, s in zip(corpus["colour"], corpus["shape"])])
    texts = images + 0.1 * rng.standard_normal(images.shape)
    # voxels: the first three prefer one colour each, the fourth a shape
    clean = np.stack([(corpus["colour"] == "red") * 1.0, (corpus["colour"] == "blue") * 1.0,
                      (corpus["colour"] == "green") * 1.0, (corpus["shape"] == "star") * 1.0], 1)
    clean += 0.05 * rng.standard_normal(clean.shape)
    preferences = known_preferences(clean, corpus[["colour", "shape"]])
    assert preferences["attribute"].tolist() == ["colour"] * 3 + ["shape"]
    assert preferences["value"].tolist() == ["red", "blue", "green", "star"]
    encoder = fit_linear_encoder(images, clean, [0.1, 1, 10])
    best, similarity = voxel_captions(encoder.directions(), images, texts, temperature=150)
    hits = caption_hits(preferences, best, corpus, min_share=0.5)
    assert hits["hit"].tolist() == [1.0, 1.0, 1.0, 1.0] and np.all(similarity > 0.5)
    summary = {row["metric"]: row for row in hit_summary(hits)}
    assert summary["caption_hit"]["value"] == 1.0 and summary["caption_hit_colour"]["chance"] == pytest.approx(1 / 3)
    projected = project_to_images(encoder.directions(), images, 150)
    assert np.allclose(np.linalg.norm(projected, axis=1), 1.0)


def test_brain_score_is_high_for_the_right_image_and_chance_for_others():
    rng = np.random.default_rng(5)
    measured = rng.standard_normal((20, 50))
    roi = np.repeat([1, 2], 25)
    perfect = brain_score_rows(measured, measured, measured, np.zeros(50), roi, {1: "EVC", 2: "HVC"})
    assert all(row["value"] == pytest.approx(1.0) and abs(row["chance"]) < 0.1 for row in perfect)
    shuffled = brain_score_rows(measured[::-1], measured, measured, np.zeros(50), roi, {1: "EVC", 2: "HVC"})
    assert all(abs(row["value"]) < 0.25 and row["ceiling"] == pytest.approx(1.0) for row in shuffled)
    assert [row["metric"] for row in perfect] == ["brain_score_EVC", "brain_score_HVC", "brain_score"]
    assert pearson_matrix(measured, measured).shape == (20, 20)


def test_subject_encoders_score_against_the_noise_free_ceiling():
    tokens, measured, clean, positions = retinotopic_world(n=240, noise=0.5)
    n_train = 200
    split = np.array(["train"] * n_train + ["test"] * (len(tokens) - n_train))
    stim_ids = [f"s{i:03d}" for i in range(len(tokens))]
    roi = np.where(positions[:, 0] < 6, 1, 2)
    responses = Responses(values=measured.astype(np.float32),
                          trials=pd.DataFrame({"stim_id": stim_ids, "split": split, "runs": "1", "n_repeats": 1}),
                          roi=roi, roi_names={1: "EVC", 2: "HVC"}, voxel_ijk=positions)
    cfg = {"rois": ["EVC", "HVC"], "linear": {"alphas": [1, 10, 100]}, "transformer": TRANSFORMER}
    result = fit_subject_encoders(responses, stim_ids, tokens.mean(axis=1), tokens, cfg, clean[n_train:])
    assert result.ceiling_kind == "noise-free"
    values = result.table.set_index(["model", "roi", "metric"])["value"]
    assert values[("transformer", "all", "test_r")] > values[("linear", "all", "test_r")]
    assert values[("transformer", "all", "test_r")] < values[("transformer", "all", "ceiling_r_noise-free")]
    assert set(result.voxels) >= {"r_linear", "r_transformer", "ceiling", "roi", "groups"}


@pytest.mark.parametrize("tower, expected_tokens", [("resnet", 16), ("vit", 16)])
def test_image_tokens_are_read_from_the_tower_without_changing_it(tmp_path, tower, expected_tokens):
    rng = np.random.default_rng(6)
    images = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    cfg = dict(seed=0, embed_dim=16, vision_tower=tower, resnet_width=8, layers=1, width=32, head_width=16,
               patch_size=8, context_length=24, learning_rate=2e-3, weight_decay=0.1, epochs=1, batch_size=32)
    clip.train_tiny_clip(images, ["a red ring"] * 6, cfg, tmp_path)
    bundle = clip.load_clip(str(tmp_path))
    pictures = [Image.fromarray(image) for image in images]
    before = clip.embed_images(bundle, pictures)
    stage = "layer3" if tower == "resnet" else "auto"    # 32 px: layer3 is 1/16 of the side, a 2x2 grid ...
    tokens = image_tokens(bundle, pictures, "layer2" if tower == "resnet" else stage)
    assert tokens.shape[:2] == (6, expected_tokens) and np.isfinite(tokens).all()
    assert np.array_equal(clip.embed_images(bundle, pictures), before)   # the hook is gone, the model unchanged
    if tower == "resnet":
        with pytest.raises(ValueError, match="no stage 'layer9'"):
            image_tokens(bundle, pictures, "layer9")


def test_encode_config_checks_name_the_setting():
    from neurorecon.config import ConfigError, check_config_combinations

    config = load_config("default")
    config["encode"]["synthesis"]["targets"] = ["PPA"]
    with pytest.raises(ConfigError, match=r"encode.synthesis.targets names \['PPA'\]"):
        check_config_combinations(config)
    config["encode"]["synthesis"]["targets"] = "everything"
    with pytest.raises(ConfigError, match="expected auto or a list of ROI names"):
        check_config_combinations(config)
    config["encode"]["synthesis"]["targets"] = ["HVC"]
    check_config_combinations(config)
    nsd = load_config("nsd")
    check_config_combinations(nsd)
    nsd["encode"]["rois"] = ["EVC", "HVC"]
    with pytest.raises(ConfigError, match=r"the NSD responses have one ROI, 'nsdgeneral' \(data.nsd.roi\)"):
        check_config_combinations(nsd)
    miyawaki = load_config("miyawaki")
    check_config_combinations(miyawaki)
    miyawaki["encode"]["captions"]["corpus"] = "stimuli"
    with pytest.raises(ConfigError, match="encode.captions.corpus 'stimuli' reads the stimuli's captions"):
        check_config_combinations(miyawaki)


def object_colour(image: np.ndarray) -> str:
    """The named scene colour nearest the mean of an image's most saturated pixels (the object: the
    backgrounds are tinted greys)."""
    from neurorecon.synth.scenes import COLOURS

    pixels = image.reshape(-1, 3) / 255.0
    saturation = pixels.max(axis=1) - pixels.min(axis=1)
    mean = pixels[saturation >= np.quantile(saturation, 0.9)].mean(axis=0)
    return min(COLOURS, key=lambda name: np.sum((np.asarray(COLOURS[name]) - mean) ** 2))


@pytest.fixture(scope="module")
def shipped_generator():
    """The shipped tiny CLIP, VAE and generator (models/), read as the workflow reads them."""
    from neurorecon.reconstruct.diffusion import load_tiny_generator
    from neurorecon.reconstruct.vae import load_vae

    repo = Path(__file__).resolve().parents[1]
    bundle = clip.load_clip(str(repo / "models" / "clip"))
    generator = load_tiny_generator(repo / "models" / "diffusion", load_vae(repo / "models" / "vae"))
    for module in (bundle.model, generator.vae, generator.unet):
        module.requires_grad_(False)
    return bundle, generator


def test_synthesis_for_a_colour_population_draws_its_colour(shipped_generator):
    """A planted population of voxels that respond to yellow scenes (their encoder directions point
    from the mean scene embedding to the mean yellow one): the images synthesised for it are yellow far
    more often than unguided samples, and their predicted activation is higher."""
    from neurorecon.encode.synthesis import (
        clip_embedder, population_condition, population_score, predicted_scores, synthesise,
    )
    from neurorecon.synth.scenes import draw_scene, sample_scenes

    bundle, generator = shipped_generator
    scenes = sample_scenes(240, np.random.default_rng(7))
    embeddings = clip.embed_images(bundle, [Image.fromarray(draw_scene(s, 64)) for s in scenes])
    yellow = np.array([s.colour == "yellow" for s in scenes])
    rng = np.random.default_rng(8)
    responses = (embeddings @ (embeddings[yellow].mean(0) - embeddings.mean(0)))[:, None] * np.ones((1, 12))
    responses += 0.02 * rng.standard_normal(responses.shape)
    encoder = fit_linear_encoder(embeddings, responses, [0.1, 1, 10])
    population = np.ones(12, bool)
    score = population_score(encoder, population, clip_embedder(bundle))
    draw = dict(steps=15, seed=0)
    unguided = synthesise(generator, None, 8, guidance_scale=0.0, **draw)
    guided = synthesise(generator, score, 8, guidance_scale=20.0, condition_guidance=3.0,
                        condition=population_condition(encoder, population, embeddings, 150), **draw)
    gradient_only = synthesise(generator, score, 8, guidance_scale=100.0, **draw)
    hits = lambda images: np.mean([object_colour(image) == "yellow" for image in images])  # noqa: E731
    assert hits(guided) >= 0.75 and hits(unguided) <= 0.25
    assert predicted_scores(score, guided).mean() > predicted_scores(score, unguided).mean() + 0.5
    assert predicted_scores(score, gradient_only).mean() > predicted_scores(score, unguided).mean()
    again = synthesise(generator, None, 8, guidance_scale=0.0, **draw)
    assert np.array_equal(again, unguided)    # fixed seed, same images


def test_responses_keep_the_ncsnr_and_the_grid_affine(tmp_path):
    trials = pd.DataFrame({"stim_id": ["a", "b"], "split": ["train", "test"], "runs": ["1", "1;2"], "n_repeats": [1, 2]})
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    responses = Responses(values=np.ones((2, 3), np.float32), trials=trials, roi=np.array([1, 1, 2]),
                          roi_names={1: "EVC", 2: "HVC"}, voxel_ijk=np.zeros((3, 3), int),
                          ncsnr=np.array([0.5, 1.0, 2.0]), affine=affine)
    responses.save(tmp_path / "responses.npz", tmp_path / "trials.tsv")
    again = Responses.load(tmp_path / "responses.npz", tmp_path / "trials.tsv")
    assert np.allclose(again.ncsnr, [0.5, 1.0, 2.0]) and np.array_equal(again.affine, affine)
    bare = Responses(values=np.ones((2, 3), np.float32), trials=trials, roi=np.array([1, 1, 2]),
                     roi_names={1: "EVC", 2: "HVC"}, voxel_ijk=np.zeros((3, 3), int))
    bare.save(tmp_path / "bare.npz", tmp_path / "bare.tsv")
    assert Responses.load(tmp_path / "bare.npz", tmp_path / "bare.tsv").ncsnr is None
