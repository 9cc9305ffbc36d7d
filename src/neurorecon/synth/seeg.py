"""Synthetic sEEG: depth shafts of contacts in labelled regions, high-gamma responses to images.

Each subject has six shafts (occipital, fusiform and hippocampal on both or one side, and a
frontal control); the deepest contacts of a shaft lie in its region, the outer ones in white
matter. Each contact records a shaft-wide 1/f field potential (the same on neighbouring
contacts, so bipolar re-referencing removes it), local 1/f noise, common line noise, and
high-gamma (70-150 Hz) activity whose amplitude rises after a stimulus in a region-specific way:
occipital contacts follow the low-level features of their half of the visual field at about
100 ms, fusiform contacts the semantic latent and the shape category at about 180 ms,
hippocampal ones weakly and late; frontal and white-matter contacts do not respond.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.artifacts import atomic_path, write_json_atomic, write_text_atomic
from neurorecon.synth.eeg import retinotopic_weights
from neurorecon.synth.scenes import SHAPES
from neurorecon.synth.sensors import band_noise, gaussian_bump, line_noise, pink_noise, presentation_design, write_bids_recording
from neurorecon.synth.world import World

HIGH_GAMMA = (70.0, 150.0)
CONTACT_SPACING_MM = 3.5
# name, region, deepest contact and entry point (mm, MNI-like), response latency (s), what drives it
SHAFTS = (
    ("LO", "occipital", (-20, -95, 0), (-60, -80, 20), 0.10, "lowlevel-right"),
    ("RO", "occipital", (20, -95, 0), (60, -80, 20), 0.10, "lowlevel-left"),
    ("LT", "fusiform", (-35, -55, -15), (-70, -50, -10), 0.18, "semantic"),
    ("RT", "fusiform", (35, -55, -15), (70, -50, -10), 0.18, "semantic"),
    ("LH", "hippocampus", (-25, -20, -15), (-65, -20, -10), 0.32, "semantic-weak"),
    ("LF", "frontal", (-30, 40, 20), (-65, 40, 30), 0.0, "none"),
)
TRUTH_WINDOW = (-0.5, 1.3)


def subject_labels(n_subjects: int) -> list[str]:
    """BIDS labels of the synthetic sEEG subjects: seeg01, seeg02, ..."""
    return [f"seeg{i + 1:02d}" for i in range(n_subjects)]


def contact_table(cfg: dict) -> pd.DataFrame:
    """Every contact: name, shaft, number (1 = deepest), x/y/z (mm) and region label."""
    rows = []
    for shaft, region, deep, entry, _, _ in SHAFTS:
        deep, entry = np.asarray(deep, float), np.asarray(entry, float)
        direction = (entry - deep) / np.linalg.norm(entry - deep)
        for number in range(1, cfg["contacts_per_shaft"] + 1):
            x, y, z = deep + (number - 1) * CONTACT_SPACING_MM * direction
            in_region = number <= cfg["contacts_in_region"]
            rows.append({"name": f"{shaft}{number}", "shaft": shaft, "number": number, "x": round(x, 2),
                         "y": round(y, 2), "z": round(z, 2), "region": region if in_region else "white-matter"})
    return pd.DataFrame(rows)


def contact_drives(world: World, stimuli: pd.DataFrame, contacts: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each contact's standardised stimulus drive (stimuli x contacts; 0 for unresponsive ones)
    and response latency (s)."""
    lowlevel = world.lowlevel.reshape(len(world.lowlevel), -1)
    shape_onehot = np.eye(len(SHAPES))[[SHAPES.index(s) for s in stimuli.set_index("stim_id").loc[world.stim_ids, "shape"]]]
    drives = np.zeros((len(world.stim_ids), len(contacts)))
    latency = np.zeros(len(contacts))
    kinds = {shaft: (lat, kind) for shaft, _, _, _, lat, kind in SHAFTS}
    for index, contact in enumerate(contacts.itertuples()):
        lat, kind = kinds[contact.shaft]
        if contact.region == "white-matter" or kind == "none":
            continue
        if kind.startswith("lowlevel"):
            centre = (rng.uniform(1, 6), rng.uniform(4, 7) if kind.endswith("right") else rng.uniform(0, 3))
            drive = lowlevel @ retinotopic_weights(centre, rng)
        else:
            drive = world.semantic @ rng.standard_normal(world.semantic.shape[1])
            drive = drive / drive.std() + 1.5 * shape_onehot @ rng.standard_normal(len(SHAPES))
        drives[:, index] = (drive - drive.mean()) / drive.std() * (0.4 if kind == "semantic-weak" else 1.0)
        latency[index] = lat + rng.normal(0, 0.01)
    return drives, latency


def log_gain(drives: np.ndarray, cfg: dict) -> np.ndarray:
    """Natural-log high-gamma amplitude change at the response peak (stimuli x contacts):
    a mean response plus the stimulus-specific part, zero where a contact has no drive."""
    responsive = np.any(drives != 0, axis=0)
    return np.where(responsive, cfg["gamma_mean"] + cfg["gamma_signal"] * drives, 0.0)


def simulate_seeg_subject(world: World, stimuli: pd.DataFrame, cfg: dict, seed: int, subject_index: int,
                          bids_root: Path, truth_path: Path) -> dict:
    """Write one subject's sEEG recording (BIDS iEEG with electrodes.tsv) and its ground truth."""
    import mne

    rng = np.random.default_rng([seed, 3, subject_index])
    label = subject_labels(cfg["n_subjects"])[subject_index]
    sfreq = float(cfg["sfreq"])
    contacts = contact_table(cfg)
    n_contacts = len(contacts)
    drives, latency = contact_drives(world, stimuli, contacts, rng)
    design = presentation_design(stimuli, cfg, rng)
    n_samples = int((design["onset"].iloc[-1] + cfg["lead_out"]) * sfreq)
    stim_rows = {s: i for i, s in enumerate(world.stim_ids)}

    kernel_times = np.arange(int(TRUTH_WINDOW[0] * sfreq), int(TRUTH_WINDOW[1] * sfreq)) / sfreq
    bumps = np.stack([gaussian_bump(kernel_times, lat, 0.06) if lat > 0 else np.zeros_like(kernel_times)
                      for lat in latency])
    rows = np.array([stim_rows[s] for s in design["stim_id"]])
    trial_gain = log_gain(drives[rows], cfg) * rng.normal(1.0, cfg["trial_gain_sd"], (len(rows), 1))
    log_amplitude = np.zeros((n_contacts, n_samples))
    for onset, gain in zip(design["onset"].to_numpy(), trial_gain):
        start = int(round(onset * sfreq)) + int(TRUTH_WINDOW[0] * sfreq)
        log_amplitude[:, start:start + len(kernel_times)] += gain[:, None] * bumps
    base = cfg["gamma_uv"] * rng.uniform(0.7, 1.3, n_contacts)
    data = base[:, None] * np.exp(log_amplitude) * band_noise(n_contacts, n_samples, sfreq, HIGH_GAMMA, rng)
    del log_amplitude

    shafts = contacts["shaft"].to_numpy()
    for shaft in np.unique(shafts):
        on_shaft = shafts == shaft
        data[on_shaft] += cfg["lfp_uv"] * pink_noise(1, n_samples, sfreq, rng)[0] * rng.uniform(0.8, 1.2, (on_shaft.sum(), 1))
    data += cfg["local_noise_uv"] * pink_noise(n_contacts, n_samples, sfreq, rng)
    common_mains = line_noise(n_samples, sfreq, cfg["line_freq"], np.array([cfg["line_noise_uv"]]), rng)
    data += common_mains * rng.uniform(0.9, 1.1, (n_contacts, 1))

    info = mne.create_info(contacts["name"].tolist(), sfreq, "seeg")
    raw = mne.io.RawArray(data * 1e-6, info, verbose=False)
    del data
    raw.info["line_freq"] = cfg["line_freq"]
    bids_path = write_bids_recording(raw, design, world.stim_ids, bids_root, label, "ieeg")
    for placeholder in ("electrodes.tsv", "electrodes.json", "coordsystem.json"):  # mne-bids' n/a coordinates
        (bids_path.directory / f"sub-{label}_{placeholder}").unlink(missing_ok=True)
    electrodes = bids_path.copy().update(suffix="electrodes", extension=".tsv", task=None, space="MNI152NLin2009aSym")
    table = contacts[["name", "x", "y", "z"]].assign(size=5.0, region=contacts["region"])
    write_text_atomic(electrodes.fpath, table.to_csv(sep="\t", index=False))
    write_json_atomic(electrodes.copy().update(suffix="coordsystem", extension=".json").fpath, {
        "iEEGCoordinateSystem": "MNI152NLin2009aSym", "iEEGCoordinateUnits": "mm",
        "iEEGCoordinateSystemDescription": "synthetic MNI-like coordinates of the contacts",
    })

    shown_ids = sorted(set(design["stim_id"]))
    shown_rows = np.array([stim_rows[s] for s in shown_ids])
    with atomic_path(truth_path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(
                handle, stim_ids=np.asarray(shown_ids), channels=contacts["name"].to_numpy(dtype=str), sfreq=sfreq,
                times=kernel_times, bumps=bumps, log_gain=log_gain(drives[shown_rows], cfg), base_uv=base,
                regions=contacts["region"].to_numpy(dtype=str))
    write_json_atomic(truth_path.with_suffix(".json"), {
        "n_trials": len(design), "n_contacts": n_contacts,
        "responsive_contacts": contacts.loc[np.any(drives != 0, axis=0), "name"].tolist(),
        "description": "high-gamma amplitude of contact c for shown stimulus i: base_uv[c] * "
                       "exp(log_gain[i, c] * bumps[c]); times in s from onset",
    })
    return {"label": label, "n_trials": len(design), "design": design, "contacts": contacts}
