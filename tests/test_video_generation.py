"""Video generation and its metrics: the tiny motion UNet trains, saves, reloads and samples
deterministically; the real AnimateDiff + SparseCtrl path runs offline from tiny parts on disk;
the generated-clip metrics give their reference answers."""

import numpy as np
import pytest
import torch

from neurorecon.decode.video import (
    FPS, blurry_targets, decoded_start_clips, flow_animated_clips, flow_targets, motion_direction,
)
from neurorecon.evaluate.video import (
    clip_pcc, generated_video_metrics, hf_classifier, identification_rows, n_way_top_k_acc,
    object_class_names, pixel_rows, psnr, ssim_grey_gaussian, ssim_rgb_255,
)
from neurorecon.io.inputs import InputDataError
from neurorecon.reconstruct import video
from neurorecon.synth.scenes import Scene
from neurorecon.synth.video import FRAMES, Clip, draw_clip

EMBED = 8
TRAIN_CFG = {"seed": 0, "motion_attention_heads": 2, "max_frames": 6, "condition_dropout": 0.1,
             "prediction_type": "v_prediction", "ema_decay": 0.9, "learning_rate": 0.001, "epochs": 1, "batch_size": 4}
SAMPLING = {"sampler": "ddim", "steps": 4, "guidance": 2.0, "strength": 0.6, "seed": 0}


def moving_clips(n: int, side: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``n`` one-segment clips of a red circle moving in directions 0, 1, ... and those directions."""
    directions = np.arange(n) % 8
    scene = Scene("circle", "red", "large", "middle", "centre", "noise", 3, (0.5, 0.5, 0.5))
    return np.concatenate([draw_clip(Clip(scene, int(d), "fast", 1), side) for d in directions]), directions


@pytest.fixture(scope="module")
def tiny_video_model(tmp_path_factory):
    from diffusers import AutoencoderKL, UNet2DConditionModel

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("video-model")
    vae = AutoencoderKL(block_out_channels=(8, 8), down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=8,
                        sample_size=32).eval()
    unet2d = UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=EMBED, attention_head_dim=8, norm_num_groups=16)
    clips, _ = moving_clips(8)
    rng = np.random.default_rng(0)
    keyframes = rng.normal(size=(8, EMBED)).astype(np.float32)
    latents = video.clips_to_latents(vae, clips)
    history = video.train_tiny_video_unet(latents, keyframes, flow_targets(clips), unet2d, TRAIN_CFG, root / "model")
    return video.load_tiny_video_generator(root / "model", vae), clips, keyframes, history


def test_motion_tokens_round_trip(tmp_path):
    tokens = video.MotionTokens(32, EMBED, 0.02)
    tokens.save(tmp_path / "tokens")
    again = video.MotionTokens.load(tmp_path / "tokens")
    flow = torch.randn(3, 32)
    torch.testing.assert_close(tokens(flow), again(flow))
    (tmp_path / "tokens" / "config.json").write_text("{}")
    with pytest.raises(InputDataError, match="flow_dim"):
        video.MotionTokens.load(tmp_path / "tokens")


def test_tiny_video_model_trains_reloads_and_samples_deterministically(tiny_video_model):
    generator, clips, keyframes, history = tiny_video_model
    assert len(history) == 1 and np.isfinite(history[0]["loss"])
    assert generator.max_frames == 6 and generator.motion_tokens.config["flow_dim"] == 32
    start = decoded_start_clips({"blurry": np.concatenate([c.reshape(1, -1) for c in clips[:, :, ::4, ::4] / 255.0])})
    assert start.shape == (8, 6, 8, 8, 3)
    flows = flow_targets(clips)
    out = video.animate(generator, start[:3], keyframes[:3], flows[:3], **SAMPLING, batch_size=2)
    again = video.animate(generator, start[:3], keyframes[:3], flows[:3], **SAMPLING, batch_size=2)
    other = video.animate(generator, start[:3], keyframes[:3], flows[:3], **{**SAMPLING, "seed": 1}, batch_size=2)
    assert out.shape == (3, 6, 32, 32, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, again)
    assert np.abs(out.astype(int) - other).mean() > 0.5


def test_video_sampling_errors_are_clear(tiny_video_model):
    generator, clips, keyframes, _ = tiny_video_model
    start = clips[:2, :, ::4, ::4]
    flows = flow_targets(clips[:2])
    with pytest.raises(ValueError, match="8-d keyframe embeddings; the decoded ones are 5-d"):
        video.animate(generator, start, keyframes[:2, :5], flows, **SAMPLING)
    with pytest.raises(ValueError, match="32-value flow fields; the decoded ones have 4"):
        video.animate(generator, start, keyframes[:2], flows[:, :4], **SAMPLING)
    with pytest.raises(ValueError, match="draws up to 6 frames; the start clips have 12"):
        video.animate(generator, np.concatenate([start, start], axis=1), keyframes[:2], flows, **SAMPLING)
    with pytest.raises(ValueError, match="strength must be in"):
        video.animate(generator, start, keyframes[:2], flows, **{**SAMPLING, "strength": 0.0})
    with pytest.raises(FileNotFoundError, match="not a tiny video generator folder"):
        video.load_tiny_video_generator(__import__("pathlib").Path("/nonexistent"), generator.vae)


def test_sparsectrl_pipeline_loads_offline_and_animates(tmp_path):
    from sparsectrl_fixture import build_tiny_sparsectrl

    parts = build_tiny_sparsectrl(tmp_path)
    pipe = video.load_sparsectrl_pipeline(parts["base"], parts["motion_adapter"], parts["controlnet"])
    rng = np.random.default_rng(0)
    keyframes = rng.integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    start = rng.integers(0, 256, (2, 6, 8, 8, 3)).astype(np.uint8)
    kwargs = {"size": 32, "steps": 2, "guidance": 2.0, "seed": 0}
    out = video.animate_sparsectrl(pipe, keyframes, start, "a video", "", **kwargs)
    np.testing.assert_array_equal(out, video.animate_sparsectrl(pipe, keyframes, start, "a video", "", **kwargs))
    assert out.shape == (2, 6, 32, 32, 3) and out.dtype == np.uint8 and out.std() > 1
    with pytest.raises(FileNotFoundError, match="not a diffusers folder"):
        video.load_sparsectrl_pipeline(tmp_path / "tokenizer-src", parts["motion_adapter"], parts["controlnet"])


def test_generated_clips_are_written_as_gifs_and_frames(tmp_path):
    import imageio.v3 as iio

    from neurorecon.reconstruct.io import write_frame_pngs, write_gifs

    clips, _ = moving_clips(2)
    write_gifs(tmp_path / "gifs", ["a", "b"], clips, FPS)
    write_frame_pngs(tmp_path / "frames", ["a", "b"], clips)
    frames = iio.imread(tmp_path / "gifs" / "b.gif", index=None)
    assert frames.shape[0] == FRAMES and frames.shape[1:3] == (32, 32)
    assert sorted(p.name for p in (tmp_path / "frames" / "a").iterdir()) == [f"frame-{k}.png" for k in range(6)]


def test_pixel_metrics_reference_answers():
    clips, _ = moving_clips(6)
    assert ssim_grey_gaussian(clips, clips) == pytest.approx(np.ones(6))
    assert ssim_rgb_255(clips, clips) == pytest.approx(np.ones(6))
    darker = clips // 2
    assert psnr(darker + 5, darker) == pytest.approx(np.full(6, 10 * np.log10(255 ** 2 / 25)), rel=1e-6)
    rows = {r["metric"]: r for r in pixel_rows(np.repeat(np.repeat(clips, 2, axis=2), 2, axis=3), clips, clips)}
    assert rows["ssim_rgb_255"]["ceiling"] == pytest.approx(1.0)
    assert rows["ssim_grey_gaussian"]["value"] > 0.9 > rows["ssim_grey_gaussian"]["chance"]


def test_n_way_identification_reference_answers():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(72) * 0.3, size=200)
    assert n_way_top_k_acc(probs, probs, 50).mean() == 1.0
    shuffled = probs[rng.permutation(200)]
    for n_way in (2, 50):   # any of the true item's top 3 classes may win: 3 / (N + 2); with one, 1 / N
        assert n_way_top_k_acc(probs, shuffled, n_way, num_trials=200).mean() == pytest.approx(3 / (n_way + 2), abs=0.02)
        assert n_way_top_k_acc(probs, shuffled, n_way, num_trials=200, true_classes=1).mean() == pytest.approx(
            1 / n_way, abs=0.02)
    rows = {r["metric"]: r for r in identification_rows("frame_clip", probs, probs, None)}
    assert rows["frame_clip_2way_top1"]["value"] == 1.0 and rows["frame_clip_50way_top1"]["chance"] < 0.2
    with pytest.raises(ValueError, match="at least 52 classes"):
        n_way_top_k_acc(probs[:, :40], probs[:, :40], 50)


def test_clip_pcc_reference_answers():
    same = np.tile(np.random.default_rng(0).normal(size=(4, 1, 16)), (1, 6, 1))
    assert clip_pcc(same) == pytest.approx(np.ones(4))
    orthogonal = np.eye(6)[None].repeat(2, axis=0)
    assert clip_pcc(orthogonal) == pytest.approx(np.zeros(2))


def test_generated_metrics_of_the_true_clips_are_perfect():
    """The true clips scored as if generated: pixel metrics and identification at their maxima,
    motion read correctly, each far from chance; classifiers not configured are noted as skipped."""
    clips, directions = moving_clips(16)
    rng = np.random.default_rng(0)
    class_embeddings = {name: rng.normal(size=12) for name in object_class_names()}
    project = rng.normal(size=(32 * 32 * 3, 12))

    def embed_frames(items):
        return (items.reshape(*items.shape[:2], -1) / 255.0) @ project

    rows, notes = generated_video_metrics(
        {"generated": (clips, clips)}, clips, flow_targets(clips), directions, embed_frames,
        lambda names: np.stack([class_embeddings[n] for n in names]), 10.0,
        {"classes": None, "vit": None, "videomae": None, "num_trials": 50})
    by_metric = {r["metric"]: r for r in rows if r["method"] == "generated"}
    assert by_metric["ssim_grey_gaussian"]["value"] == pytest.approx(1.0)
    assert by_metric["frame_clip_2way_top1"]["value"] == 1.0 == by_metric["video_clip_50way_top1"]["ceiling"]
    assert by_metric["generated_direction_acc"]["value"] == 1.0 > by_metric["generated_direction_acc"]["chance"] + 0.5
    assert by_metric["generated_flow_epe"]["value"] == 0.0
    assert len(notes) == 2 and "evaluate.video.vit" in notes[0]


def test_transformers_classifiers_give_class_probabilities(tmp_path):
    from transformers import (ViTConfig, ViTForImageClassification, ViTImageProcessor, VideoMAEConfig,
                              VideoMAEForVideoClassification, VideoMAEImageProcessor)

    torch.manual_seed(0)
    ViTForImageClassification(ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1,
                                        num_attention_heads=2, intermediate_size=16, num_labels=60)
                              ).save_pretrained(tmp_path / "vit")
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path / "vit")
    VideoMAEForVideoClassification(VideoMAEConfig(image_size=32, patch_size=8, num_frames=6, tubelet_size=2,
                                                  hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                                  intermediate_size=16, num_labels=60, use_mean_pooling=True)
                                   ).save_pretrained(tmp_path / "videomae")
    VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
                           ).save_pretrained(tmp_path / "videomae")
    clips, _ = moving_clips(3)
    frames = hf_classifier(tmp_path / "vit", video=False, frames=6)(clips)
    videos = hf_classifier(tmp_path / "videomae", video=True, frames=6)(clips)
    assert frames.shape == (18, 60) and videos.shape == (3, 60)
    np.testing.assert_allclose(frames.sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(videos.sum(1), 1, rtol=1e-5)
    # configured, they score the clips beside the CLIP classifier: the true clips identify themselves
    rng = np.random.default_rng(0)
    project = rng.normal(size=(32 * 32 * 3, 12))
    rows, notes = generated_video_metrics(
        {"generated": (clips, None)}, clips, flow_targets(clips), None,
        lambda items: (items.reshape(*items.shape[:2], -1) / 255.0) @ project,
        lambda names: rng.normal(size=(len(names), 12)), 10.0,
        {"classes": None, "vit": str(tmp_path / "vit"), "videomae": str(tmp_path / "videomae"), "num_trials": 20})
    by_metric = {r["metric"]: r for r in rows}
    assert notes == [] and by_metric["frame_vit_2way_top1"]["value"] == 1.0 == by_metric["video_videomae_50way_top1"]["value"]


def test_flow_warp_moves_a_keyframe_the_decoded_way():
    """The keyframe moved along a known flow: the warped clip's own flow points the same way, and
    the keyframe itself is left in place."""
    clips, directions = moving_clips(8)
    flows = flow_targets(clips)
    warped = flow_animated_clips(clips, flows)
    assert warped.shape == clips.shape
    np.testing.assert_array_equal(warped[:, 3], clips[:, 3])
    assert (motion_direction(flow_targets(warped)) == directions).all()
    assert video.apply_motion(clips, flows, "generator") is clips
    np.testing.assert_array_equal(video.apply_motion(clips, flows, "flow_warp"), warped)
    with pytest.raises(ValueError, match="flow_warp or generator"):
        video.apply_motion(clips, flows, "wobble")


def test_start_clips_are_the_blurry_video_or_its_keyframe_moved():
    clips, directions = moving_clips(8)
    decoded = {"blurry": blurry_targets(clips), "flow": flow_targets(clips)}
    blurry = video.start_clips(decoded, "blurry")
    assert blurry.shape == (8, 6, 8, 8, 3) and blurry.dtype == np.uint8
    moved = video.start_clips(decoded, "keyframe_flow")
    assert moved.shape == (8, 6, 32, 32, 3)
    assert (motion_direction(flow_targets(moved)) == directions).mean() >= 0.75
    with pytest.raises(ValueError, match="blurry or keyframe_flow"):
        video.start_clips(decoded, "noise")
