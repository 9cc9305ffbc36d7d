"""fMRI preprocessing: the GLM recovers planted responses; bad inputs fail clearly and write nothing."""

import shutil

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from conftest import preprocess_tiny_subject
from neurorecon.io.inputs import InputDataError
from neurorecon.preprocess import fmri, glm
from neurorecon.responses import average_repeats
from neurorecon.synth.fmri import trial_regressors


def _cfg(tiny_config, **overrides):
    return {**tiny_config["preprocess"]["fmri"], **overrides}


@pytest.mark.parametrize("method", ["lsa", "lss"])
@pytest.mark.parametrize("noise_model", ["ols", "ar1"])
def test_single_trial_betas_recover_planted_amplitudes(method, noise_model):
    rng = np.random.default_rng(0)
    tr, n_trials, n_vox = 1.0, 30, 40
    events = pd.DataFrame({"onset": 6.0 + 8.0 * np.arange(n_trials), "duration": 2.0})
    frame_times = np.arange(int(events["onset"].max() + 30)) * tr
    amplitudes = rng.normal(1.0, 1.0, (n_trials, n_vox))
    signal = trial_regressors(events, frame_times) @ amplitudes
    timeseries = 1000 * (1 + (signal + 0.05 * rng.standard_normal(signal.shape)) / 100)
    trials, nuisance = fmri.trial_design(frame_times, events, None,
                                         {"hrf_model": "glover", "high_pass_hz": 0.01})
    betas = glm.single_trial_betas(fmri.percent_signal_change(timeseries), trials, nuisance, method, noise_model)
    assert betas.shape == (n_trials, n_vox)
    # LSA is unbiased; LSS trades a little bias (shrinkage by the "other trials" regressor) for variance
    min_corr, max_error = {"lsa": (0.98, 0.1), "lss": (0.9, 0.4)}[method]
    assert np.corrcoef(betas.ravel(), amplitudes.ravel())[0, 1] > min_corr
    assert np.median(np.abs(betas - amplitudes)) < max_error  # percent signal change


def test_unknown_single_trial_method_is_rejected():
    with pytest.raises(ValueError, match="'lsx'"):
        glm.single_trial_betas(np.zeros((5, 2)), np.zeros((5, 1)), np.ones((5, 1)), "lsx", "ols")


def test_zscore_within_groups_and_average_repeats():
    values = np.array([[1.0], [3.0], [10.0], [30.0]])
    z = fmri.zscore_rows_within(values, np.array([1, 1, 2, 2]))
    assert np.allclose(z.ravel(), [-1, 1, -1, 1])
    trials = pd.DataFrame({"stim_id": ["a", "t", "b", "t"], "run": [1, 1, 2, 2],
                           "split": ["train", "test", "train", "test"]})
    averaged, table = average_repeats(values, trials)
    assert table["stim_id"].tolist() == ["a", "b", "t"]
    assert averaged.ravel().tolist() == [1.0, 10.0, 16.5]
    assert table.loc[2, "runs"] == "1;2" and table.loc[2, "n_repeats"] == 2


def test_preprocessed_responses_track_ground_truth(tiny_world_root, tiny_config):
    responses, _, corr = preprocess_tiny_subject(tiny_world_root, _cfg(tiny_config))
    test_x, test_trials = responses.select("test")
    assert np.mean(corr) > 0.6
    assert len(test_x) == tiny_config["data"]["synthetic"]["n_test_stimuli"]
    assert set(test_trials["n_repeats"]) == {tiny_config["data"]["synthetic"]["test_repeats"]}
    assert set(responses.roi_names.values()) == {"other", "EVC", "HVC"}
    evc_only, _ = responses.select("train", ["EVC"])
    assert evc_only.shape[1] == (responses.roi == 1).sum()
    # the noise-ceiling SNR from the test repeats: tuned voxels carry signal, the rest next to none
    tuned = responses.roi > 0
    assert np.median(responses.ncsnr[tuned]) > 0.5 and np.median(responses.ncsnr[~tuned]) < 0.2
    assert responses.affine.shape == (4, 4)


# --- bad inputs: one test each; the error names the file and the problem, and nothing is written ---

@pytest.fixture
def broken_world(tmp_path, tiny_world_root):
    root = tmp_path / "world"
    shutil.copytree(tiny_world_root, root)
    return root


def _run_expecting_error(root, tiny_config, tmp_path):
    cfg = _cfg(tiny_config)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    previous = out / "responses.npz"
    previous.write_bytes(b"earlier result")
    stimuli = pd.read_csv(root / "stimuli" / "stimuli.tsv", sep="\t")
    with pytest.raises(InputDataError) as info:
        fmri.preprocess_to_files(fmri.find_subject_files(root, "01", "images", cfg), stimuli, cfg,
                                 previous, out / "trials.tsv")
    assert previous.read_bytes() == b"earlier result"
    assert not (out / "trials.tsv").exists()
    return info.value


def test_truncated_nifti_is_named(broken_world, tiny_config, tmp_path):
    bold = broken_world / "sub-01/func/sub-01_task-images_run-02_bold.nii.gz"
    data = bold.read_bytes()
    bold.write_bytes(data[: len(data) // 2])
    error = _run_expecting_error(broken_world, tiny_config, tmp_path)
    assert error.path == bold and "truncated" in str(error)


def test_events_without_onsets_are_named(broken_world, tiny_config, tmp_path):
    events = broken_world / "sub-01/func/sub-01_task-images_run-01_events.tsv"
    pd.read_csv(events, sep="\t").drop(columns="onset").to_csv(events, sep="\t", index=False)
    error = _run_expecting_error(broken_world, tiny_config, tmp_path)
    assert error.path == events and "onset" in str(error)


def test_mask_on_another_grid_is_named(broken_world, tiny_config, tmp_path):
    mask_path = broken_world / "derivatives/fmriprep/sub-01/anat/sub-01_desc-brain_mask.nii.gz"
    mask = nib.load(mask_path)
    shifted = nib.Nifti1Image(np.asarray(mask.dataobj)[:-1], mask.affine)
    nib.save(shifted, mask_path)
    error = _run_expecting_error(broken_world, tiny_config, tmp_path)
    assert error.path == mask_path and "does not match" in str(error)


def test_nan_in_bold_is_named(broken_world, tiny_config, tmp_path):
    bold_path = broken_world / "sub-01/func/sub-01_task-images_run-01_bold.nii.gz"
    bold = nib.load(bold_path)
    data = np.asarray(bold.dataobj).copy()
    inside = np.argwhere(data[..., 0] != 0)[0]
    data[tuple(inside)][5:8] = np.nan
    nib.save(nib.Nifti1Image(data, bold.affine, bold.header), bold_path)
    error = _run_expecting_error(broken_world, tiny_config, tmp_path)
    assert error.path == bold_path and "NaN" in str(error) and "volume 5" in str(error)


def test_confounds_with_wrong_length_are_named(broken_world, tiny_config, tmp_path):
    conf = broken_world / "derivatives/fmriprep/sub-01/func/sub-01_task-images_run-01_desc-confounds_timeseries.tsv"
    table = pd.read_csv(conf, sep="\t")
    table.iloc[:-3].to_csv(conf, sep="\t", index=False)
    error = _run_expecting_error(broken_world, tiny_config, tmp_path)
    assert error.path == conf and "volumes" in str(error)


def test_row_averager_handles_a_row_named_twice_in_one_block():
    from neurorecon.responses import RowAverager, row_plan

    trials = pd.DataFrame({"stim_id": ["t", "a", "t", "t"], "run": [1, 1, 1, 2], "split": ["test", "train", "test", "test"]})
    table, rows = row_plan(trials)
    assert table["stim_id"].tolist() == ["a", "t"] and rows.tolist() == [1, 0, 1, 1]
    averager = RowAverager(len(table), 1)
    values = np.array([[3.0], [5.0], [6.0], [9.0]])
    averager.add(values[:3], rows[:3])      # "t" twice in this block
    averager.add(values[3:], rows[3:])
    assert averager.result().ravel().tolist() == [5.0, 6.0]
    assert table.loc[1, "n_repeats"] == 3 and table.loc[1, "runs"] == "1;1;2"
