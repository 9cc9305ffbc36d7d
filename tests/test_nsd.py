"""NSD ingestion on a miniature dataset with NSD's exact layout (tests/nsd_fixture.py)."""

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurorecon.io import nsd
from neurorecon.io.inputs import InputDataError

from nsd_fixture import SESSIONS, build_mini_nsd
CFG = {"betas": "betas_fithrf_GLMdenoise_RR", "roi": "nsdgeneral", "space": "func1pt8mm", "zscore": "session",
       "average_test_repeats": True}


@pytest.fixture(scope="module")
def mini_nsd(tmp_path_factory):
    return build_mini_nsd(tmp_path_factory.mktemp("nsd"))


def test_trials_follow_masterordering_and_sharedix(mini_nsd):
    root, _, _, shared = mini_nsd
    design = nsd.read_expdesign(root)
    trials = nsd.trial_table(design, 1, SESSIONS)
    assert len(trials) == 1500
    assert trials.loc[0, "nsd_id"] == design["subjectim"][0, design["masterordering"][0]]
    assert set(trials.loc[trials["split"] == "test", "nsd_id"]) <= set(shared.tolist())
    assert trials["stim_id"].iloc[0] == f"nsd{trials['nsd_id'].iloc[0] + 1:05d}"


def test_ingested_betas_match_planted_responses(mini_nsd):
    root, image_response, mask, shared = mini_nsd
    responses, trials = nsd.load_nsd_subject(root, 1, SESSIONS, CFG)
    assert responses.values.shape[1] == mask.sum()
    test_x, test_trials = responses.select("test")
    assert len(test_x) == len(set(trials.loc[trials["split"] == "test", "stim_id"]))
    truth = image_response[[int(s[3:]) - 1 for s in test_trials["stim_id"]]][:, mask]
    assert np.corrcoef(test_x.ravel(), truth.ravel())[0, 1] > 0.9
    raw, _ = nsd.load_nsd_subject(root, 1, SESSIONS, {**CFG, "zscore": "none", "average_test_repeats": False})
    first = trials.iloc[0]
    expected = image_response[first["nsd_id"]][mask]
    assert np.abs(raw.values[0] - expected).max() < 0.5 * 5                  # int16 / 300 = percent signal change


def test_stimuli_export_writes_the_images_seen(mini_nsd, tmp_path):
    root, _, _, _ = mini_nsd
    _, trials = nsd.load_nsd_subject(root, 1, [1], CFG)
    table = nsd.export_stimuli(root, trials, tmp_path / "stimuli", size=16)
    written = pd.read_csv(tmp_path / "stimuli" / "stimuli.tsv", sep="\t")
    assert list(written.columns) == ["stim_id", "stim_file", "split", "nsd_id"]
    assert len(written) == trials["stim_id"].nunique() == len(table)
    first = written.iloc[0]
    with h5py.File(root / nsd.STIMULI_HDF5) as handle:
        assert handle["imgBrick"][first["nsd_id"]].shape == (32, 32, 3)
    assert (tmp_path / first["stim_file"]).is_file()


def test_captions_come_from_coco_by_the_stimulus_info(mini_nsd, tmp_path):
    root, _, _, _ = mini_nsd
    _, trials = nsd.load_nsd_subject(root, 1, [1], CFG)
    captions = nsd.read_captions(root, root / "annotations", sorted(set(trials["nsd_id"])))
    nsd.export_stimuli(root, trials, tmp_path / "stimuli", size=16, captions=captions)
    written = pd.read_csv(tmp_path / "stimuli" / "stimuli.tsv", sep="\t")
    assert list(written.columns) == ["stim_id", "stim_file", "split", "nsd_id", "caption"]
    # the first caption by annotation id, whitespace normalised
    assert (written["caption"] == [f"a photo of scene {i}" for i in written["nsd_id"]]).all()
    with pytest.raises(InputDataError, match=r"no row for nsdId \[999\]"):
        nsd.read_captions(root, root / "annotations", [999])
    with pytest.raises(InputDataError, match=r"captions_train2017.json: cannot read COCO's captions"):
        nsd.read_captions(root, tmp_path, sorted(set(trials["nsd_id"])))


def test_a_session_with_the_wrong_trial_count_is_named(mini_nsd, tmp_path):
    import shutil

    root = tmp_path / "nsd"
    shutil.copytree(mini_nsd[0], root)
    path = nsd.betas_path(root, 1, 2)
    image = nib.load(path)
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj)[..., :700], image.affine), path)
    with pytest.raises(InputDataError, match="700 trials; expected 750") as info:
        nsd.load_nsd_subject(root, 1, SESSIONS, CFG)
    assert info.value.path == path


def test_streamed_ingestion_equals_reading_every_session_at_once(mini_nsd):
    """Sessions are summed into the output rows one at a time; the result is what z-scoring all
    sessions' betas in float64 and averaging the test repeats afterwards gives."""
    from neurorecon.preprocess.fmri import zscore_rows_within
    from neurorecon.responses import average_repeats

    root, _, mask, _ = mini_nsd
    responses, trials = nsd.load_nsd_subject(root, 1, SESSIONS, CFG)
    stacked = np.concatenate([np.asarray(nib.load(nsd.betas_path(root, 1, s)).dataobj)[mask].T / nsd.BETA_SCALE
                              for s in SESSIONS])
    expected, table = average_repeats(zscore_rows_within(stacked, trials["run"].to_numpy()), trials)
    assert responses.values.dtype == np.float32
    pd.testing.assert_frame_equal(responses.trials, table)
    np.testing.assert_allclose(responses.values, expected, rtol=0, atol=1e-5)


def test_scaled_int16_betas_are_read_with_their_header_scaling(mini_nsd, tmp_path):
    import shutil

    root = tmp_path / "nsd"
    shutil.copytree(mini_nsd[0], root)
    unscaled, _ = nsd.load_nsd_subject(root, 1, [1], {**CFG, "zscore": "none"})
    path = nsd.betas_path(root, 1, 1)
    image = nib.load(path)
    stored = np.asarray(image.dataobj).astype(np.int32)
    halved = nib.Nifti1Image((stored // 2).astype(np.int16), image.affine)
    halved.header.set_slope_inter(2.0, float(0))
    nib.save(halved, path)
    scaled, _ = nsd.load_nsd_subject(root, 1, [1], {**CFG, "zscore": "none"})
    assert np.abs(scaled.values - unscaled.values).max() <= 1 / nsd.BETA_SCALE + 1e-6  # odd values lose 1 to //2


def test_full_size_layout_writer_streams_valid_nifti_and_reads_back(tmp_path):
    from neurorecon.synth import nsd as nsd_synth

    grid = (6, 7, 5)
    root = nsd_synth.write_nsd_layout(tmp_path, n_sessions=2, roi_voxels=40, grid=grid)
    roi = np.asarray(nib.load(nsd.roi_path(root, 1)).dataobj)
    assert (roi > 0).sum() == 40 and set(np.unique(roi)) == {-1, 1}
    stored = np.asarray(nib.load(nsd.betas_path(root, 1, 2)).dataobj)
    rng = np.random.default_rng(0)
    expected = np.stack([rng.normal(0, 300, grid).astype(np.int16) for _ in range(nsd.TRIALS_PER_SESSION)], axis=-1)
    assert stored.dtype == np.int16 and np.array_equal(stored, expected)  # x fastest, trials slowest
    responses, trials = nsd.load_nsd_subject(root, 1, [1, 2], CFG)
    assert len(trials) == 1500 and responses.values.shape == (responses.trials.shape[0], 40)
    assert trials["split"].eq("test").any() and trials["split"].eq("train").any()


def test_a_truncated_session_file_is_named(mini_nsd, tmp_path):
    import shutil

    root = tmp_path / "nsd"
    shutil.copytree(mini_nsd[0], root)
    path = nsd.betas_path(root, 1, 2)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputDataError, match="truncated") as info:
        nsd.load_nsd_subject(root, 1, SESSIONS, CFG)
    assert info.value.path == path


def test_streamed_ncsnr_equals_ncsnr_of_every_session_at_once(mini_nsd):
    """The noise-ceiling SNR gathered while sessions stream past is NSD's ncsnr of all the z-scored
    single-trial betas with the test images' repeats as the noise; the planted voxels carry signal,
    and the grid's affine is kept."""
    from neurorecon.evaluate.ceiling import ncsnr
    from neurorecon.preprocess.fmri import labels_for_test_repeats, zscore_rows_within

    root, _, mask, _ = mini_nsd
    responses, trials = nsd.load_nsd_subject(root, 1, SESSIONS, CFG)
    stacked = np.concatenate([np.asarray(nib.load(nsd.betas_path(root, 1, s)).dataobj)[mask].T / nsd.BETA_SCALE
                              for s in SESSIONS])
    expected = ncsnr(zscore_rows_within(stacked, trials["run"].to_numpy()), labels_for_test_repeats(trials))
    np.testing.assert_allclose(responses.ncsnr, expected, rtol=1e-4, atol=1e-5)
    assert np.median(responses.ncsnr) > 0.3 and responses.affine.shape == (4, 4)
    single, _ = nsd.load_nsd_subject(root, 1, SESSIONS, {**CFG, "average_test_repeats": False})
    assert single.ncsnr is None     # no averaged rows: nothing to take the repeats from
