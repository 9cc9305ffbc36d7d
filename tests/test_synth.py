"""The synthetic world: valid BIDS, deterministic, subjects that differ, scenes that match captions."""

import hashlib

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurorecon.synth import scenes as sc
from neurorecon.synth.fmri import framewise_displacement, make_anatomy, simulate_subject, subject_rng
from neurorecon.synth.world import build_world


def test_scene_pixels_match_caption():
    scene = sc.Scene(shape="square", colour="blue", size="large", row="middle", column="centre",
                     background="stripes", texture_seed=1, tint=(0.5, 0.5, 0.5))
    image = sc.draw_scene(scene, 64)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    centre = image[32, 32] / 255
    assert np.allclose(centre, sc.COLOURS["blue"], atol=0.01)
    assert scene.caption == "a large blue square at the centre on a stripes background"
    ring = sc.draw_scene(sc.Scene(**{**scene.__dict__, "shape": "ring"}), 64)
    assert not np.allclose(ring[32, 32] / 255, sc.COLOURS["blue"], atol=0.05)  # a ring's centre is background


def test_sample_scenes_balances_shapes_and_colours():
    scenes = sc.sample_scenes(60, np.random.default_rng(0))
    assert pd.Series([s.shape for s in scenes]).value_counts().tolist() == [10] * 6
    assert pd.Series([s.colour for s in scenes]).value_counts().tolist() == [10] * 6


def test_shape_variant_groups_differ_in_shape_only():
    scenes = sc.sample_shape_variant_groups(10, 3, np.random.default_rng(0))
    assert len(scenes) == 10
    for start in range(0, 10, 3):
        group = scenes[start:start + 3]
        assert len({s.shape for s in group}) == len(group)
        assert len({(s.colour, s.size, s.row, s.column, s.background, s.texture_seed, s.tint) for s in group}) == 1
    assert scenes[0].colour != scenes[3].colour or scenes[0].texture_seed != scenes[3].texture_seed
    with pytest.raises(ValueError, match="1 to 6 scenes"):
        sc.sample_shape_variant_groups(10, 7, np.random.default_rng(0))


def test_lowlevel_features_are_zero_for_mid_grey():
    grey = np.full((1, 16, 16, 3), 127.5)
    assert np.allclose(sc.lowlevel_features(grey, grid=8), 0, atol=1e-9)
    with pytest.raises(ValueError, match="multiple of the feature grid"):
        sc.lowlevel_features(np.zeros((1, 10, 10, 3)), grid=8)


def test_world_is_deterministic(tiny_synth_cfg):
    a, _ = build_world(tiny_synth_cfg)
    b, _ = build_world(tiny_synth_cfg)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.semantic, b.semantic)
    c, _ = build_world({**tiny_synth_cfg, "seed": 1})
    assert not np.array_equal(a.images, c.images)
    assert (a.split == "test").sum() == tiny_synth_cfg["n_test_stimuli"]


def test_subjects_differ_in_voxels_and_layout(tiny_synth_cfg):
    counts = {make_anatomy(tiny_synth_cfg["brain_grid"], subject_rng(0, i)).mask.sum() for i in range(4)}
    assert len(counts) > 1


def test_bids_tree_is_complete_and_consistent(tiny_world_root, tiny_synth_cfg):
    root = tiny_world_root
    for name in ("dataset_description.json", "participants.tsv", "stimuli/stimuli.tsv",
                 "derivatives/groundtruth/world.npz"):
        assert (root / name).is_file(), name
    bolds = sorted((root / "sub-01" / "func").glob("*_bold.nii.gz"))
    assert bolds
    mask = nib.load(root / "derivatives/fmriprep/sub-01/anat/sub-01_desc-brain_mask.nii.gz")
    events_all = []
    for bold_path in bolds:
        bold = nib.load(bold_path)
        assert bold.ndim == 4 and bold.shape[:3] == mask.shape
        assert bold.header.get_zooms()[3] == pytest.approx(tiny_synth_cfg["tr"])
        events = pd.read_csv(str(bold_path).replace("_bold.nii.gz", "_events.tsv"), sep="\t")
        assert list(events.columns[:4]) == ["onset", "duration", "trial_type", "stim_file"]
        assert events["onset"].is_monotonic_increasing
        assert events["onset"].max() + events["duration"].max() < bold.shape[3] * tiny_synth_cfg["tr"]
        confounds = pd.read_csv(str(bold_path).replace("sub-01/func", "derivatives/fmriprep/sub-01/func")
                                .replace("_bold.nii.gz", "_desc-confounds_timeseries.tsv"), sep="\t", na_values="n/a")
        assert len(confounds) == bold.shape[3]
        assert {"trans_x", "rot_z", "framewise_displacement"} <= set(confounds.columns)
        events_all.append(events.assign(run=bold_path.name))
    events = pd.concat(events_all)
    per_stim = events.groupby("stim_id")
    test = events[events["trial_type"] == "test"]
    assert set(test.groupby("stim_id").size()) == {tiny_synth_cfg["test_repeats"]}
    assert set(events[events["trial_type"] == "train"].groupby("stim_id").size()) == {1}
    assert (test.groupby("stim_id")["run"].nunique() == tiny_synth_cfg["test_repeats"]).all()  # repeats in different runs
    assert per_stim.ngroups == tiny_synth_cfg["n_train_stimuli"] + tiny_synth_cfg["n_test_stimuli"]


def test_ground_truth_explains_the_bold(tiny_world_root):
    truth = np.load(tiny_world_root / "derivatives/groundtruth/sub-01/sub-01_groundtruth.npz")
    resp, roi = truth["stimulus_response_pct"], truth["roi"]
    assert resp.shape[1] == roi.shape[0]
    assert np.all(resp[:, roi == 0] == 0)          # voxels outside the visual ROIs do not respond
    assert np.all(resp[:, roi > 0].std(0) > 0)


def test_subject_simulation_is_byte_identical_for_a_seed(tmp_path, tiny_synth_cfg):
    def digest(root):
        return hashlib.sha256(b"".join(p.read_bytes() for p in sorted((root / "sub-01" / "func").glob("*_bold.nii.gz")))).hexdigest()

    world, _ = build_world(tiny_synth_cfg)
    simulate_subject(world, tiny_synth_cfg, 0, tmp_path / "a")
    simulate_subject(world, tiny_synth_cfg, 0, tmp_path / "b")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_framewise_displacement_matches_power_definition():
    motion = np.zeros((3, 6))
    motion[1, 0] = 0.5                      # 0.5 mm shift
    motion[2, 3] = 0.01                     # then 0.01 rad rotation, shift back
    fd = framewise_displacement(motion)
    assert np.isnan(fd[0])
    assert fd[1] == pytest.approx(0.5)
    assert fd[2] == pytest.approx(0.5 + 50 * 0.01)
