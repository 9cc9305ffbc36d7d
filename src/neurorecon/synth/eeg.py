"""Synthetic EEG: a 32-channel 10-20 cap recording evoked responses to the world's images.

Evoked responses come from sources at fixed scalp locations, each a smooth component with a
realistic latency whose amplitude is driven by the stimulus: early occipital sources (P1, about
100 ms) by the low-level feature maps of one part of the visual field (left hemisphere sees the
right field), later occipito-temporal and parietal sources (N170 at 170 ms, 250 ms, P300 at
350 ms) by the semantic latent. On top: spatially correlated 1/f background, posterior alpha,
line noise, eye blinks seen by a VEOG channel and decaying from the frontal channels backwards,
and a few bad channels (one noisy, one nearly flat). Nothing is marked bad in the data: finding
them is preprocessing's job; the ground truth says which they are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.artifacts import atomic_path, write_json_atomic
from neurorecon.synth.sensors import (
    band_noise, gaussian_bump, line_noise, pink_noise, presentation_design, write_bids_recording,
)
from neurorecon.synth.world import World

MONTAGE = "easycap-M1"
EEG_CHANNELS = ("Fp1 Fp2 F7 F3 Fz F4 F8 FC5 FC1 FC2 FC6 T7 C3 Cz C4 T8 TP9 CP5 CP1 CP2 CP6 TP10 "
                "P7 P3 Pz P4 P8 PO9 O1 Oz O2 PO10").split()
EOG_CHANNEL = "VEOG"
EYES = np.array([0.0, 0.105, -0.04])  # metres, head frame: in front of and below Fp1/Fp2
# (electrode, latency s, width s, polarity, receptive-field centre on the 8x8 low-level grid)
LOWLEVEL_SOURCES = (("O1", 0.10, 0.022, 1, (5, 5)), ("O2", 0.10, 0.022, 1, (5, 2)), ("Oz", 0.095, 0.02, 1, (4, 3.5)),
                    ("PO9", 0.11, 0.025, 1, (2, 5)), ("PO10", 0.11, 0.025, 1, (2, 2)), ("Pz", 0.12, 0.03, 1, (1, 3.5)))
# (electrode, latency s, width s, polarity): driven by the semantic latent
SEMANTIC_SOURCES = (("P7", 0.17, 0.025, -1), ("P8", 0.17, 0.025, -1), ("PO9", 0.19, 0.03, -1), ("PO10", 0.19, 0.03, -1),
                    ("CP1", 0.25, 0.04, 1), ("CP2", 0.25, 0.04, 1), ("Pz", 0.35, 0.06, 1), ("Cz", 0.30, 0.05, 1))
TRUTH_WINDOW = (-0.5, 1.3)  # s around onset: the noise-free evoked response is zero outside it


def subject_labels(n_subjects: int) -> list[str]:
    """BIDS labels of the synthetic EEG subjects: eeg01, eeg02, ..."""
    return [f"eeg{i + 1:02d}" for i in range(n_subjects)]


def electrode_positions() -> dict[str, np.ndarray]:
    """Head-frame positions (m) of the cap's electrodes, from MNE's bundled montage."""
    import mne

    positions = mne.channels.make_standard_montage(MONTAGE).get_positions()["ch_pos"]
    return {name: np.asarray(positions[name]) for name in EEG_CHANNELS}


def scalp_topography(centre: np.ndarray, positions: np.ndarray, width: float) -> np.ndarray:
    """A smooth scalp map peaking at ``centre`` (Gaussian in distance, metres)."""
    distance = np.linalg.norm(positions - centre, axis=1)
    return np.exp(-0.5 * (distance / width) ** 2)


def retinotopic_weights(centre: tuple[float, float], rng: np.random.Generator, grid: int = 8) -> np.ndarray:
    """Weights on the (grid, grid, 3) opponent-colour maps: a receptive field around ``centre``
    with random colour preferences."""
    rows, cols = np.mgrid[0:grid, 0:grid]
    field = np.exp(-0.5 * ((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / 1.5 ** 2)
    return (field[..., None] * rng.standard_normal(3)[None, None, :]).ravel()


def source_model(world: World, rng: np.random.Generator, positions: np.ndarray) -> dict[str, np.ndarray]:
    """Topographies (channels x sources), per-source latency/width/polarity, and each stimulus'
    standardised source drive (stimuli x sources)."""
    names = list(EEG_CHANNELS)
    lowlevel = world.lowlevel.reshape(len(world.lowlevel), -1)
    drives, centres, timing = [], [], []
    for electrode, latency, width, polarity, field in LOWLEVEL_SOURCES:
        drives.append(lowlevel @ retinotopic_weights(field, rng))
        centres.append(positions[names.index(electrode)])
        timing.append((latency + rng.normal(0, 0.005), width, polarity))
    for electrode, latency, width, polarity in SEMANTIC_SOURCES:
        drives.append(world.semantic @ rng.standard_normal(world.semantic.shape[1]))
        centres.append(positions[names.index(electrode)])
        timing.append((latency + rng.normal(0, 0.008), width, polarity))
    drives = np.stack(drives, axis=1)
    drives = (drives - drives.mean(0)) / drives.std(0)
    topographies = np.stack([scalp_topography(c, positions, 0.035) for c in centres], axis=1)
    latency, width, polarity = (np.asarray(v, dtype=float) for v in zip(*timing))
    return {"topographies": topographies, "latency": latency, "width": width, "polarity": polarity, "drives": drives}


def source_waveforms(model: dict, times: np.ndarray) -> np.ndarray:
    """(sources, times) unit-peak waveforms with each source's polarity."""
    return np.stack([p * gaussian_bump(times, lat, w)
                     for lat, w, p in zip(model["latency"], model["width"], model["polarity"])])


def source_amplitudes(model: dict, rows: np.ndarray, cfg: dict) -> np.ndarray:
    """Expected amplitude (microvolts) of every source for stimuli ``rows``: the mean evoked
    response plus the stimulus-specific part."""
    return cfg["erp_uv"] + cfg["signal_uv"] * model["drives"][rows]


def blink_trace(n_samples: int, sfreq: float, rate: float, amplitude: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Eye blinks (microvolts at the eyes) at Poisson times; returns the trace and blink onsets (s)."""
    duration = n_samples / sfreq
    onsets = np.sort(rng.uniform(0, duration - 0.5, rng.poisson(rate * duration)))
    trace = np.zeros(n_samples)
    kernel_times = np.arange(int(0.4 * sfreq)) / sfreq
    kernel = np.sin(np.pi * kernel_times / 0.4) ** 2
    for onset in onsets:
        start = int(onset * sfreq)
        trace[start:start + len(kernel)] += amplitude * rng.uniform(0.7, 1.3) * kernel[: n_samples - start]
    return trace, onsets


def simulate_eeg_subject(world: World, stimuli: pd.DataFrame, cfg: dict, seed: int, subject_index: int,
                         bids_root: Path, truth_path: Path) -> dict:
    """Write one subject's EEG recording to BIDS and its ground truth to ``truth_path`` (npz + json)."""
    import mne

    rng = np.random.default_rng([seed, 2, subject_index])
    label = subject_labels(cfg["n_subjects"])[subject_index]
    sfreq = float(cfg["sfreq"])
    positions_by_name = electrode_positions()
    positions = np.stack([positions_by_name[n] for n in EEG_CHANNELS])
    n_eeg = len(EEG_CHANNELS)
    model = source_model(world, rng, positions)
    design = presentation_design(stimuli, cfg, rng)
    n_samples = int((design["onset"].iloc[-1] + cfg["lead_out"]) * sfreq)
    stim_rows = {s: i for i, s in enumerate(world.stim_ids)}

    # evoked responses: each trial's source amplitudes (with trial-to-trial gain) times the waveforms
    kernel_times = np.arange(int(TRUTH_WINDOW[0] * sfreq), int(TRUTH_WINDOW[1] * sfreq)) / sfreq
    waveforms = source_waveforms(model, kernel_times)
    sources = np.zeros((waveforms.shape[0], n_samples))
    rows = np.array([stim_rows[s] for s in design["stim_id"]])
    amplitudes = source_amplitudes(model, rows, cfg) * rng.normal(1.0, cfg["trial_gain_sd"], (len(rows), 1))
    for onset, amplitude in zip(design["onset"].to_numpy(), amplitudes):
        start = int(round(onset * sfreq)) + int(TRUTH_WINDOW[0] * sfreq)
        sources[:, start:start + len(kernel_times)] += amplitude[:, None] * waveforms
    signal = model["topographies"] @ sources

    # background: 1/f sources with broad topographies, posterior alpha, sensor noise, mains
    noise_centres = positions[rng.choice(n_eeg, 12)]
    noise_maps = np.stack([scalp_topography(c, positions, 0.06) for c in noise_centres], axis=1)
    background = noise_maps @ pink_noise(12, n_samples, sfreq, rng)
    background *= cfg["background_uv"] / background.std()
    envelope = 1 + 0.8 * pink_noise(1, n_samples, sfreq, rng, fmin=0.2)[0].clip(-1.2, 2)
    alpha = band_noise(1, n_samples, sfreq, (9.0, 11.0), rng)[0] * envelope
    alpha_map = scalp_topography(positions[EEG_CHANNELS.index("Oz")], positions, 0.06)
    data = signal + background + cfg["alpha_uv"] * alpha_map[:, None] * alpha[None, :]
    data += rng.standard_normal(data.shape)
    data += line_noise(n_samples, sfreq, cfg["line_freq"], cfg["line_noise_uv"] * rng.uniform(0.5, 1.5, n_eeg), rng)

    blinks, blink_onsets = blink_trace(n_samples, sfreq, cfg["blink_rate"], cfg["blink_uv"], rng)
    spread = np.exp(-np.linalg.norm(positions - EYES, axis=1) / 0.05)
    data += spread[:, None] * blinks[None, :]
    veog = blinks + 2 * rng.standard_normal(n_samples)

    bad = [EEG_CHANNELS[i] for i in rng.choice(np.arange(2, n_eeg), cfg["n_bad_channels"], replace=False)]
    for k, name in enumerate(bad):
        index = EEG_CHANNELS.index(name)
        if k % 2:  # a nearly flat, disconnected electrode
            data[index] = 0.02 * data[index] + 0.2 * rng.standard_normal(n_samples)
        else:      # a noisy electrode: poor contact
            data[index] += 8 * cfg["background_uv"] * pink_noise(1, n_samples, sfreq, rng, fmin=1.0)[0]

    info = mne.create_info(list(EEG_CHANNELS) + [EOG_CHANNEL], sfreq, ["eeg"] * n_eeg + ["eog"])
    raw = mne.io.RawArray(np.vstack([data, veog]) * 1e-6, info, verbose=False)
    raw.set_montage(mne.channels.make_standard_montage(MONTAGE), on_missing="ignore", verbose=False)
    raw.info["line_freq"] = cfg["line_freq"]
    write_bids_recording(raw, design, world.stim_ids, bids_root, label, "eeg")

    shown_ids = sorted(set(design["stim_id"]))
    shown_rows = np.array([stim_rows[s] for s in shown_ids])
    with atomic_path(truth_path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle, stim_ids=np.asarray(shown_ids), channels=np.asarray(EEG_CHANNELS), sfreq=sfreq,
                times=kernel_times, topographies=model["topographies"], waveforms=waveforms,
                amplitudes=source_amplitudes(model, shown_rows, cfg), bad_channels=np.asarray(bad),
                blink_onsets=blink_onsets)
    info_path = truth_path.with_suffix(".json")
    write_json_atomic(info_path, {
        "bad_channels": bad, "n_trials": len(design), "n_blinks": len(blink_onsets),
        "n_train_stimuli": int(design.loc[design["split"] == "train", "stim_id"].nunique()),
        "n_test_stimuli": int(design.loc[design["split"] == "test", "stim_id"].nunique()),
        "description": "noise-free evoked response of shown stimulus i (microvolts, channels x times): "
                       "topographies @ (amplitudes[i][:, None] * waveforms); times in s from onset",
    })
    return {"label": label, "bad_channels": bad, "n_trials": len(design), "design": design}
