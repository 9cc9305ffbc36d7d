"""The video world and video decoding: clips that move as stated, NeuroClips' CC2017 layout written
and read back, flow of a known translation, metrics against reference answers, and motion decoded
from a small synthetic subject far above chance."""

import numpy as np
import pandas as pd
import pytest
import torch

from neurorecon.decode.video import (
    blurry_frames, blurry_targets, clip_flow, fit_video_decoders, flow_targets, keyframe_index, mean_motion,
    motion_direction,
)
from neurorecon.evaluate.video import endpoint_error, video_metrics
from neurorecon.io.cc2017 import load_subject, read_fmri, read_frames
from neurorecon.io.inputs import InputDataError
from neurorecon.synth.scenes import Scene
from neurorecon.synth.video import FPS, FRAMES, SPEEDS, Clip, draw_clip, write_video_world

SMALL = {"seed": 0, "n_subjects": 1, "n_train_clips": 160, "n_test_clips": 16, "segments_per_clip": 3,
         "test_repeats": 4, "segments_per_run": 36, "image_size": 32, "latent_dim": 8,
         "voxels": {"evc": 150, "hvc": 100, "mt": 120}, "signal_pct": 2.0, "noise_pct": [1.5, 1.5], "ar_coef": 0.4}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("video")
    return root, write_video_world(SMALL, root)


def test_flow_of_a_known_translation():
    """A textured frame shifted 2 px a frame to the right: flow (2 px x 3 fps / 32 px, 0) everywhere."""
    rng = np.random.default_rng(0)
    from scipy.ndimage import gaussian_filter

    texture = gaussian_filter(rng.random((32, 32 + 12)), 1.5)
    texture = (255 * (texture - texture.min()) / np.ptp(texture)).astype(np.uint8)
    frames = np.stack([np.repeat(texture[:, 10 - 2 * f: 42 - 2 * f, None], 3, axis=2) for f in range(FRAMES)])
    flow = clip_flow(frames)
    expected = np.array([2 * FPS / 32, 0.0])
    assert endpoint_error(flow.ravel()[None], np.tile(expected, 16)[None])[0] < 0.15 * expected[0]


@pytest.mark.parametrize("direction", range(8))
def test_clips_move_in_their_direction(direction):
    clip = Clip(Scene("circle", "red", "large", "middle", "centre", "noise", 3, (0.5, 0.5, 0.5)), direction, "fast", 2)
    frames = draw_clip(clip, 32)
    assert frames.shape == (2, FRAMES, 32, 32, 3)
    assert motion_direction(flow_targets(frames))[0] == direction
    assert np.allclose(np.diff(clip.offsets(), axis=0), clip.velocity / FPS)   # steady across segments
    assert np.linalg.norm(clip.velocity) == pytest.approx(SPEEDS["fast"])


def test_world_is_written_in_neuroclips_layout_and_read_back(world):
    root, table = world
    n_train, n_test = (table["split"] == "train").sum(), (table["split"] == "test").sum()
    assert n_train == 160 * 3 and n_test == 16 * 3
    train, test = read_fmri(root, 1, "train"), read_fmri(root, 1, "test")
    assert train.shape == (n_train, 2, 370) and test.shape == (n_test, 4, 370)
    stored = torch.load(root / "GT_test_3fps.pt", weights_only=True)
    assert tuple(stored.shape) == (n_test, FRAMES, 3, 32, 32) and 0 <= stored.min() and stored.max() <= 1
    frames = read_frames(root, "test")
    assert frames.shape == (n_test, FRAMES, 32, 32, 3) and frames.dtype == np.uint8
    responses = load_subject(root, 1, table)
    x, trials = responses.select("test")
    np.testing.assert_allclose(x, test.mean(axis=1), rtol=1e-6)
    assert trials["stim_id"].tolist() == table.loc[table["split"] == "test", "stim_id"].tolist()
    assert (responses.trials["split"] == "train").sum() == 2 * n_train


def test_reader_refuses_what_is_not_the_layout(tmp_path, world):
    root, _ = world
    torch.save({"fmri": torch.zeros(3)}, tmp_path / "subj01_train_fmri.pt")
    with pytest.raises(InputDataError, match="holds a dict, not a tensor"):
        read_fmri(tmp_path, 1, "train")
    torch.save(torch.zeros(4, 5), tmp_path / "subj01_train_fmri.pt")
    with pytest.raises(InputDataError, match=r"shape \(4, 5\); expected float \(segments, presentations, voxels\)"):
        read_fmri(tmp_path, 1, "train")
    torch.save(torch.full((2, 2, 3), float("nan")), tmp_path / "subj01_train_fmri.pt")
    with pytest.raises(InputDataError, match="NaN"):
        read_fmri(tmp_path, 1, "train")
    torch.save(torch.full((2, FRAMES, 3, 8, 8), 255.0), tmp_path / "GT_test_3fps.pt")
    with pytest.raises(InputDataError, match=r"values span \[255, 255\]; expected \[0, 1\]"):
        read_frames(tmp_path, "test")
    (tmp_path / "GT_train_3fps.pt").write_bytes(b"not a torch file")
    with pytest.raises(InputDataError, match="GT_train_3fps.pt: cannot read"):
        read_frames(tmp_path, "train")


def test_metrics_reference_answers():
    rng = np.random.default_rng(1)
    directions = np.arange(40) % 8
    angles = directions * np.pi / 4
    flow = np.tile(np.stack([np.cos(angles), np.sin(angles)], 1), 16) * 0.05   # (40, 32): uniform fields
    true = {"keyframe": rng.normal(size=(40, 16)), "blurry": rng.random((40, 60)), "flow": flow}
    rows = {r["metric"]: r for r in video_metrics(true, true, directions, ceiling=true)}
    assert rows["keyframe_clip_2way"]["value"] == 1.0 and rows["flow_epe"]["value"] == 0.0
    assert rows["motion_direction_acc"]["value"] == 1.0 and rows["blurry_pixcorr"]["value"] == pytest.approx(1.0)
    assert rows["keyframe_clip_2way"]["chance"] == pytest.approx(0.5, abs=0.05)
    assert rows["motion_direction_acc"]["chance"] == pytest.approx(1 / 8, abs=0.03)
    assert rows["flow_epe"]["chance"] > 0.05
    assert mean_motion(flow)[0] == pytest.approx([0.05, 0.0])


def test_blurry_targets_round_trip():
    frames = np.random.default_rng(2).integers(0, 256, (3, FRAMES, 32, 32, 3)).astype(np.uint8)
    small = blurry_frames(blurry_targets(frames), FRAMES)
    assert small.shape == (3, FRAMES, 8, 8, 3)
    np.testing.assert_allclose(small[0, 0, 0, 0], frames[0, 0, :4, :4].mean(axis=(0, 1)) / 255)
    assert keyframe_index(FRAMES) == 3


def test_motion_and_keyframes_are_decoded_far_above_chance(world):
    root, table = world
    responses = load_subject(root, 1, table)
    frames = {split: read_frames(root, split) for split in ("train", "test")}
    targets = {split: {"keyframe": blurry_targets(frames[split])[:, :48], "blurry": blurry_targets(frames[split]),
                       "flow": flow_targets(frames[split])} for split in frames}
    train_x, train_trials = responses.select("train")
    index = {s: i for i, s in enumerate(table.loc[table["split"] == "train", "stim_id"])}
    rows = [index[s] for s in train_trials["stim_id"]]
    decoders = fit_video_decoders(train_x, {k: v[rows] for k, v in targets["train"].items()},
                                  [1, 10, 100, 1000, 10000, 100000], None)
    test_x, _ = responses.select("test")
    predicted = {kind: decoder.predict(test_x) for kind, decoder in decoders.items()}
    directions = table.loc[table["split"] == "test", "direction"].to_numpy()
    metrics = {r["metric"]: r for r in video_metrics(predicted, targets["test"], directions)}
    assert metrics["motion_direction_acc"]["value"] > 2.5 * metrics["motion_direction_acc"]["chance"]
    assert metrics["flow_epe"]["value"] < metrics["flow_epe"]["chance"]
    assert metrics["blurry_pixcorr"]["value"] > metrics["blurry_pixcorr"]["chance"] + 0.3
    truth = np.load(root / "derivatives/groundtruth/subj01_groundtruth.npz")
    assert truth["test_clean"].shape == test_x.shape and set(np.unique(truth["roi"])) == {1, 2, 3}
    assert isinstance(pd.read_csv(root / "clips.tsv", sep="\t").loc[0, "caption"], str)


def test_the_same_seed_writes_the_same_bytes(tmp_path):
    tiny = {**SMALL, "n_train_clips": 16, "n_test_clips": 4, "segments_per_clip": 2, "segments_per_run": 8,
            "image_size": 16, "voxels": {"evc": 20, "hvc": 10, "mt": 10}}
    for name in ("a", "b"):
        write_video_world(tiny, tmp_path / name)
    for file in ("subj01_train_fmri.pt", "subj01_test_fmri.pt", "GT_train_3fps.pt", "clips.tsv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
