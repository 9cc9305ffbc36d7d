"""What the synthetic EEG and sEEG recordings share: the presentation design, background noise,
line noise and writing a continuous recording to BIDS with mne-bids.

The design follows THINGS-EEG (Gifford et al. 2022): every training image is shown a few times,
every test image many times, and no test concept appears in training, so retrieval on the test
images is zero-shot. A concept is a combination of scene attributes (``concept_attributes``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.artifacts import write_json_atomic, write_text_atomic

TASK = "images"
EVENT_COLUMNS = ("stim_id", "split", "concept")


def stimulus_concepts(stimuli: pd.DataFrame, attributes: list[str]) -> pd.Series:
    """Each stimulus' concept: its values of ``attributes`` joined (e.g. 'red circle stripes')."""
    missing = [a for a in attributes if a not in stimuli.columns]
    if missing:
        raise ValueError(f"concept attributes {missing} are not columns of the stimulus table "
                         f"(columns: {list(stimuli.columns)})")
    return stimuli[attributes].astype(str).agg(" ".join, axis=1)


def presentation_design(stimuli: pd.DataFrame, cfg: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Trials in presentation order: stim_id, split, concept, onset (s).

    Training stimuli whose concept is also a test concept are left out (zero-shot test set);
    each remaining training stimulus is shown ``train_repeats`` times and each test stimulus
    ``test_repeats`` times, shuffled, one every ``soa`` s (+- ``soa_jitter``).
    """
    concepts = stimulus_concepts(stimuli, cfg["concept_attributes"])
    is_test = (stimuli["split"] == "test").to_numpy()
    test_concepts = set(concepts[is_test])
    train = ~is_test & ~concepts.isin(test_concepts).to_numpy()
    if not train.any():
        raise ValueError("every training stimulus shares a concept with a test stimulus; use fewer "
                         "concept_attributes")
    rows = np.concatenate([np.repeat(np.flatnonzero(train), cfg["train_repeats"]),
                           np.repeat(np.flatnonzero(is_test), cfg["test_repeats"])])
    rows = rng.permutation(rows)
    gaps = cfg["soa"] + rng.uniform(-cfg["soa_jitter"], cfg["soa_jitter"], len(rows))
    onsets = cfg["lead_in"] + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    return pd.DataFrame({
        "stim_id": stimuli["stim_id"].to_numpy()[rows].astype(str),
        "split": stimuli["split"].to_numpy()[rows].astype(str),
        "concept": concepts.to_numpy()[rows],
        "onset": np.round(onsets, 4),
    })


def pink_noise(n_signals: int, n_samples: int, sfreq: float, rng: np.random.Generator,
               fmin: float = 0.5) -> np.ndarray:
    """Unit-variance 1/f noise (power falls as 1/f above ``fmin``), one row per signal."""
    spectrum = rng.standard_normal((n_signals, n_samples // 2 + 1)) + 1j * rng.standard_normal((n_signals, n_samples // 2 + 1))
    freqs = np.fft.rfftfreq(n_samples, 1 / sfreq)
    spectrum *= 1 / np.sqrt(np.maximum(freqs, fmin))
    spectrum[:, 0] = 0
    noise = np.fft.irfft(spectrum, n=n_samples, axis=1)
    return noise / noise.std(axis=1, keepdims=True)


def band_noise(n_signals: int, n_samples: int, sfreq: float, band: tuple[float, float],
               rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise with power only inside ``band`` (Hz), one row per signal."""
    spectrum = np.fft.rfft(rng.standard_normal((n_signals, n_samples)), axis=1)
    freqs = np.fft.rfftfreq(n_samples, 1 / sfreq)
    spectrum[:, (freqs < band[0]) | (freqs > band[1])] = 0
    noise = np.fft.irfft(spectrum, n=n_samples, axis=1)
    return noise / noise.std(axis=1, keepdims=True)


def line_noise(n_samples: int, sfreq: float, line_freq: float, amplitudes: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Mains interference: the line frequency and its harmonics below Nyquist (each harmonic at
    a third of the previous amplitude), one amplitude per signal, random phases."""
    times = np.arange(n_samples) / sfreq
    signal = np.zeros((len(amplitudes), n_samples))
    harmonic, scale = 1, 1.0
    while harmonic * line_freq < sfreq / 2 - 1:
        phase = rng.uniform(0, 2 * np.pi, (len(amplitudes), 1))
        signal += scale * amplitudes[:, None] * np.sin(2 * np.pi * harmonic * line_freq * times + phase)
        harmonic, scale = harmonic + 1, scale / 3
    return signal


def gaussian_bump(times: np.ndarray, latency: float, width: float) -> np.ndarray:
    """A smooth component peaking at ``latency`` (s) with standard deviation ``width`` (s)."""
    return np.exp(-0.5 * ((times - latency) / width) ** 2)


def write_bids_recording(raw, design: pd.DataFrame, stimuli_ids: list[str], bids_root: Path, subject: str,
                         datatype: str) -> Path:
    """Write a continuous recording with its stimulus events as BIDS (mne-bids, BrainVision).

    events.tsv holds one row per trial with ``trial_type`` = split and the extra columns
    stim_id, split and concept. Returns the recording's BIDSPath.
    """
    from mne_bids import BIDSPath, write_raw_bids

    stim_codes = {stim: index + 1 for index, stim in enumerate(stimuli_ids)}
    samples = np.round(design["onset"].to_numpy() * raw.info["sfreq"]).astype(int)
    events = np.column_stack([samples, np.zeros(len(design), int),
                              [stim_codes[s] for s in design["stim_id"]]])
    event_id = {f"{split}/{stim}": stim_codes[stim]
                for stim, split in design[["stim_id", "split"]].drop_duplicates().itertuples(index=False)}
    bids_path = BIDSPath(subject=subject, task=TASK, datatype=datatype, root=bids_root)
    metadata = design[list(EVENT_COLUMNS)].reset_index(drop=True)
    order = np.argsort(samples, kind="stable")
    write_raw_bids(raw, bids_path, events=events[order], event_id=event_id,
                   event_metadata=metadata.iloc[order].reset_index(drop=True),
                   extra_columns_descriptions={
                       "stim_id": "stimulus identifier, a row of stimuli/stimuli.tsv",
                       "split": "train or test",
                       "concept": "the stimulus' concept; no test concept is shown in training"},
                   format="BrainVision", allow_preload=True, overwrite=True, verbose=False)
    return bids_path


def write_sensor_dataset_description(bids_root: Path, name: str, cfg: dict, labels: list[str]) -> None:
    """Top-level files of a synthetic EEG or sEEG BIDS dataset and its ground-truth derivative."""
    write_json_atomic(bids_root / "dataset_description.json", {
        "Name": name, "BIDSVersion": "1.9.0", "DatasetType": "raw",
        "GeneratedBy": [{"Name": "neurorecon.synth", "Description": json.dumps(cfg, sort_keys=True)}],
    })
    write_text_atomic(bids_root / "participants.tsv", "participant_id\n" + "".join(f"sub-{s}\n" for s in labels))
    write_json_atomic(bids_root / "derivatives" / "groundtruth" / "dataset_description.json", {
        "Name": "groundtruth", "BIDSVersion": "1.9.0", "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "neurorecon.synth", "Description": "noise-free responses and the generator's parameters"}],
    })
