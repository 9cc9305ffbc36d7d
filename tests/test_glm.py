"""The batched single-trial GLM gives nilearn's run_glm estimates, design by design."""

import numpy as np
import pandas as pd
import pytest

from neurorecon.preprocess import fmri, glm
from neurorecon.synth.fmri import trial_regressors


def _run(n_trials=24, n_voxels=150, seed=0, onsets=None):
    """A run with AR(1) noise, drift-free motion confounds and planted trial amplitudes (scaled to %)."""
    rng = np.random.default_rng(seed)
    tr = 1.6
    onset = 8.0 + 4.0 * np.arange(n_trials) if onsets is None else np.asarray(onsets, float)
    events = pd.DataFrame({"onset": onset, "duration": 3.0})
    frame_times = np.arange(int((8.0 + 4.0 * n_trials + 16) / tr)) * tr
    signal = trial_regressors(events, frame_times) @ rng.normal(1, 1, (len(events), n_voxels))
    noise = np.zeros_like(signal)
    innovations = rng.standard_normal(signal.shape) * rng.uniform(1, 4, n_voxels)
    coefs = rng.uniform(-0.3, 0.8, n_voxels)  # spread the AR codes over many bins, negative ones too
    for t in range(len(noise)):
        noise[t] = (coefs * noise[t - 1] if t else 0) + innovations[t]
    confounds = pd.DataFrame(rng.standard_normal((len(frame_times), 3)).cumsum(axis=0), columns=["a", "b", "c"])
    trials, nuisance = fmri.trial_design(frame_times, events, confounds, {"hrf_model": "glover", "high_pass_hz": 0.01})
    return fmri.percent_signal_change(1000 * (1 + (signal + noise) / 100)), trials, nuisance


@pytest.mark.parametrize("method", glm.METHODS)
@pytest.mark.parametrize("noise_model", glm.NOISE_MODELS)
def test_batched_betas_equal_nilearn_per_design(method, noise_model):
    timeseries, trials, nuisance = _run()
    batched = glm.single_trial_betas(timeseries, trials, nuisance, method, noise_model)
    reference = glm.nilearn_single_trial_betas(timeseries, trials, nuisance, method, noise_model)
    assert batched.shape == reference.shape == (trials.shape[1], timeseries.shape[1])
    assert np.abs(batched - reference).max() <= 1e-6 * np.abs(reference).max()


def test_lss_uses_the_closed_form_and_many_ar_bins():
    timeseries, trials, nuisance = _run()
    designs, _ = glm.trial_designs(trials, nuisance, "lss")
    codes = glm._ar1_codes(timeseries, designs, glm._pinv(designs), glm.AR_BINS)
    assert len(np.unique(codes)) > 20 and codes.min() < 0  # the test above covers many whitening bins
    assert glm._lss_betas(timeseries, trials, nuisance, "ar1", glm.AR_BINS) is not None


@pytest.mark.parametrize("method", glm.METHODS)
def test_rank_deficient_designs_match_nilearn_pseudo_inverse(method):
    # two trials at the same onset (identical regressors) and one after the last scan (all zeros):
    # LSS cannot use its closed form and falls back to the pseudo-inverse, as nilearn does
    onsets = [8.0, 8.0, *(12.0 + 4.0 * np.arange(20)), 1000.0]
    timeseries, trials, nuisance = _run(n_trials=23, onsets=onsets)
    assert glm._lss_betas(timeseries, trials, nuisance, "ar1", glm.AR_BINS) is None
    batched = glm.single_trial_betas(timeseries, trials, nuisance, method, "ar1")
    reference = glm.nilearn_single_trial_betas(timeseries, trials, nuisance, method, "ar1")
    assert np.abs(batched - reference).max() <= 1e-6 * np.abs(reference).max()


def test_unknown_noise_model_is_rejected():
    timeseries, trials, nuisance = _run(n_trials=4, n_voxels=3)
    with pytest.raises(ValueError, match="'ar2'"):
        glm.single_trial_betas(timeseries, trials, nuisance, "lss", "ar2")


def test_benchmark_rows_compare_both_on_a_subject(tiny_world_root, tiny_config):
    cfg = tiny_config["preprocess"]["fmri"]
    stimuli = pd.read_csv(tiny_world_root / "stimuli" / "stimuli.tsv", sep="\t")
    files = fmri.find_subject_files(tiny_world_root, "01", "images", cfg)
    table = fmri.benchmark_glm(files, stimuli, cfg, n_runs=1)
    assert len(table) == 4 and set(table["method"]) == set(glm.METHODS)
    assert (table["max_rel_diff"] < 1e-6).all()
    assert (table["voxels"] > 100).all() and (table["seconds_batched"] > 0).all()
