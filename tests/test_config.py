"""Config validation: unknown keys with did-you-mean hints, bad values named by the schema."""

import copy

import pytest
import yaml

from neurorecon.config import ConfigError, check_config_combinations, check_config_keys, unknown_keys
from neurorecon.schema import load_schema, validate_config
from neurorecon.layout import build_layout

from conftest import REPO, load_config

SCHEMA = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())


def test_default_and_example_configs_are_valid():
    for name in ("default", "tiny"):
        config = load_config(name)
        check_config_keys(config, SCHEMA)


def test_typo_is_named_with_a_suggestion():
    config = load_config("tiny")
    config["decode"]["ridge"]["alpha"] = [1.0]
    with pytest.raises(ConfigError, match=r"unknown config key 'decode.ridge.alpha'; did you mean decode.ridge.'alphas'\?"):
        check_config_keys(config, SCHEMA)


def test_unknown_top_level_section_is_named():
    assert unknown_keys({"preprocesss": {}}, SCHEMA)[0].startswith("unknown config key 'preprocesss'; did you mean 'preprocess'")


@pytest.mark.parametrize("path, value, expected", [
    (("data", "synthetic", "n_subjects"), 0, "n_subjects"),
    (("preprocess", "fmri", "single_trial"), "lsx", "single_trial"),
    (("decode", "ridge", "alphas"), [], "alphas"),
])
def test_bad_values_fail_validation_naming_the_key(path, value, expected):
    config = load_config("tiny")
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=rf"config: {'.'.join(path)}: "):
        validate_config(config, load_schema(REPO / "config" / "schema.yaml"))


def test_schema_fills_defaults():
    config = {"data": {"source": "synthetic", "synthetic": {}}, "preprocess": {"fmri": {}},
              "stimuli": {"clip": {}}, "decode": {"ridge": {}}}
    validate_config(config, load_schema(REPO / "config" / "schema.yaml"))
    assert config["preprocess"]["fmri"]["single_trial"] == "lss"
    assert config["data"]["synthetic"]["n_subjects"] == 4
    # whole sections left out are filled too
    assert config["reconstruct"]["sampling"]["sampler"] == "ddim"
    assert config["reconstruct"]["diffusion"]["tiny"]["prediction_type"] == "v_prediction"
    assert config["evaluate"]["image"]["backbones"]["alexnet"] == "auto"


def test_editing_a_stage_moves_it_and_only_the_stages_below():
    base = build_layout(load_config("tiny")).folders
    config = load_config("tiny")
    config["decode"]["ridge"]["alphas"] = [1.0, 2.0]
    edited = build_layout(config).folders
    changed = {stage for stage in base if base[stage] != edited[stage]}
    assert changed == {"decode", "evaluate", "reconstruct", "evaluate_image", "regions_image", "brain_score",
                       *ABLATION}   # not the low-level decoder
    config = copy.deepcopy(load_config("tiny"))
    config["preprocess"]["fmri"]["high_pass_hz"] = 0.02
    edited = build_layout(config).folders
    assert {stage for stage in base if base[stage] != edited[stage]} == {
        "preprocess", "decode", "evaluate", "lowlevel", "reconstruct", "evaluate_image",
        "shared", "adapt", "evaluate_shared", "evaluate_adapt", "regions_image", "decode_inputs", *ABLATION, *ENCODE}


ABLATION = {"ablation", "evaluate_ablation"}
ENCODE = {"encode", "brain_score", "synthesis"}
SENSOR_IMAGES = {f"{stage}_{m}" for stage in ("reconstruct", "evaluate_image") for m in ("eeg", "seeg")}
SENSOR_LOWLEVEL = {"lowlevel_eeg", "lowlevel_seeg"}


VIDEO_GENERATION = {"video_model", "reconstruct_video", "evaluate_video"}
SHAPE_BRANCH = {"shape_model", "shape_targets", "decode_shape", "reconstruct_shape", "evaluate_shape"}


@pytest.mark.parametrize("section, expected", [
    (("reconstruct", "sampling", "guidance"), {"reconstruct", "evaluate_image", *SENSOR_IMAGES, *ABLATION,
                                               "brain_score"}),
    (("reconstruct", "diffusion", "tiny", "epochs"), {"diffusion", "reconstruct", "evaluate_image", *SENSOR_IMAGES,
                                                      *VIDEO_GENERATION, *ABLATION, "brain_score", "synthesis"}),
    (("reconstruct", "vae", "tiny", "epochs"), {"vae", "diffusion", "lowlevel", "reconstruct", "evaluate_image",
                                                *SENSOR_LOWLEVEL, *SENSOR_IMAGES, *VIDEO_GENERATION, *ABLATION,
                                                "brain_score", "synthesis"}),
    (("reconstruct", "lowlevel", "pixel_size"), {"lowlevel", "reconstruct", "evaluate_image", *SENSOR_LOWLEVEL,
                                                 *SENSOR_IMAGES, *ABLATION, "brain_score"}),
    # the encoders are fitted apart from the brain score that uses them
    (("encode", "transformer", "epochs"), ENCODE),
    (("encode", "captions", "temperature"), ENCODE),
    (("encode", "synthesis", "steps"), {"synthesis"}),
    (("evaluate", "judge", "epochs"), {"judge", "evaluate_image", "evaluate_image_eeg", "evaluate_image_seeg",
                                       "evaluate_ablation", "synthesis"}),
    (("stimuli", "clip", "tiny", "epochs"), {"stimuli", "decode", "evaluate", "diffusion", "reconstruct", "evaluate_image",
                                             "decode_inputs", *ABLATION, *ENCODE,
                                             "shared", "adapt", "evaluate_shared", "evaluate_adapt", "decode_eeg", "evaluate_eeg",
                                             "decode_seeg", "evaluate_seeg", *SENSOR_IMAGES,
                                             "video_targets", "decode_video", *VIDEO_GENERATION, *SHAPE_BRANCH,
                                             "regions_image", "regions_video", "regions_shape"}),
    (("reconstruct", "video", "sampling", "guidance"), {"reconstruct_video", "evaluate_video"}),
    (("reconstruct", "video", "tiny", "epochs"), VIDEO_GENERATION),
    (("evaluate", "video", "num_trials"), {"evaluate_video"}),
    # the shape code is in the generator's basis, so retraining it moves the targets and decoders too
    (("reconstruct", "shape", "tiny", "epochs"), {*SHAPE_BRANCH, "regions_shape"}),
    (("reconstruct", "shape", "turntable_frames"), {"reconstruct_shape", "evaluate_shape"}),
    (("evaluate", "shape", "num_trials"), {"evaluate_shape"}),
    (("data", "synthetic", "shapes", "n_test_objects"), {"data_shape", "regions_shape", *SHAPE_BRANCH} - {"shape_model"}),
])
def test_generative_models_are_versioned_apart_from_sampling(section, expected):
    base = build_layout(load_config("tiny")).folders
    config = load_config("tiny")
    node = config
    for key in section[:-1]:
        node = node[key]
    node[section[-1]] = node[section[-1]] + 1
    edited = build_layout(config).folders
    assert {stage for stage in base if base[stage] != edited[stage]} == expected


def test_miyawaki_needs_rois_null():
    config = load_config("miyawaki")
    check_config_combinations(config)
    config["reconstruct"]["lowlevel"]["rois"] = ["EVC"]
    with pytest.raises(ConfigError, match="reconstruct.lowlevel.rois is \\['EVC'\\].*set it to null"):
        check_config_combinations(config)


def test_impossible_combinations_are_named():
    config = load_config("tiny")
    config["data"]["source"] = "bids"
    with pytest.raises(ConfigError, match="no data.bids section"):
        check_config_combinations(config)
    config["data"]["nsd"] = {"root": "/x", "subjects": [1], "sessions": [1]}
    config["data"]["source"] = "nsd"
    config["decode"]["ridge"]["target"] = "text"
    with pytest.raises(ConfigError, match="needs captions"):
        check_config_combinations(config)


def test_resnet_clip_tower_needs_an_image_side_divisible_by_32():
    config = load_config("tiny")
    config["stimuli"]["clip"]["tiny"].update(image_size=16)
    with pytest.raises(ConfigError, match="image_size is 16, but the resnet vision_tower needs a multiple of 32"):
        check_config_combinations(config)
    config["stimuli"]["clip"]["tiny"].update(vision_tower="vit")
    check_config_combinations(config)


@pytest.mark.parametrize("edit, expected", [
    (lambda c: c["decode"]["adapt"].update(fraction=0.25), {"adapt", "evaluate_adapt"}),
    (lambda c: c["decode"]["adapt"].update(subjects=["02", "03"]), set()),   # new subject: new jobs, same folders
    (lambda c: c["decode"]["shared"].update(epochs=3),
     {"shared", "adapt", "evaluate_shared", "evaluate_adapt"}),
    (lambda c: c["decode"]["ridge"].update(alphas=[1, 10]),
     {"decode", "evaluate", "reconstruct", "evaluate_image", "regions_image", "brain_score", *ABLATION}),
    (lambda c: (c["reconstruct"].update(decoder="cross-subject"), c["decode"]["adapt"].update(subjects=["02", "03"])),
     {"reconstruct", "evaluate_image", "brain_score", *ABLATION}),
    (lambda c: c["encode"]["brain_score"].update(model="linear"), {"brain_score"}),
])
def test_cross_subject_stages_are_versioned_apart_from_ridge_and_the_adapted_list(edit, expected):
    base = build_layout(load_config("tiny")).folders
    config = load_config("tiny")
    edit(config)
    check_config_combinations(config)
    edited = build_layout(config).folders
    assert {stage for stage in base if base[stage] != edited[stage]} == expected


def test_shared_subjects_default_to_all_but_the_adapted_ones():
    config = load_config("tiny")
    config["decode"]["shared"]["subjects"] = None
    layout = build_layout(config)
    assert layout.shared_subjects == ["01", "03"] and layout.adapt_subjects == ["02"]
    assert {"shared", "adapt"} <= set(layout.folders_in_use)
    config["decode"]["shared"]["enabled"] = False
    config["decode"]["adapt"]["subjects"] = []
    layout = build_layout(config)
    assert layout.shared_subjects == [] and not {"shared", "adapt", "evaluate_shared"} & set(layout.folders_in_use)


@pytest.mark.parametrize("shared, adapt, enabled, message", [
    (["01"], ["01"], True, r"\['01'\] are in both decode.shared.subjects and decode.adapt.subjects"),
    (["07"], ["02"], True, r"decode.shared.subjects names \['07'\], which the data do not have"),
    (None, ["09"], True, r"decode.adapt.subjects names \['09'\]"),
    (None, ["01", "02", "03"], True, "no subject to train on"),
    (None, ["02"], False, "decode.adapt.subjects needs the cross-subject decoder"),
    (None, [], False, "reconstruct.decoder 'cross-subject' needs decode.shared.enabled"),
    (["01"], ["02"], True, r"reconstruct.decoder is 'cross-subject' but subject\(s\) \['03'\] are in neither"),
])
def test_cross_subject_subject_lists_are_checked(shared, adapt, enabled, message):
    config = load_config("tiny")
    config["reconstruct"]["decoder"] = "cross-subject" if "reconstruct.decoder" in message else "ridge"
    config["decode"]["shared"].update(subjects=shared, enabled=enabled)
    config["decode"]["adapt"]["subjects"] = adapt
    with pytest.raises(ConfigError, match=message):
        check_config_combinations(config)


def test_glm_benchmark_needs_bold_runs():
    config = load_config("tiny")
    config["benchmark"]["glm"]["enabled"] = True
    check_config_combinations(config)
    config["data"] = {**config["data"], "source": "nsd", "nsd": {"root": "/x", "subjects": [1]}}
    config["decode"]["shared"]["enabled"] = False
    config["decode"]["adapt"]["subjects"] = []
    with pytest.raises(ConfigError, match="benchmark.glm .* 'nsd'"):
        check_config_combinations(config)


def test_shipped_generative_models_are_listed_where_they_are_read_from():
    config = load_config("default")
    layout = build_layout(config, {"clip": "c", "vae": "v", "diffusion": "d"})
    assert layout.folders_in_use["vae"] == "models/vae" and layout.folders_in_use["diffusion"] == "models/diffusion"
    assert layout.folders_in_use["stimuli"] == layout.folders["stimuli"]  # the embeddings are written there
    assert build_layout(config).folders_in_use["vae"] == build_layout(config).folders["vae"]


def test_cc2017_runs_the_video_stages_only_and_reads_its_files_in_place():
    config = load_config("cc2017")
    layout = build_layout(config)
    assert layout.subjects == [] and layout.video_subjects == ["video01", "video02", "video03"]
    assert layout.video_root == "/path/to/cc2017" and layout.folders["data_video"].startswith("results/data/cc2017-")
    assert {"video_targets", "decode_video", "reconstruct_video", "evaluate_video"} <= set(layout.folders_in_use)
    config["data"]["cc2017"]["subjects"] = [1]
    edited = build_layout(config)
    assert edited.folders["data_video"] != layout.folders["data_video"] and edited.video_subjects == ["video01"]
