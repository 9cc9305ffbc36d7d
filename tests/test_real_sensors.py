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
