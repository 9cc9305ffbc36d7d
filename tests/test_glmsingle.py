"""GLMsingle-style estimation: each step against a known answer, then the whole on simulated
sessions whose HRFs, shared noise and true betas are known."""

import numpy as np
import pandas as pd
import pytest
from nilearn.glm.first_level import make_first_level_design_matrix
from scipy.signal import lfilter

from conftest import preprocess_tiny_subject
from neurorecon.evaluate.ceiling import ncsnr, noise_ceiling_percent
from neurorecon.preprocess.glmsingle import (
    GlmsingleRun, GlmsingleSettings, crossval_badness, glmsingle_betas, repeat_pairs, select_pc_count, tail_threshold,
)
from neurorecon.preprocess.hrf import KERNEL_DT, double_gamma_hrf, hrf_regressors

TR = 1.6


def test_regressors_match_nilearns_glover_design():
    frame_times = np.arange(170) * TR
    onsets = 8 + np.arange(30) * 4.0 + np.random.default_rng(0).uniform(-0.25, 0.25, 30)
    durations = np.full(30, 3.0)
    events = pd.DataFrame({"onset": onsets, "duration": durations, "trial_type": [f"t{i:02d}" for i in range(30)]})
    nilearn = make_first_level_design_matrix(frame_times, events, hrf_model="glover", drift_model=None)
    ours = hrf_regressors(onsets, durations, frame_times, double_gamma_hrf(6.0))
    assert np.abs(ours - nilearn[events["trial_type"]].to_numpy()).max() < 0.015 * ours.max()


def test_library_hrfs_have_unit_area_and_peak_later_with_delay():
    peaks = []
    for delay in (4.0, 6.0, 8.0):
        kernel = double_gamma_hrf(delay)
        assert kernel.sum() * KERNEL_DT == pytest.approx(1.0)
        peaks.append(np.argmax(kernel) * KERNEL_DT)
    assert peaks[1] == pytest.approx(5.0, abs=0.05)             # glover's peak
    assert np.diff(peaks) == pytest.approx([1.95, 1.95], abs=0.1)  # each 2 s of delay moves the peak ~2 s


def test_tail_threshold_separates_two_populations():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1, 900), rng.normal(10, 1, 100)])
    assert 2 < tail_threshold(values) < 8


def test_pc_count_rule():
    trend = np.array([0.0, 5.0, 9.0, 9.5, 9.6])
    assert select_pc_count(trend, 1.05) == 3   # 9.5 x 1.05 reaches the best, 9 x 1.05 does not
    assert select_pc_count(trend, 1.0) == 4
    assert select_pc_count(trend, -2) == 2
    assert select_pc_count(np.array([0.0, -1.0, -2.0]), 1.05) == 0


def test_repeat_pairs_compare_only_across_runs():
    held_out, training = repeat_pairs(np.array(["a", "b", "a", "c", "a"]), np.array([1, 1, 2, 2, 2]))
    assert sorted(zip(held_out, training)) == [(0, 2), (0, 4), (2, 0), (4, 0)]


def test_badness_ranks_the_candidate_closer_to_the_held_out_repeats():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(20, 5))
    conditions, runs = np.tile(np.arange(20), 2), np.repeat([1, 2], 20)
    reference = np.concatenate([truth, truth]) + 0.5 * rng.normal(size=(40, 5))
    better = np.concatenate([truth, truth]) + 0.1 * rng.normal(size=(40, 5))
    worse = np.concatenate([truth, truth]) + 2.0 * rng.normal(size=(40, 5))
    badness = crossval_badness([reference, better, worse], reference, repeat_pairs(conditions, runs))
    assert badness.shape == (5, 3)
    assert (badness[:, 1] < badness[:, 0]).all() and (badness[:, 2] > badness[:, 0]).all()


def test_ncsnr_recovers_the_simulated_signal_to_noise_ratio():
    rng = np.random.default_rng(2)
    signal = rng.normal(size=(400, 1)) * np.array([1.0, 2.0])   # SNR 1 and 2 in two voxels
    betas = np.concatenate([signal + rng.normal(size=signal.shape) for _ in range(3)])
    stim_ids = np.tile(np.arange(400), 3)
    snr = ncsnr(betas, stim_ids)
    assert snr == pytest.approx([1.0, 2.0], rel=0.1)
    assert noise_ceiling_percent(np.array([1.0]), 3)[0] == pytest.approx(75.0)
    with pytest.raises(ValueError, match="at least twice"):
        ncsnr(betas[:400], stim_ids[:400])


def simulated_session(shared_noise: float, seed: int = 0, n_runs: int = 6, repeats_across_runs: bool = True):
    """Runs of 24 trials of 36 stimuli (each shown 4 times in different runs) over 120 voxels: 80 driven
    (HRF delay 4.5, 6 or 7.5 s by thirds) and 40 silent, white noise plus ``shared_noise`` x three shared
    AR(1) time courses. Returns the runs, the true betas (trials x voxels) and the true delays."""
    rng = np.random.default_rng(seed)
    n_voxels, n_driven, per_run = 120, 80, 24
    delays = np.where(np.arange(n_voxels) % 3 == 0, 4.5, np.where(np.arange(n_voxels) % 3 == 1, 6.0, 7.5))
    tuning = rng.normal(1.0, 1.0, size=(36, n_voxels)) * (np.arange(n_voxels) < n_driven)  # visual: positive on average
    order = np.concatenate([rng.permutation(36) for _ in range(4)])  # 144 trials = 6 runs of 24
    if not repeats_across_runs:
        order = np.arange(144) % 36 + 36 * (np.arange(144) // 36)    # every stimulus once
    loadings = rng.normal(size=(3, n_voxels)) * shared_noise
    runs, true_betas = [], []
    for run in range(n_runs):
        stims = order[run * per_run:(run + 1) * per_run]
        onsets = 8 + np.arange(per_run) * 5.0 + rng.uniform(-0.5, 0.5, per_run)
        frame_times = np.arange(int((onsets[-1] + 20) / TR)) * TR
        durations = np.full(per_run, 2.0)
        betas = tuning[stims % 36] + 0.2 * rng.normal(size=(per_run, n_voxels)) * (np.arange(n_voxels) < n_driven)
        data = np.zeros((len(frame_times), n_voxels))
        for delay in np.unique(delays):
            voxels = delays == delay
            data[:, voxels] = hrf_regressors(onsets, durations, frame_times, double_gamma_hrf(delay)) @ betas[:, voxels]
        courses = lfilter([1.0], [1.0, -0.8], 0.6 * rng.normal(size=(len(frame_times), 3)), axis=0)
        data += courses @ loadings + 0.6 * rng.normal(size=data.shape)
        nuisance = np.column_stack([np.ones(len(frame_times)), np.linspace(-1, 1, len(frame_times))])
        runs.append(GlmsingleRun(data, nuisance, frame_times, onsets, durations, (stims % 36 if repeats_across_runs
                                                                                  else stims).astype(str)))
        true_betas.append(betas)
    return runs, np.concatenate(true_betas), delays, n_driven


def _median_correlation(estimate, truth, n_driven):
    e, t = estimate[:, :n_driven] - estimate[:, :n_driven].mean(0), truth[:, :n_driven] - truth[:, :n_driven].mean(0)
    return np.median((e * t).sum(0) / np.sqrt((e * e).sum(0) * (t * t).sum(0)))


SETTINGS = GlmsingleSettings(hrf_delay_range=(4.5, 7.5), hrf_library_size=3, max_pcs=5)


def test_whole_method_recovers_hrfs_and_shared_noise_and_beats_canonical_ols():
    runs, truth, delays, n_driven = simulated_session(shared_noise=0.3)
    result = glmsingle_betas(runs, SETTINGS)
    chosen = result.hrf_delays[result.hrf_index]
    assert (chosen[:n_driven] == delays[:n_driven]).mean() > 0.9
    assert result.pc_count >= 2                        # three shared courses, found by cross-validation
    assert result.noise_pool[n_driven:].mean() > 0.8 and result.noise_pool[:n_driven].mean() < 0.4
    canonical = glmsingle_betas(runs, GlmsingleSettings(hrf_delay_range=(6.0, 6.0), hrf_library_size=1,
                                                        denoise=False, fracridge=False))
    assert _median_correlation(result.betas, truth, n_driven) > _median_correlation(canonical.betas, truth, n_driven) + 0.1
    # ridge keeps strong voxels near OLS and shrinks silent ones hard
    assert np.median(result.frac[:n_driven]) > np.median(result.frac[n_driven:])


def test_no_pcs_are_chosen_without_shared_noise():
    runs, _, _, _ = simulated_session(shared_noise=0.0, seed=3)
    assert glmsingle_betas(runs, SETTINGS).pc_count <= 1


def test_without_repeats_across_runs_denoising_and_ridge_are_off_and_said_so():
    runs, truth, _, n_driven = simulated_session(shared_noise=1.0, repeats_across_runs=False)
    result = glmsingle_betas(runs, SETTINGS)
    assert result.pc_count == 0 and (result.frac == 1).all()
    assert any("nothing to cross-validate" in note for note in result.notes)
    assert result.betas.shape == truth.shape


def test_glmsingle_method_in_preprocessing_tracks_ground_truth(tiny_world_root, tiny_config):
    _, result, corr = preprocess_tiny_subject(tiny_world_root, {**tiny_config["preprocess"]["fmri"], "method": "glmsingle"})
    assert np.mean(corr) > 0.7
    summary = result.summary()
    assert summary["pc_count"] == result.pc_count and len(summary["xval_trend"]) == len(result.xval_trend)


def test_synthetic_world_with_varied_hrfs_and_shared_noise(tmp_path, tiny_synth_cfg, tiny_config):
    """The world's optional HRF delays and shared noise are written to the truth and found again."""
    from neurorecon.preprocess import fmri
    from neurorecon.synth.fmri import simulate_subject
    from neurorecon.synth.world import build_world, write_stimuli

    synth = {**tiny_synth_cfg, "hrf_delay_sd": 0.8, "structured_noise_pct": 1.0}
    world, scenes = build_world(synth)
    write_stimuli(world, scenes, tmp_path)
    simulate_subject(world, synth, 0, tmp_path)
    truth = np.load(tmp_path / "derivatives/groundtruth/sub-01/sub-01_groundtruth.npz")
    assert truth["hrf_delay_s"].std() > 0.5 and set(np.unique(truth["hrf_delay_s"])) <= set(np.round(np.arange(40, 81) / 10, 1))
    cfg = {**tiny_config["preprocess"]["fmri"], "method": "glmsingle"}
    files = fmri.find_subject_files(tmp_path, "01", "images", cfg)
    _, result = fmri.preprocess_subject(files, pd.read_csv(tmp_path / "stimuli" / "stimuli.tsv", sep="\t"), cfg)
    driven = truth["roi"] > 0
    chosen = result.hrf_delays[result.hrf_index]
    assert np.corrcoef(chosen[driven], truth["hrf_delay_s"][driven])[0, 1] > 0.5
    assert result.pc_count >= 1
