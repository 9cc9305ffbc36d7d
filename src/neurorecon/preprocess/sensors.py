"""EEG and sEEG preprocessing with MNE: from a continuous BIDS recording to the responses contract.

EEG (the order of MNE-BIDS-Pipeline and of the THINGS-EEG papers): notch at the line frequency
and its harmonics, band-pass, bad channels (marked in channels.tsv or found as outliers of
log-variance) interpolated, average reference, blinks removed by regression on the EOG channel
(Gratton et al. 1983, ``mne.preprocessing.EOGRegression``) or by ICA, epochs on the stimulus
events with baseline correction and peak-to-peak rejection, resampling, repeats averaged.

sEEG: bad contacts dropped, bipolar re-referencing between neighbouring contacts of a shaft
(removes the shaft's common field potential and the reference), notch, high-gamma envelope
(band-pass then Hilbert amplitude), epochs, normalisation to the pre-stimulus baseline,
smoothing and resampling of the envelope, channel selection by region, repeats averaged.

Both return :class:`~neurorecon.responses.Responses` whose features are channels x times, plus a
report of what was done (for the manifest), and the same steps applied to the synthetic world's
noise-free responses give the noise ceiling's inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.io.inputs import InputDataError, read_tsv
from neurorecon.responses import ROW_COLUMNS, Responses

EVENT_COLUMNS = ("onset", "stim_id")
# scalp regions by the letters of a 10-20 name (the longest prefix that matches wins)
SCALP_REGIONS = (("Fp", "frontal"), ("AF", "frontal"), ("FC", "central"), ("FT", "temporal"), ("F", "frontal"),
                 ("CP", "parietal"), ("C", "central"), ("TP", "temporal"), ("T", "temporal"),
                 ("PO", "occipital"), ("P", "parietal"), ("O", "occipital"), ("I", "occipital"))
CONTACT_NAME = re.compile(r"^(?P<shaft>.*?\D)\s*(?P<number>\d+)$")


@dataclass
class Recording:
    """A continuous recording, its stimulus events and (sEEG) its contacts' regions."""

    raw: object                      # mne.io.Raw
    events: pd.DataFrame             # onset (s), stim_id, split
    path: Path
    regions: dict[str, str] | None = None


def find_recording(bids_root: Path, subject: str, task: str, datatype: str) -> Path:
    """The one continuous recording of ``sub-<subject>_task-<task>`` in ``<datatype>/``."""
    folder = Path(bids_root) / f"sub-{subject}" / datatype
    suffix = "eeg" if datatype == "eeg" else "ieeg"
    found = sorted(p for p in folder.glob(f"sub-{subject}*_task-{task}*_{suffix}.*")
                   if p.suffix in (".vhdr", ".edf", ".bdf", ".set", ".fif"))
    if not found:
        raise InputDataError(folder, f"no {suffix} recording matching sub-{subject}_task-{task}_{suffix}.(vhdr|edf|bdf|set|fif)")
    if len(found) > 1:
        raise InputDataError(folder, f"{len(found)} recordings for task {task!r} ({[p.name for p in found]}); "
                                     "runs and sessions are not supported yet, expected one")
    return found[0]


def read_events(path: Path, stimuli: pd.DataFrame) -> pd.DataFrame:
    """A recording's stimulus events (onset, stim_id) with each stimulus' split from the stimulus table."""
    events = read_tsv(path, required=EVENT_COLUMNS, numeric=("onset",))
    events["stim_id"] = events["stim_id"].astype(str)
    unknown = sorted(set(events["stim_id"]) - set(stimuli["stim_id"].astype(str)))
    if unknown:
        raise InputDataError(path, f"stim_id {unknown[:5]} not in the stimulus table")
    split = dict(zip(stimuli["stim_id"].astype(str), stimuli["split"]))
    return events.assign(split=events["stim_id"].map(split))[["onset", "stim_id", "split"]]


def read_contact_regions(path: Path, column: str) -> dict[str, str]:
    """Contact name -> region label from a BIDS electrodes.tsv."""
    table = read_tsv(path, required=("name", column))
    return dict(zip(table["name"].astype(str), table[column].fillna("unknown").astype(str)))


def load_recording(bids_root: Path, subject: str, task: str, datatype: str, stimuli: pd.DataFrame,
                   region_column: str | None = None) -> Recording:
    """Read a BIDS EEG/iEEG recording with mne-bids (channel types, bad channels, montage) and its events."""
    from mne_bids import get_bids_path_from_fname, read_raw_bids

    path = find_recording(bids_root, subject, task, datatype)
    try:
        raw = read_raw_bids(get_bids_path_from_fname(path), verbose="error")
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as exc:  # broken .set files raise the last two
        raise InputDataError(path, f"cannot read the recording with mne-bids ({exc})") from exc
    prefix = path.name.rsplit("_", 1)[0]
    events = read_events(path.with_name(f"{prefix}_events.tsv"), stimuli)
    regions = None
    if region_column:
        electrodes = sorted(path.parent.glob(f"sub-{subject}*_electrodes.tsv"))
        with_column = [p for p in electrodes if region_column in read_tsv(p).columns]
        if not with_column:
            raise InputDataError(path.parent, f"no electrodes.tsv with a {region_column!r} column "
                                              "(needed to group contacts by region)")
        regions = read_contact_regions(with_column[0], region_column)
    return Recording(raw=raw, events=events, path=path, regions=regions)


def line_harmonics(line_freq: float, sfreq: float, upper: float | None = None) -> np.ndarray:
    """The line frequency and its harmonics below Nyquist (and below ``upper`` if given)."""
    top = sfreq / 2 - 1 if upper is None else min(upper, sfreq / 2 - 1)
    return np.arange(line_freq, top, line_freq)


def detect_bad_channels(data: np.ndarray, names: list[str], z_threshold: float) -> list[str]:
    """Channels whose log-variance is a robust outlier (|z| over the median and MAD above the
    threshold): disconnected (flat) and noisy electrodes both stand out."""
    log_var = np.log(data.var(axis=1) + 1e-30)
    median = np.median(log_var)
    mad = 1.4826 * np.median(np.abs(log_var - median)) + 1e-12
    return [name for name, z in zip(names, (log_var - median) / mad) if abs(z) > z_threshold]


def scalp_region(name: str) -> str:
    """The scalp region of a 10-20 electrode name (frontal, central, temporal, parietal, occipital)."""
    for prefix, region in SCALP_REGIONS:
        if name.startswith(prefix):
            return region
    return "other"


def region_labels(channels: list[str], region_of: dict[str, str], n_times: int) -> tuple[np.ndarray, dict[int, str]]:
    """A region index per feature (channel-major channels x times) and the index -> name map."""
    names = sorted(set(region_of[c] for c in channels))
    index = {name: i + 1 for i, name in enumerate(names)}
    return np.repeat([index[region_of[c]] for c in channels], n_times), {i: n for n, i in index.items()}


def epoch_rows(data: np.ndarray, events: pd.DataFrame, average: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Response rows from epochs (n, channels, times): repeats of a stimulus averaged within the
    splits that ``average`` names ('test', 'all' or 'none'), in presentation order otherwise."""
    splits = {"none": (), "test": ("test",), "all": ("train", "test")}[average]
    rows, table = [], []
    single = ~events["split"].isin(splits).to_numpy()
    rows.extend(data[single])
    table.append(events[single].assign(runs="1", n_repeats=1))
    for split in splits:
        chosen = events[events["split"] == split]
        for stim_id, group in chosen.groupby("stim_id", sort=True):
            rows.append(data[group.index.to_numpy()].mean(axis=0))
            table.append(pd.DataFrame({"stim_id": [stim_id], "split": [split], "runs": ["1"], "n_repeats": [len(group)]}))
    return np.stack(rows), pd.concat(table, ignore_index=True)[ROW_COLUMNS]


def _epochs(raw, events: pd.DataFrame, cfg: dict, picks, reject: dict | None, baseline):
    """mne.Epochs on the event onsets; returns the epochs and the kept events (index reset)."""
    import mne

    samples = np.round(events["onset"].to_numpy() * raw.info["sfreq"]).astype(int) + raw.first_samp
    mne_events = np.column_stack([samples, np.zeros(len(events), int), np.arange(len(events)) + 1])
    epochs = mne.Epochs(raw, mne_events, event_id=None, tmin=cfg["tmin"], tmax=cfg["tmax"], baseline=baseline,
                        picks=picks, reject=reject, preload=True, reject_by_annotation=False, verbose="error")
    kept = events.iloc[epochs.events[:, 2] - 1].reset_index(drop=True)
    return epochs, kept


def preprocess_eeg(recording: Recording, cfg: dict, seed: int = 0) -> tuple[Responses, dict]:
    """EEG -> responses (rows, channels x times in microvolts) and a report of each step."""
    import mne

    raw = recording.raw.copy().load_data(verbose="error")
    raw.pick(["eeg", "eog"], exclude=[])
    eeg_names = [raw.ch_names[i] for i in mne.pick_types(raw.info, eeg=True, exclude=[])]
    if not eeg_names:
        raise InputDataError(recording.path, "no EEG channels (channels.tsv type EEG)")
    report = {"n_channels": len(eeg_names), "sfreq": raw.info["sfreq"]}
    line_freq = cfg["line_freq"] or raw.info["line_freq"]
    if cfg["notch"] and line_freq:
        freqs = line_harmonics(line_freq, raw.info["sfreq"])
        raw.notch_filter(freqs, picks=["eeg", "eog"], verbose="error")
        report["notch_hz"] = freqs.tolist()
    raw.filter(cfg["l_freq"], cfg["h_freq"], picks=["eeg", "eog"], verbose="error")

    marked = [c for c in raw.info["bads"] if c in eeg_names]
    detected = detect_bad_channels(raw.get_data(picks=eeg_names), eeg_names, cfg["bad_channel_z"]) if cfg["detect_bad_channels"] else []
    raw.info["bads"] = sorted(set(marked) | set(detected))
    report.update(bad_channels_marked=marked, bad_channels_detected=detected)
    if raw.info["bads"]:
        if raw.get_montage() is None:
            raw.set_montage(cfg["montage"], on_missing="raise", verbose="error")
        raw.interpolate_bads(reset_bads=True, verbose="error")
    raw.set_eeg_reference("average", projection=False, verbose="error")

    eog = [raw.ch_names[i] for i in mne.pick_types(raw.info, eog=True)]
    report["blink_removal"] = cfg["blink_removal"]
    if cfg["blink_removal"] != "none":
        if not eog:
            raise InputDataError(recording.path, f"preprocess.eeg.blink_removal is {cfg['blink_removal']!r} but the "
                                                 "recording has no EOG channel; set it to 'none'")
        report.update(remove_blinks(raw, cfg, seed))

    reject = {"eeg": cfg["reject_uv"] * 1e-6} if cfg["reject_uv"] else None
    epochs, kept = _epochs(raw, recording.events, cfg, "eeg", reject, (cfg["tmin"], 0.0))
    report.update(n_events=len(recording.events), n_epochs=len(epochs), n_rejected=len(recording.events) - len(epochs))
    if not len(epochs):
        raise InputDataError(recording.path, f"every epoch exceeded preprocess.eeg.reject_uv = {cfg['reject_uv']}")
    data, times = _resample_and_crop(epochs, cfg)
    return _sensor_responses(data * 1e6, times, epochs.ch_names, kept, {c: scalp_region(c) for c in epochs.ch_names},
                             cfg["average_repeats"]), report


def remove_blinks(raw, cfg: dict, seed: int) -> dict:
    """Remove eye blinks in place: regression of the EOG channel(s) out of every EEG channel, or
    ICA with the components that correlate with the EOG removed."""
    import mne

    if cfg["blink_removal"] == "regression":
        model = mne.preprocessing.EOGRegression(picks="eeg", picks_artifact="eog").fit(raw)
        model.apply(raw, copy=False)
        return {"eog_weights_max": float(np.abs(model.coef_).max())}
    ica = mne.preprocessing.ICA(n_components=cfg["ica_components"], random_state=seed, max_iter="auto")
    ica.fit(raw.copy().filter(1.0, None, verbose="error"), picks="eeg", verbose="error")
    blink_components, _ = ica.find_bads_eog(raw, verbose="error")
    ica.exclude = blink_components
    ica.apply(raw, verbose="error")
    return {"ica_excluded": [int(c) for c in blink_components]}


def _resample_and_crop(epochs, cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """Epoch data resampled to ``cfg['sfreq']`` and cropped to the feature window."""
    if cfg["sfreq"] and cfg["sfreq"] != epochs.info["sfreq"]:
        epochs = epochs.copy().resample(cfg["sfreq"], verbose="error")
    start, stop = cfg["window"]
    keep = (epochs.times >= start - 1e-9) & (epochs.times <= stop + 1e-9)
    return epochs.get_data(copy=False)[:, :, keep], epochs.times[keep]


def _sensor_responses(data: np.ndarray, times: np.ndarray, channels: list[str], events: pd.DataFrame,
                      region_of: dict[str, str], average: str) -> Responses:
    values, trials = epoch_rows(data.astype(np.float32), events, average)
    roi, roi_names = region_labels(channels, region_of, len(times))
    return Responses(values=values.reshape(len(values), -1), trials=trials, roi=roi, roi_names=roi_names,
                     voxel_ijk=np.zeros((0, 3), int), channels=list(channels), times=np.asarray(times))


def bipolar_pairs(names: list[str]) -> list[tuple[str, str]]:
    """Neighbouring contacts of each shaft (name = shaft letters + number, e.g. LO3, L'3, "LACN 3"):
    (n, n+1) for every n where both are present."""
    by_shaft: dict[str, dict[int, str]] = {}
    for name in names:
        match = CONTACT_NAME.match(name)
        if match:
            by_shaft.setdefault(match["shaft"].strip(), {})[int(match["number"])] = name
    pairs = []
    for contacts in by_shaft.values():
        pairs.extend((contacts[n], contacts[n + 1]) for n in sorted(contacts) if n + 1 in contacts)
    return pairs


def pair_region(anode: str, cathode: str, regions: dict[str, str]) -> str:
    """A bipolar channel's region: that of its contacts, preferring grey matter over white matter."""
    labels = [regions.get(anode, "unknown"), regions.get(cathode, "unknown")]
    grey = [label for label in labels if label not in ("white-matter", "unknown")]
    return grey[0] if grey else labels[0]


def bipolar_reference(raw, regions: dict[str, str] | None) -> tuple[object, dict[str, str]]:
    """Re-reference neighbouring contacts of each shaft; returns the new raw and each bipolar
    channel's region."""
    import mne

    pairs = bipolar_pairs(raw.ch_names)
    if not pairs:
        raise ValueError("no neighbouring contacts to pair: contact names must end in their number along the shaft")
    anodes, cathodes = zip(*pairs)
    bipolar = mne.set_bipolar_reference(raw, list(anodes), list(cathodes), drop_refs=True, copy=True, verbose="error")
    names = [f"{a}-{c}" for a, c in pairs]
    bipolar.pick(names)
    return bipolar, {name: pair_region(a, c, regions or {}) for name, (a, c) in zip(names, pairs)}


def normalise_to_baseline(data: np.ndarray, times: np.ndarray, window: tuple[float, float], mode: str) -> np.ndarray:
    """Express epochs (n, channels, times) relative to each epoch's baseline window."""
    base = data[:, :, (times >= window[0]) & (times < window[1])]
    mean = base.mean(axis=2, keepdims=True)
    if mode == "logratio":
        return np.log10(np.maximum(data, 1e-30) / np.maximum(mean, 1e-30))
    if mode == "percent":
        return (data - mean) / mean
    if mode == "zscore":
        return (data - mean) / (base.std(axis=2, keepdims=True) + 1e-30)
    raise ValueError(f"unknown baseline mode {mode!r}; expected logratio, percent or zscore")


def high_gamma_envelope(raw, band: tuple[float, float], smooth_hz: float):
    """The band-passed signal's Hilbert amplitude, low-passed at ``smooth_hz`` (in place, returns raw)."""
    raw.filter(band[0], band[1], verbose="error")
    raw.apply_hilbert(envelope=True, verbose="error")
    raw.filter(None, smooth_hz, verbose="error")
    return raw


def preprocess_seeg(recording: Recording, cfg: dict) -> tuple[Responses, dict]:
    """sEEG -> responses (rows, bipolar channels x times of baseline-normalised high-gamma)."""
    import mne

    raw = recording.raw.copy().load_data(verbose="error")
    raw.pick(mne.pick_types(raw.info, seeg=True, ecog=True, exclude=[]))
    if not raw.ch_names:
        raise InputDataError(recording.path, "no sEEG or ECoG channels (channels.tsv type SEEG/ECOG)")
    report = {"n_contacts": len(raw.ch_names), "sfreq": raw.info["sfreq"]}
    names = list(raw.ch_names)
    detected = detect_bad_channels(raw.get_data(), names, cfg["bad_channel_z"]) if cfg["detect_bad_channels"] else []
    bads = sorted(set(raw.info["bads"]) | set(detected))
    report.update(bad_contacts=bads)
    raw.drop_channels(bads)
    line_freq = cfg["line_freq"] or raw.info["line_freq"]
    if line_freq:
        freqs = line_harmonics(line_freq, raw.info["sfreq"])
        raw.notch_filter(freqs, verbose="error")
        report["notch_hz"] = freqs.tolist()
    if cfg["reference"] == "bipolar":
        raw, regions = bipolar_reference(raw, recording.regions)
    else:
        regions = {name: (recording.regions or {}).get(name, "unknown") for name in raw.ch_names}
    report["n_channels"] = len(raw.ch_names)
    if cfg["regions"]:
        keep = [name for name in raw.ch_names if regions[name] in cfg["regions"]]
        if not keep:
            raise InputDataError(recording.path, f"no channel in preprocess.seeg.regions {cfg['regions']}; regions "
                                                 f"present: {sorted(set(regions.values()))}")
        raw.pick(keep)
        report["n_channels_in_regions"] = len(keep)
    high_gamma_envelope(raw, tuple(cfg["band"]), cfg["smooth_hz"])
    epochs, kept = _epochs(raw, recording.events, cfg, "all", None, None)
    report.update(n_events=len(recording.events), n_epochs=len(epochs))
    normalised = normalise_to_baseline(epochs.get_data(), epochs.times, (cfg["tmin"], 0.0), cfg["baseline_mode"])
    epochs = mne.EpochsArray(normalised, epochs.info, tmin=epochs.tmin, verbose="error")
    data, times = _resample_and_crop(epochs, cfg)
    return _sensor_responses(data, times, epochs.ch_names, kept, regions, cfg["average_repeats"]), report


def _to_response_grid(data: np.ndarray, times: np.ndarray, sfreq: float, cfg: dict, target_times: np.ndarray) -> np.ndarray:
    """Noise-free epochs (n, channels, times at ``sfreq``) resampled like the measured ones and
    read at the responses' time points."""
    import mne

    if cfg["sfreq"] and cfg["sfreq"] != sfreq:
        data = mne.filter.resample(data, up=cfg["sfreq"], down=sfreq, axis=-1, verbose="error")
        times = times[0] + np.arange(data.shape[-1]) / cfg["sfreq"]
    columns = [int(np.argmin(np.abs(times - t))) for t in target_times]
    return data[:, :, columns]


def noise_free_eeg(truth_path: Path, responses: Responses, cfg: dict) -> tuple[list[str], np.ndarray]:
    """The synthetic test stimuli's noise-free evoked responses, preprocessed like the measured
    ones (band-pass, average reference, baseline, resampling), as rows in the responses' columns."""
    import mne

    with np.load(truth_path, allow_pickle=False) as truth:
        evoked = np.einsum("ck,nk,kt->nct", truth["topographies"], truth["amplitudes"], truth["waveforms"])
        channels, times, sfreq = truth["channels"].astype(str).tolist(), truth["times"], float(truth["sfreq"])
        stim_ids = truth["stim_ids"].astype(str).tolist()
    evoked = mne.filter.filter_data(evoked, sfreq, cfg["l_freq"], cfg["h_freq"], verbose="error")
    evoked = evoked - evoked.mean(axis=1, keepdims=True)
    baseline = (times >= cfg["tmin"]) & (times < 0)
    evoked = evoked - evoked[:, :, baseline].mean(axis=2, keepdims=True)
    evoked = evoked[:, [channels.index(c) for c in responses.channels]]
    return stim_ids, _to_response_grid(evoked, times, sfreq, cfg, responses.times).reshape(len(evoked), -1)


def noise_free_seeg(truth_path: Path, responses: Responses, cfg: dict) -> tuple[list[str], np.ndarray]:
    """The synthetic test stimuli's noise-free high-gamma responses (bipolar amplitude of the
    contacts' modulated activity, normalised to baseline), as rows in the responses' columns."""
    with np.load(truth_path, allow_pickle=False) as truth:
        contacts = truth["channels"].astype(str).tolist()
        amplitude = truth["base_uv"][None, :, None] * np.exp(truth["log_gain"][:, :, None] * truth["bumps"][None])
        times, sfreq = truth["times"], float(truth["sfreq"])
        stim_ids = truth["stim_ids"].astype(str).tolist()
    if cfg["reference"] == "bipolar":
        pairs = [name.split("-") for name in responses.channels]
        envelope = np.sqrt(np.stack([amplitude[:, contacts.index(a)] ** 2 + amplitude[:, contacts.index(c)] ** 2
                                     for a, c in pairs], axis=1))
    else:
        envelope = amplitude[:, [contacts.index(c) for c in responses.channels]]
    window = (times >= cfg["tmin"] - 1e-9) & (times <= cfg["tmax"] + 1e-9)
    envelope, times = envelope[:, :, window], times[window]
    normalised = normalise_to_baseline(envelope, times, (cfg["tmin"], 0.0), cfg["baseline_mode"])
    return stim_ids, _to_response_grid(normalised, times, sfreq, cfg, responses.times).reshape(len(envelope), -1)


def noise_free_test_rows(responses: Responses, stim_ids: list[str], clean: np.ndarray) -> np.ndarray:
    """Noise-free responses of the test rows in the measured responses' units: an affine map per
    feature fitted on the training rows (see :func:`neurorecon.evaluate.ceiling.calibrate_to_measured`)."""
    from neurorecon.evaluate.ceiling import calibrate_to_measured

    index = {s: i for i, s in enumerate(stim_ids)}
    split = responses.trials["split"].to_numpy()
    ids = responses.trials["stim_id"].astype(str).to_numpy()
    return calibrate_to_measured(clean[[index[s] for s in ids[split == "train"]]], responses.values[split == "train"],
                                 clean[[index[s] for s in ids[split == "test"]]]).astype(np.float32)


def condition_averages(responses: Responses, stimuli: pd.DataFrame, column: str | None) -> dict[str, np.ndarray]:
    """Mean training epochs per condition (a stimulus-table column, or one 'all' condition), for
    the report's evoked-response figure: names, (conditions, channels, times) data, region per channel."""
    train = (responses.trials["split"] == "train").to_numpy()
    ids = responses.trials.loc[train, "stim_id"].astype(str)
    if column:
        if column not in stimuli.columns:
            raise KeyError(f"condition column {column!r} is not in the stimulus table (columns: {list(stimuli.columns)})")
        labels = ids.map(dict(zip(stimuli["stim_id"].astype(str), stimuli[column].astype(str)))).to_numpy()
    else:
        labels = np.full(len(ids), "all")
    epochs = responses.epochs(responses.values[train])
    names = sorted(set(labels))
    return {"conditions": np.asarray(names), "data": np.stack([epochs[labels == n].mean(axis=0) for n in names]),
            "channels": np.asarray(responses.channels), "times": responses.times,
            "regions": np.asarray(responses.channel_regions())}


def preprocess_subject(modality: str, bids_root: Path, subject: str, stimuli: pd.DataFrame, cfg: dict,
                       truth_path: Path | None = None, seed: int = 0) -> dict:
    """One EEG or sEEG subject: responses, the step report, the test rows' noise-free responses
    (synthetic data only, else None) and the per-condition averages."""
    if modality == "eeg":
        recording = load_recording(bids_root, subject, cfg["task"], "eeg", stimuli)
        responses, report = preprocess_eeg(recording, cfg, seed)
        noise_free = noise_free_eeg
    elif modality == "seeg":
        recording = load_recording(bids_root, subject, cfg["task"], "ieeg", stimuli, cfg["region_column"])
        responses, report = preprocess_seeg(recording, cfg)
        noise_free = noise_free_seeg
    else:
        raise ValueError(f"unknown modality {modality!r}; expected eeg or seeg")
    if not (responses.trials["split"] == "train").any() or not (responses.trials["split"] == "test").any():
        raise InputDataError(recording.path, "needs both training and test trials after rejection "
                                             f"(splits present: {sorted(set(responses.trials['split']))})")
    clean = None
    if truth_path is not None:
        clean = noise_free_test_rows(responses, *noise_free(truth_path, responses, cfg))
    return {"responses": responses, "report": report, "noise_free": clean,
            "conditions": condition_averages(responses, stimuli, cfg["conditions"])}
