"""Miyawaki et al. 2008 ingestion: a fixture with the subset's .mat layout, and the real file."""

import numpy as np
import pytest
import scipy.io

from conftest import SHARED_DATA
from neurorecon.evaluate.images import matched_and_chance, pixcorr_matrix, ssim_matrix
from neurorecon.io.inputs import InputDataError
from neurorecon.io.miyawaki import export_stimuli, load_miyawaki, miyawaki_responses, repeated_test_patterns
from neurorecon.reconstruct.lowlevel import LowLevelSpace
from neurorecon.reconstruct.subject import lowlevel_subject
from neurorecon.stimuli.images import load_stimulus_images

REAL = SHARED_DATA / "fmri" / "miyawaki2008-subset" / "miyawaki_conditions_2to5_combined_sharp.mat"


def write_mat(path, n_train=20, n_test=4, voxels=30, side=6, **override):
    rng = np.random.default_rng(0)
    arrays = {"fmriTrn": rng.normal(size=(n_train, voxels)), "fmriTest": rng.normal(size=(n_test, voxels)),
              "stimTrn": (rng.random((n_train, side * side)) > 0.5).astype(float),
              "stimTest": (rng.random((n_test, side * side)) > 0.5).astype(float)}
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    scipy.io.savemat(path, arrays)
    return path, arrays


def test_layout_is_read_into_stimuli_and_the_responses_contract(tmp_path):
    path, arrays = write_mat(tmp_path / "m.mat")
    data = load_miyawaki(path, 6)
    np.testing.assert_array_equal(data.test_patterns[1], arrays["stimTest"][1].reshape(6, 6))  # row-major
    tsv = export_stimuli(data, tmp_path / "dataset")
    from neurorecon.stimuli.images import read_stimulus_table

    table = read_stimulus_table(tsv)
    assert list(table["split"]).count("test") == 4 and len(table) == 24
    image = load_stimulus_images(tsv, ["test001"])[0]
    np.testing.assert_array_equal(image[..., 0] == 255, arrays["stimTest"][1].reshape(6, 6) == 1)
    responses = miyawaki_responses(data)
    x, trials = responses.select("test", ["visual"])
    np.testing.assert_allclose(x, arrays["fmriTest"], rtol=1e-6)
    assert list(trials["stim_id"]) == ["test000", "test001", "test002", "test003"]
    assert repeated_test_patterns(data) == 0
    data.train_patterns[5] = data.test_patterns[2]
    assert repeated_test_patterns(data) == 1


@pytest.mark.parametrize("override, message", [
    ({"stimTest": None}, r"missing field\(s\) \['stimTest'\]"),
    ({"stimTest": np.zeros((4, 35))}, "stimTest rows hold 35 pixels; data.miyawaki.image_size 6 expects 36"),
    ({"fmriTest": np.zeros((3, 30))}, "fmriTest has 3 rows but stimTest has 4"),
    ({"fmriTest": np.full((4, 30), np.nan)}, "field 'fmriTest' holds NaN"),
    ({"fmriTest": np.zeros((4, 31))}, "fmriTrn has 30 voxels, fmriTest 31"),
])
def test_bad_files_name_the_file_and_field(tmp_path, override, message):
    path, _ = write_mat(tmp_path / "bad.mat", **override)
    with pytest.raises(InputDataError, match=message) as error:
        load_miyawaki(path, 6)
    assert "bad.mat" in str(error.value)


def grey_patterns(n, side=6, seed=1):
    """Asymmetric grey images (a ramp plus noise): transposing one changes it."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, side)[None, :, None] * np.ones((1, 1, side))
    return np.clip(0.7 * ramp + 0.3 * rng.random((n, side, side)), 0, 1)


@pytest.mark.parametrize("stored, scale", [("unit", 1.0), ("uint8", 255.0)])
def test_grey_levels_are_detected_scaled_and_exported(tmp_path, stored, scale):
    train, test = grey_patterns(20), grey_patterns(4, seed=2)
    if stored == "uint8":
        train, test = np.round(train * 255) / 255, np.round(test * 255) / 255
    path, _ = write_mat(tmp_path / "grey.mat", stimTrn=(train * scale).reshape(20, -1),
                        stimTest=(test * scale).reshape(4, -1))
    data = load_miyawaki(path, 6)
    np.testing.assert_allclose(data.test_patterns, test, atol=1e-12)
    image = load_stimulus_images(export_stimuli(data, tmp_path / "dataset"), ["test000"])[0]
    assert len(np.unique(image[..., 0])) > 10                               # grey levels kept, not binarised
    np.testing.assert_allclose(image[..., 0] / 255, test[0], atol=1 / 255)


def test_column_major_file_passes_shape_checks_and_needs_the_setting(tmp_path):
    """Flattened column-major (MATLAB's order), a pattern read row-major is its transpose: every shape
    check passes, so the order is a setting and the default (the subset's row-major) reads it wrong."""
    train, test = grey_patterns(20), grey_patterns(4, seed=2)
    column_major = {"stimTrn": np.stack([p.ravel(order="F") for p in train]),
                    "stimTest": np.stack([p.ravel(order="F") for p in test])}
    path, _ = write_mat(tmp_path / "columns.mat", **column_major)
    as_rows = load_miyawaki(path, 6)
    np.testing.assert_allclose(as_rows.test_patterns, test.transpose(0, 2, 1))
    assert not np.allclose(as_rows.test_patterns, test)
    np.testing.assert_allclose(load_miyawaki(path, 6, pixel_order="column-major").test_patterns, test)


def test_field_names_are_settings(tmp_path):
    path, arrays = write_mat(tmp_path / "named.mat")
    renamed = {"trainX": arrays["fmriTrn"], "testX": arrays["fmriTest"], "trainY": arrays["stimTrn"],
               "testY": arrays["stimTest"]}
    scipy.io.savemat(path, renamed)
    fields = {"train_responses": "trainX", "test_responses": "testX", "train_stimuli": "trainY", "test_stimuli": "testY"}
    data = load_miyawaki(path, 6, fields=fields)
    np.testing.assert_array_equal(data.test_patterns[0], arrays["stimTest"][0].reshape(6, 6))
    with pytest.raises(InputDataError, match=r"missing field\(s\) \['fmriTrn'.*data.miyawaki.fields names them"):
        load_miyawaki(path, 6)


@pytest.mark.parametrize("values, value_range, message", [
    (np.linspace(-1, 1, 36), "auto", r"'stimTest' values span \[-1, 1\], which is none of"),
    (np.linspace(0, 300, 36).round(), "auto", r"values span \[0, 300\]"),
    (np.linspace(0, 7.5, 36), "auto", "which is none of"),               # not integers, above 1
    (np.linspace(0, 1, 36), "binary", r"but data.miyawaki.value_range says binary 0/1"),
    (np.linspace(0, 255, 36).round(), "unit", "says grey levels from 0 to 1"),
])
def test_value_ranges_that_cannot_be_told_are_refused(tmp_path, values, value_range, message):
    path, _ = write_mat(tmp_path / "range.mat", stimTest=np.tile(values, (4, 1)))
    with pytest.raises(InputDataError, match=message):
        load_miyawaki(path, 6, value_range=value_range)


def test_not_a_mat_file(tmp_path):
    path = tmp_path / "text.mat"
    path.write_text("not matlab")
    with pytest.raises(InputDataError, match="text.mat.*cannot read"):
        load_miyawaki(path, 6)


@pytest.mark.realdata
@pytest.mark.skipif(not REAL.exists(), reason="shared Miyawaki data not present")
def test_real_patterns_are_reconstructed_above_chance(tmp_path):
    data = load_miyawaki(REAL, 28)
    assert repeated_test_patterns(data) == 12   # the subset's re-split repeats every test pattern
    tsv = export_stimuli(data, tmp_path / "dataset")
    cfg = {"rois": None, "alphas": [1, 10, 100, 1000, 10000, 100000], "cv": None}
    result = lowlevel_subject(miyawaki_responses(data), tsv, cfg, LowLevelSpace("pixels", 28), None)
    from neurorecon.stimuli.images import load_stimulus_images

    truth = load_stimulus_images(tsv, result["stim_ids"])
    pixcorr, pixcorr_chance = matched_and_chance(pixcorr_matrix(result["images"], truth))
    ssim, ssim_chance = matched_and_chance(ssim_matrix(result["images"], truth))
    assert len(result["stim_ids"]) == 12
    assert pixcorr > pixcorr_chance + 0.1
    assert ssim > ssim_chance
