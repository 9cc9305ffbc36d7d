"""Image metrics against reference implementations and hand-computed answers."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from skimage.color import rgb2gray
from skimage.metrics import structural_similarity

from neurorecon.evaluate import images as metrics


@pytest.fixture
def scenes():
    """Eight 32 px RGB images that differ in layout and colour."""
    from neurorecon.synth.scenes import draw_scene, sample_scenes

    return np.stack([draw_scene(s, 32) for s in sample_scenes(8, np.random.default_rng(3))])


def test_pixcorr_matches_numpy_corrcoef(scenes):
    rng = np.random.default_rng(0)
    noisy = np.clip(scenes + rng.normal(0, 40, scenes.shape), 0, 255).astype(np.uint8)
    matrix = metrics.pixcorr_matrix(noisy, scenes)
    for i in range(3):
        for j in range(3):
            expected = np.corrcoef(noisy[i].ravel().astype(float), scenes[j].ravel().astype(float))[0, 1]
            assert matrix[i, j] == pytest.approx(expected, abs=1e-9)
    assert np.allclose(np.diag(metrics.pixcorr_matrix(scenes, scenes)), 1.0)
    assert metrics.pixcorr_matrix(255 - scenes[:1], scenes[:1])[0, 0] == pytest.approx(-1.0)


def test_ssim_equals_scikit_image_on_grayscale(scenes):
    a, b = scenes[0], scenes[1]
    expected = structural_similarity(rgb2gray(b), rgb2gray(a), gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=1.0)
    matrix = metrics.ssim_matrix(scenes[:2], scenes[:2])
    assert matrix[0, 1] == pytest.approx(expected)
    assert matrix[0, 0] == pytest.approx(1.0)


def test_two_way_hand_computed():
    # reconstruction 0 beats both others, 1 beats one of two, 2 beats none
    similarity = np.array([[0.9, 0.1, 0.2],
                           [0.5, 0.4, 0.3],
                           [0.8, 0.9, 0.1]])
    assert metrics.two_way_from_matrix(similarity) == pytest.approx((1.0 + 0.5 + 0.0) / 3)


def test_two_way_is_one_for_identical_sets_and_half_for_unrelated():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(200, 64))
    assert metrics.feature_metric("2way", features, features) == (1.0, 0.5)
    unrelated = rng.normal(size=(200, 64))
    value, chance = metrics.feature_metric("2way", unrelated, features)
    assert value == pytest.approx(0.5, abs=0.03) and chance == 0.5
    shuffled = features[rng.permutation(200)]
    assert metrics.feature_metric("2way", shuffled, features)[0] == pytest.approx(0.5, abs=0.03)


def test_distance_metric_and_its_chance():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(50, 32))
    value, chance = metrics.feature_metric("dist", features, features)
    assert value == pytest.approx(0.0, abs=1e-9)
    assert chance == pytest.approx(1.0, abs=0.05)  # unrelated random vectors: r about 0


def test_image_metrics_rows_known_answers(scenes):
    rows = {r["metric"]: r for r in metrics.image_metrics(scenes, scenes, 32, {}, ceiling_recon=scenes)}
    assert rows["pixcorr"]["value"] == pytest.approx(1.0) and rows["ssim"]["value"] == pytest.approx(1.0)
    assert rows["pixcorr"]["ceiling"] == pytest.approx(1.0)
    off = ~np.eye(len(scenes), dtype=bool)
    assert rows["pixcorr"]["chance"] == pytest.approx(metrics.pixcorr_matrix(scenes, scenes)[off].mean())
    assert all(r["n"] == len(scenes) for r in rows.values())
    shuffled = scenes[np.roll(np.arange(len(scenes)), 1)]
    worse = {r["metric"]: r for r in metrics.image_metrics(shuffled, scenes, 32, {})}
    assert worse["pixcorr"]["value"] < 0.9 and worse["pixcorr"]["ceiling"] is None


def test_backbone_from_local_safetensors_scores_identical_sets_perfectly(tmp_path, scenes):
    import torchvision

    torch.manual_seed(0)
    weights = tmp_path / "alexnet.safetensors"
    save_file({k: v.contiguous() for k, v in torchvision.models.alexnet(weights=None).state_dict().items()}, str(weights))
    fns, notes = metrics.available_feature_fns({"alexnet": str(weights), "inception": None,
                                                "efficientnet": str(tmp_path / "absent.pth")})
    assert set(fns) == {"alexnet"}
    assert any("inception_2way skipped: no weights configured" in n for n in notes)
    assert any("effnet_dist skipped" in n and "absent.pth" in n for n in notes)
    rows = {r["metric"]: r for r in metrics.image_metrics(scenes, scenes, 32, fns)}
    assert rows["alexnet2_2way"]["value"] == 1.0 and rows["alexnet5_2way"]["value"] == 1.0
    assert rows["alexnet2_2way"]["chance"] == 0.5


def test_backbone_with_wrong_weights_is_a_clear_error(tmp_path):
    import torchvision

    weights = tmp_path / "resnet.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    with pytest.raises(ValueError, match="resnet.pth: not alexnet weights"):
        metrics.load_backbone("alexnet", weights)


def test_auto_weights_look_in_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert metrics.resolve_weights("auto", metrics.BACKBONES["alexnet"]) == expected
    assert metrics.resolve_weights("auto", metrics.BACKBONES["swav"]) is None
    assert metrics.resolve_weights(None, metrics.BACKBONES["alexnet"]) is None


def test_attribute_accuracy_nearest_reference():
    reference = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    reference_labels = np.array(["circle", "star", "star"])
    recon = np.array([[0.9, 0.1], [0.1, 0.9], [0.8, 0.0]])
    truth = np.array(["circle", "star", "star"])
    accuracy, chance = metrics.attribute_accuracy(recon, truth, reference, reference_labels)
    assert accuracy == pytest.approx(2 / 3)
    assert chance == pytest.approx(1 / 3 * 1 / 3 + 2 / 3 * 2 / 3)
    rows = metrics.attribute_metrics(recon, reference[[0, 1, 2]], {"shape": truth}, reference, {"shape": reference_labels})
    assert rows[0]["metric"] == "shape_acc" and rows[0]["ceiling"] == pytest.approx(1.0)
