"""Ridge decoding and the embedding metrics against known answers."""

import numpy as np
import pytest

from neurorecon.decode.ridge import RidgeDecoder, fit_ridge
from neurorecon.evaluate import retrieval
from neurorecon.evaluate.ceiling import calibrate_to_measured


def test_ridge_recovers_a_planted_linear_map(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 30))
    weights = rng.standard_normal((30, 5))
    y = x @ weights + 2.0 + 0.01 * rng.standard_normal((400, 5))
    decoder = fit_ridge(x, y, alphas=[1e-3, 1e-1, 10, 1e4], cv=None)
    assert decoder.alpha <= 10
    x_new = rng.standard_normal((50, 30))
    assert np.allclose(decoder.predict(x_new), x_new @ weights + 2.0, atol=0.05)
    decoder.save(tmp_path, {"rois": None})
    loaded = RidgeDecoder.load(tmp_path)
    assert loaded.alpha == decoder.alpha
    assert np.allclose(loaded.predict(x_new), decoder.predict(x_new), atol=1e-4)  # float32 on disk


def test_ridge_picks_a_strong_penalty_for_pure_noise():
    rng = np.random.default_rng(1)
    decoder = fit_ridge(rng.standard_normal((100, 50)), rng.standard_normal((100, 3)), alphas=[0.01, 1e5], cv=5)
    assert decoder.alpha == 1e5


def test_ridge_rejects_mismatched_rows_and_voxels():
    with pytest.raises(ValueError, match="3 response rows but 2 target rows"):
        fit_ridge(np.zeros((3, 2)), np.zeros((2, 1)), [1.0], None)
    decoder = fit_ridge(np.random.default_rng(0).standard_normal((10, 2)), np.zeros((10, 1)), [1.0], None)
    with pytest.raises(ValueError, match="expects 2 voxels, got 3"):
        decoder.predict(np.zeros((1, 3)))


def test_metrics_are_perfect_for_identical_sets_and_at_chance_for_random_ones():
    rng = np.random.default_rng(0)
    true = rng.standard_normal((100, 16))
    assert retrieval.image_retrieval_top1(true, true) == 1.0
    assert retrieval.brain_retrieval_top1(true, true) == 1.0
    assert retrieval.two_way_identification(true, true) == 1.0
    scores = [retrieval.two_way_identification(rng.standard_normal((100, 16)), true) for _ in range(20)]
    assert abs(np.mean(scores) - 0.5) < 0.02
    shuffled = true[rng.permutation(100)]
    assert retrieval.image_retrieval_top1(shuffled, true) < 0.05


def test_two_way_identification_on_a_hand_computed_case():
    true = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    predicted = np.array([[1.0, 0.1, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    # Pearson r over the 3 dims: item 0 and item 2 beat both others. Item 1 is predicted as item 2's
    # embedding, so it correlates -0.5 with its own and with item 0's: a tie, which is not a win.
    assert retrieval.two_way_identification(predicted, true) == pytest.approx((1 + 0 + 1) / 3)
    assert retrieval.image_retrieval_top1(predicted, true) == pytest.approx(2 / 3)
    # brain retrieval: image 1's nearest prediction is item 0's (cosine 0.0995 vs 0); image 2 is equally
    # near predictions 1 and 2 and argmax takes the first, so only image 0 is retrieved
    assert retrieval.brain_retrieval_top1(predicted, true) == pytest.approx(1 / 3)


def test_embedding_metrics_report_chance_and_ceiling():
    rng = np.random.default_rng(0)
    true = rng.standard_normal((20, 8))
    rows = {r["metric"]: r for r in retrieval.embedding_metrics(true + rng.standard_normal((20, 8)), true, true)}
    assert rows["image_retrieval_top1"]["chance"] == 1 / 20
    assert rows["clip_2way"]["chance"] == 0.5
    assert rows["clip_2way"]["ceiling"] == 1.0
    assert rows["brain_retrieval_top1"]["n"] == 20


def test_calibration_recovers_an_affine_map_per_voxel():
    rng = np.random.default_rng(0)
    true_train = rng.standard_normal((500, 3))
    slope, offset = np.array([2.0, -1.0, 0.0]), np.array([0.5, 0.0, 3.0])
    measured = slope * true_train + offset + 0.1 * rng.standard_normal((500, 3))
    true_test = rng.standard_normal((10, 3))
    expected = slope * true_test + offset
    assert np.allclose(calibrate_to_measured(true_train, measured, true_test), expected, atol=0.05)
    flat = np.zeros((500, 1))  # a voxel without signal maps to its measured mean
    assert np.allclose(calibrate_to_measured(flat, measured[:, :1], np.ones((2, 1))), measured[:, 0].mean())
