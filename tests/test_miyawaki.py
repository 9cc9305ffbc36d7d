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
    from neurorecon.stimuli.images import load_stimulus_images, read_stimulus_table

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
