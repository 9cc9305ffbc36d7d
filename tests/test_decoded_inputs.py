"""Structure maps, the decoders of the generator's further inputs (caption text, structure), the
independent scene judge, and the config rules that tie them to the generator."""

import copy
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from neurorecon.config import ConfigError, check_config_combinations
from neurorecon.decode.inputs import caption_recall, caption_words, decode_inputs, input_metrics
from neurorecon.io.inputs import InputDataError
from neurorecon.layout import build_layout, combination_name
from neurorecon.responses import Responses
from neurorecon.stimuli.structure import edge_maps, scenes_from_table, structure_maps
from neurorecon.synth.scenes import COLUMNS, ROWS, SIZES, Scene, draw_scene, sample_scenes

from conftest import load_config


@pytest.fixture(scope="module")
def default_config():
    return load_config("default")


def test_a_silhouette_covers_the_shape_where_the_scene_puts_it():
    scene = Scene("circle", "red", "large", "top", "left", "stripes", 1, (0.5, 0.5, 0.5))
    silhouette = structure_maps("silhouette", 16, scenes=[scene])[0]
    rows, columns = np.indices(silhouette.shape) + 0.5
    centre = ((rows * silhouette).sum() / silhouette.sum() / 16, (columns * silhouette).sum() / silhouette.sum() / 16)
    np.testing.assert_allclose(centre, (ROWS["top"], COLUMNS["left"]), atol=0.02)
    assert silhouette.mean() == pytest.approx(np.pi * SIZES["large"] ** 2, rel=0.05)


def test_edges_follow_outlines_and_a_flat_image_has_none():
    scene = Scene("square", "blue", "large", "middle", "centre", "noise", 3, (0.5, 0.5, 0.5))
    image = draw_scene(scene, 64)
    flat = np.full((1, 64, 64, 3), 128, np.uint8)
    assert edge_maps(flat, 16).max() == 0
    edges = edge_maps(image[None], 16)[0]
    outline = structure_maps("silhouette", 16, scenes=[scene])[0]
    border = (outline > 0.05) & (outline < 0.95)
    assert edges[border].mean() > 2 * edges[outline > 0.95].mean()


def test_scenes_come_back_from_a_stimulus_table_and_a_bare_table_is_refused(tmp_path):
    scenes = sample_scenes(5, np.random.default_rng(0))
    table = pd.DataFrame([s.as_record() for s in scenes])
    table.to_csv(tmp_path / "stimuli.tsv", sep="\t", index=False)
    back = scenes_from_table(pd.read_csv(tmp_path / "stimuli.tsv", sep="\t"), tmp_path / "stimuli.tsv")
    for original, read in zip(scenes, back):   # the table keeps the tint to 3 decimals
        assert replace(read, tint=original.tint) == original
        np.testing.assert_allclose(read.tint, original.tint, atol=5e-4)
    with pytest.raises(InputDataError, match=r"stimuli\.tsv.*missing \['shape'.*use stimuli.structure.kind: edges"):
        scenes_from_table(table.drop(columns=["shape"]), tmp_path / "stimuli.tsv")


def _world(n_train=240, n_test=24, noise=0.3, seed=0):
    """Responses that carry each caption's words linearly (plus noise), with embeddings and maps."""
    rng = np.random.default_rng(seed)
    scenes = sample_scenes(n_train + n_test, rng)
    ids = [f"s{i:03d}" for i in range(len(scenes))]
    captions = {i: s.caption for i, s in zip(ids, scenes)}
    _, words = caption_words(captions.values())
    mixing = rng.normal(size=(words.shape[1], 120))
    clean = words @ mixing
    values = clean + noise * clean.std() * rng.normal(size=clean.shape)
    split = ["train"] * n_train + ["test"] * n_test
    trials = pd.DataFrame({"stim_id": ids, "split": split, "runs": "1", "n_repeats": 1})
    responses = Responses(values=values.astype(np.float32), trials=trials, roi=np.ones(120, int),
                          roi_names={1: "HVC"}, voxel_ijk=np.zeros((120, 3), int))
    embeddings = {"stim_ids": np.asarray(ids), "image": rng.normal(size=(len(ids), 8)),
                  "text": words @ rng.normal(size=(words.shape[1], 8))}
    structure = {"stim_ids": ids, "maps": structure_maps("silhouette", 8, scenes=scenes)}
    return responses, embeddings, structure, captions, clean[n_train:], scenes[n_train:]


CFG = {"rois": ["HVC"], "alphas": [0.1, 1, 10, 100, 1000], "cv": None}


def test_retrieval_decodes_captions_that_name_the_shape_and_colour():
    responses, embeddings, structure, captions, clean, test_scenes = _world()
    result = decode_inputs(responses, ["text", "structure"], embeddings, structure, {**CFG, "method": "retrieval"},
                           clean, captions)
    decoded = result["captions"]
    shape_hits = np.mean([s.shape in c.split() for s, c in zip(test_scenes, decoded)])
    colour_hits = np.mean([s.colour in c.split() for s, c in zip(test_scenes, decoded)])
    # no training caption has every test scene's words: the nearest trades some, far above chance (1/6)
    assert shape_hits > 0.5 and colour_hits > 0.5
    assert caption_recall(decoded, [s.caption for s in test_scenes]) > 0.7
    # the decoded text embedding and map are those of the retrieved training caption's stimulus
    train_text = dict(zip(embeddings["stim_ids"], embeddings["text"]))
    first = next(k for k, c in captions.items() if c == result["captions"][0] and k in train_text)
    np.testing.assert_allclose(result["predicted"]["text"][0], train_text[first])
    assert result["predicted"]["structure"].shape == (24, 64) and set(result["ceiling"]) == {"text", "structure"}
    rows = {r["metric"]: r for kind in ("text", "structure")
            for r in input_metrics(kind, result["predicted"][kind], result["true"][kind], result["ceiling"][kind])}
    assert rows["text_2way"]["value"] > 0.7 and rows["structure_corr"]["value"] > rows["structure_corr"]["chance"]


def test_ridge_decodes_each_input_and_without_noise_free_rows_has_no_ceiling():
    responses, embeddings, structure, captions, _, _ = _world()
    result = decode_inputs(responses, ["text"], embeddings, structure, {**CFG, "method": "ridge"}, None, captions)
    assert set(result["predicted"]) == {"text"} and result["ceiling"] is None and set(result["decoders"]) == {"text"}
    (retrieval, two_way) = input_metrics("text", result["predicted"]["text"], result["true"]["text"], None)
    assert two_way["metric"] == "text_2way" and two_way["value"] > 0.9 and two_way["ceiling"] is None
    with pytest.raises(ValueError, match="needs the stimuli's captions"):
        decode_inputs(responses, ["text"], embeddings, structure, {**CFG, "method": "retrieval"}, None, None)


def test_map_metrics_know_a_perfect_and_a_shuffled_decoder():
    maps = np.random.default_rng(0).random((10, 16))
    perfect = {r["metric"]: r for r in input_metrics("structure", maps, maps, maps)}
    assert perfect["structure_corr"]["value"] == pytest.approx(1.0) and perfect["structure_2way"]["value"] == 1.0
    shuffled = {r["metric"]: r for r in input_metrics("structure", maps[::-1], maps, None)}
    assert shuffled["structure_corr"]["value"] < 0.5 and shuffled["structure_2way"]["ceiling"] is None


def test_caption_recall_counts_the_true_words_found():
    assert caption_recall(["a red star"], ["a red star"]) == 1.0
    assert caption_recall(["a blue star"], ["a red star"]) == pytest.approx(2 / 3)


def test_the_judge_reads_shape_and_colour_from_pixels(tmp_path):
    from neurorecon.evaluate.judge import judge_rows, load_judge, train_judge

    cfg = {"seed": 0, "n_images": 800, "image_size": 32, "width": 16, "epochs": 10, "batch_size": 32,
           "learning_rate": 0.005}
    held_out = train_judge(cfg, tmp_path / "judge")
    assert held_out["colour"] > 0.9 and held_out["shape"] > 0.3          # chance 1/6; the default trains 4x longer
    judge = load_judge(tmp_path / "judge")
    scenes = sample_scenes(60, np.random.default_rng(7))
    images = np.stack([draw_scene(s, 32) for s in scenes])
    true = {"shape": np.asarray([s.shape for s in scenes]), "colour": np.asarray([s.colour for s in scenes])}
    own = {r["metric"]: r for r in judge_rows(judge, images, images, true)}
    other = {r["metric"]: r for r in judge_rows(judge, images[::-1], None, true)}
    assert own["colour_judge_acc"]["value"] > 0.8 and own["colour_judge_acc"]["ceiling"] == own["colour_judge_acc"]["value"]
    assert other["colour_judge_acc"]["value"] < 0.4 and other["shape_judge_acc"]["ceiling"] is None


def test_the_ablation_takes_the_first_n_listed_or_all_subjects(default_config):
    from neurorecon.layout import ablation_subjects

    config = copy.deepcopy(default_config)
    assert ablation_subjects(config) == ["01"]                      # the default: the first subject
    for setting, expected in ((2, ["01", "02"]), (None, ["01", "02", "03", "04"]), (["03"], ["03"]), (0, [])):
        config["reconstruct"]["ablation"]["subjects"] = setting
        assert ablation_subjects(config) == expected
    config["reconstruct"]["diffusion"]["model"] = "/models/unclip"   # the tiny generator only
    assert ablation_subjects(config) == []


def test_combination_names_have_one_order():
    assert combination_name(["structure", "image", "text"]) == "image+text+structure"
    with pytest.raises(ValueError, match="unknown decoded inputs"):
        combination_name(["image", "depth"])


def test_config_ties_the_generator_inputs_to_their_decoders(default_config):
    config = copy.deepcopy(default_config)
    config["decode"]["inputs"]["kinds"] = ["text"]
    with pytest.raises(ConfigError, match=r"use \['structure'\], which decode.inputs.kinds does not decode"):
        check_config_combinations(config)
    config = copy.deepcopy(default_config)
    config["stimuli"]["structure"]["size"] = 8
    with pytest.raises(ConfigError, match="control branch follows silhouette at 16"):
        check_config_combinations(config)
    config = copy.deepcopy(default_config)
    config["reconstruct"]["ablation"]["subjects"] = ["09"]
    with pytest.raises(ConfigError, match=r"ablation.subjects names \['09'\]"):
        check_config_combinations(config)
    config = copy.deepcopy(default_config)
    config["reconstruct"]["diffusion"]["model"] = "/models/unclip"
    with pytest.raises(ConfigError, match="has no control branch: set reconstruct.diffusion.controlnet"):
        check_config_combinations(config)
    config["reconstruct"]["diffusion"]["controlnet"] = "/models/controlnet-sd21-canny"
    config["stimuli"]["structure"]["kind"] = "edges"
    check_config_combinations(config)            # decoded maps steer the pretrained pipeline's ControlNet
    config["reconstruct"]["diffusion"]["controlnet"] = None
    config["reconstruct"]["sampling"]["inputs"] = ["image", "text"]
    check_config_combinations(config)            # decoded captions prompt the pipeline
    config["decode"]["inputs"]["method"] = "ridge"
    with pytest.raises(ConfigError, match="reads decoded text as captions"):
        check_config_combinations(config)
    nsd = load_config("nsd")
    check_config_combinations(nsd)                     # structure by ridge, no text: fine without captions
    nsd["decode"]["inputs"].update(kinds=["text", "structure"], method="retrieval")
    with pytest.raises(ConfigError, match="or set data.nsd.captions"):
        check_config_combinations(nsd)
    nsd["data"]["nsd"]["captions"] = "/data/coco/annotations"
    nsd["reconstruct"]["sampling"]["inputs"] = ["image", "text"]
    check_config_combinations(nsd)                     # decoded COCO captions prompt the unCLIP pipeline
    config = copy.deepcopy(default_config)
    config["reconstruct"]["sampling"]["inputs"] = ["image"]
    config["reconstruct"]["ablation"]["subjects"] = []
    config["decode"]["inputs"]["kinds"] = []
    check_config_combinations(config)   # image only, nothing decoded besides: fine
    config["reconstruct"]["diffusion"]["tiny"]["training_images"] = "stimuli"
    with pytest.raises(ConfigError, match="controlnet.structure 'silhouette' is drawn from synthetic scenes"):
        check_config_combinations(config)   # photographs have no scenes to draw silhouettes from
    config["reconstruct"]["diffusion"]["tiny"]["controlnet"]["structure"] = "edges"
    check_config_combinations(config)


def test_sampling_and_combination_edits_move_only_the_ablation_and_what_samples(default_config):
    before = build_layout(default_config).versions
    for keys, value, moved in ((("reconstruct", "ablation", "combinations"), [["image"]], {"ablation",
                                                                                          "evaluate_ablation"}),
                               (("reconstruct", "sampling", "text_guidance"), 5.0,
                                {"reconstruct", "evaluate_image", "ablation", "evaluate_ablation", "brain_score"}),
                               (("decode", "inputs", "method"), "ridge",
                                {"decode_inputs", "reconstruct", "evaluate_image", "ablation", "evaluate_ablation",
                                 "brain_score"})):
        config = copy.deepcopy(default_config)
        section = config
        for key in keys[:-1]:
            section = section[key]
        section[keys[-1]] = value
        after = build_layout(config).versions
        changed = {stage for stage in before if before[stage] != after[stage]}
        assert {s for s in changed if not s.startswith(("reconstruct_", "evaluate_image_"))} == moved, keys


def test_sampled_inputs_come_back_square_and_checked(tmp_path):
    from neurorecon.decode.keyed import save_predictions
    from neurorecon.reconstruct.subject import sampled_inputs

    path = tmp_path / "predictions.npz"
    maps = np.arange(2 * 16, dtype=np.float32).reshape(2, 16)
    save_predictions(path, ["a", "b"], {"structure": maps}, {"structure": maps + 1})
    assert sampled_inputs(path, ["a", "b"], ["image"]) == {"images": {}, "ceiling": {}}
    inputs = sampled_inputs(path, ["a", "b"], ["image", "structure"])
    np.testing.assert_array_equal(inputs["images"]["structure"], maps.reshape(2, 4, 4))
    np.testing.assert_array_equal(inputs["ceiling"]["structure"], maps.reshape(2, 4, 4) + 1)
    with pytest.raises(InputDataError, match=r"no decoded \['text'\]; add them to decode.inputs.kinds"):
        sampled_inputs(path, ["a", "b"], ["image", "text", "structure"])
    with pytest.raises(InputDataError, match=r"no decoded \['captions'\]; decode.inputs.method: retrieval"):
        sampled_inputs(path, ["a", "b"], ["image", "text"], text_as="caption")
    save_predictions(path, ["a", "b"], {"structure": maps}, structure_kind=np.asarray("edges"))
    assert sampled_inputs(path, ["a", "b"], ["image", "structure"], follows={"kind": "edges", "size": 4})["images"]
    with pytest.raises(InputDataError, match="maps are edges at 4 cells, but the generator's control branch follows "
                                             "silhouette at 4"):
        sampled_inputs(path, ["a", "b"], ["image", "structure"], follows={"kind": "silhouette", "size": 4})
    save_predictions(path, ["a", "b"], {"structure": maps}, captions=np.asarray(["a red star", "a blue ring"]))
    assert list(sampled_inputs(path, ["a", "b"], ["image", "text"], text_as="caption")["images"]["text"]) == [
        "a red star", "a blue ring"]
    with pytest.raises(InputDataError, match="other test stimuli"):
        sampled_inputs(path, ["b", "a"], ["image", "structure"])


def test_sampling_refuses_low_level_images_of_other_stimuli():
    from neurorecon.reconstruct.subject import sampling_sets

    lowlevel = {"stim_ids": np.array(["s2", "s1"]), "images": np.zeros((2, 4, 4, 3), np.uint8)}
    with pytest.raises(ValueError, match="predictions.npz and reconstructions.npz list different test stimuli"):
        sampling_sets(["s1", "s2"], lowlevel, np.zeros((2, 8)), None, {"images": {}, "ceiling": {}},
                      "predictions.npz and reconstructions.npz")
    sets = sampling_sets(["s2", "s1"], lowlevel, np.zeros((2, 8)), None, {"images": {}, "ceiling": {}}, "")
    assert set(sets) == {"images"}
