"""Sensor preprocessing on real recordings from ../shared/data: properties real data must show."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from conftest import SHARED_DATA
from neurorecon.preprocess.sensors import bipolar_pairs, bipolar_reference

pytestmark = pytest.mark.realdata
N170 = SHARED_DATA / "eeg" / "n170-muse" / "recordings" / "subject1" / "session1"
SEEG = SHARED_DATA / "ieeg" / "seeg-sample" / "sample_seeg.edf"
EEGLAB = SHARED_DATA / "eeg" / "eeglab-sample" / "test_raw.set"
ECOG = SHARED_DATA / "ieeg" / "ecog-sample" / "sample_ecog.edf"


@pytest.mark.skipif(not SEEG.exists(), reason="shared sEEG sample not present")
def test_seeg_bipolar_channels_per_shaft_are_contacts_minus_one():
    import mne

    raw = mne.io.read_raw_edf(SEEG, preload=True, verbose="error")
    raw.set_channel_types({name: "seeg" for name in raw.ch_names}, verbose="error")
    bipolar, regions = bipolar_reference(raw, None)
    shafts = {}
    for name in raw.ch_names:
        shafts.setdefault(name.rstrip("0123456789"), []).append(int(name[len(name.rstrip("0123456789")):]))
    for shaft, numbers in shafts.items():
        contiguous = sorted(numbers) == list(range(min(numbers), max(numbers) + 1))
        pairs = [c for c in bipolar.ch_names if c.startswith(shaft) and c.split("-")[0].rstrip("0123456789") == shaft]
        if contiguous:
            assert len(pairs) == len(numbers) - 1, shaft
    assert len(bipolar.ch_names) == len(bipolar_pairs(raw.ch_names)) and set(regions.values()) == {"unknown"}


@pytest.mark.skipif(not N170.exists(), reason="shared N170 recording not present")
def test_n170_is_face_specific():
    import mne

    from neurorecon.io.muse import read_muse_csv

    raw, events = read_muse_csv(sorted(N170.glob("*.csv")))
    assert raw.ch_names == ["TP9", "AF7", "AF8", "TP10"]        # never the marker or auxiliary channel
    raw.filter(1, 30, verbose="error")
    epochs = mne.Epochs(raw, events, {"house": 1, "face": 2}, -0.1, 0.8, baseline=(None, 0),
                        reject={"eeg": 75e-6}, preload=True, verbose="error")
    assert 1050 < len(epochs) < 1174                          # the dataset's README: 1113 epochs kept
    times = epochs.times
    faces = epochs["face"].get_data(picks=["TP9", "TP10"]).mean(1) * 1e6
    houses = epochs["house"].get_data(picks=["TP9", "TP10"]).mean(1) * 1e6
    window = (times >= 0.1) & (times <= 0.3)
    peak = times[window][np.argmin(faces.mean(0)[window])]
    # the face N170 at the temporal electrodes (here 215 ms: Muse's TP sites against an Fpz reference
    # put it a little later than the 130-200 ms of cap recordings)
    assert 0.13 <= peak <= 0.23
    around = np.abs(times - peak) <= 0.02
    result = stats.ttest_ind(faces[:, around].mean(1), houses[:, around].mean(1))
    assert result.statistic < 0 and result.pvalue < 0.01          # more negative for faces than houses


def _mains_ratio(raw, line_freq: float) -> float:
    """Power at the line frequency over that 3-8 Hz either side, mean over channels."""
    spectrum = raw.compute_psd(fmin=line_freq - 10, fmax=line_freq + 10, verbose="error")
    freqs, power = spectrum.freqs, spectrum.get_data().mean(0)
    near = (np.abs(freqs - line_freq) > 3) & (np.abs(freqs - line_freq) < 8)
    return power[np.abs(freqs - line_freq) < 0.7].max() / power[near].mean()


@pytest.mark.skipif(not EEGLAB.exists(), reason="shared EEGLAB sample not present")
def test_eeglab_recording_filters_references_and_epochs():
    import mne

    from neurorecon.preprocess.sensors import detect_bad_channels

    raw = mne.io.read_raw_eeglab(EEGLAB, preload=True, verbose="error")
    assert len(raw.ch_names) == 32 and raw.info["sfreq"] == 128
    raw.filter(1.0, 40.0, verbose="error")
    assert detect_bad_channels(raw.get_data(), raw.ch_names, 6.0) == []   # a clean recording: nothing flagged
    raw.set_eeg_reference("average", projection=False, verbose="error")
    assert np.abs(raw.get_data().mean(axis=0)).max() < 1e-12               # average reference: channels sum to zero
    events, event_id = mne.events_from_annotations(raw, verbose="error")
    epochs = mne.Epochs(raw, events, {"square": event_id["square"]}, -0.2, 0.6, baseline=(None, 0), preload=True,
                        verbose="error")
    assert len(epochs) > 50
    baseline = epochs.get_data()[:, :, epochs.times <= 0].mean(axis=2)
    assert np.abs(baseline).max() < 1e-12                                   # baseline-corrected


@pytest.mark.skipif(not ECOG.exists(), reason="shared ECoG sample not present")
def test_ecog_notch_removes_mains_and_high_gamma_envelope_is_smooth():
    import mne

    from neurorecon.preprocess.sensors import high_gamma_envelope, line_harmonics

    raw = mne.io.read_raw_edf(ECOG, preload=True, verbose="error")
    raw.set_channel_types({name: "ecog" for name in raw.ch_names}, verbose="error")
    before = _mains_ratio(raw, 60)
    assert before > 1000                                      # this recording carries strong 60 Hz mains
    raw.notch_filter(line_harmonics(60, raw.info["sfreq"]), verbose="error")
    assert before / _mains_ratio(raw, 60) > 100               # the notch removes more than 99% of its power
    envelope = high_gamma_envelope(raw.copy().crop(0, 10), (70.0, 150.0), 20.0).get_data()
    assert envelope.shape[0] == 78 and np.median(envelope) > 0
    spectrum = np.abs(np.fft.rfft(envelope - envelope.mean(axis=1, keepdims=True), axis=1)).mean(0)
    freqs = np.fft.rfftfreq(envelope.shape[1], 1 / raw.info["sfreq"])
    assert spectrum[freqs > 40].mean() < 0.1 * spectrum[(freqs > 0.5) & (freqs < 10)].mean()   # low-passed at 20 Hz
