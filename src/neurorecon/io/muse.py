"""Muse headband recordings as saved by eeg-notebooks: CSV files with a timestamp column, the four
EEG channels (TP9, AF7, AF8, TP10), an auxiliary channel and a marker column (0 = none)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.io.inputs import InputDataError

EEG_CHANNELS = ("TP9", "AF7", "AF8", "TP10")
MARKER = "Marker0"


def read_muse_csv(paths: list[Path], sfreq: float = 256.0):
    """The recordings concatenated as one MNE Raw (microvolts -> volts, 10-20 positions set) and
    the marker events as an (n, 3) MNE events array. The auxiliary and marker columns are not
    EEG and are never returned as channels (the marker would leak the label)."""
    import mne

    raws, events, offset = [], [], 0
    for path in sorted(Path(p) for p in paths):
        try:
            table = pd.read_csv(path)
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputDataError(path, f"cannot read as CSV ({exc})") from exc
        missing = [c for c in (*EEG_CHANNELS, MARKER) if c not in table.columns]
        if missing:
            raise InputDataError(path, f"missing column(s) {missing}; expected a Muse recording with {EEG_CHANNELS} and {MARKER}")
        info = mne.create_info(list(EEG_CHANNELS), sfreq, "eeg")
        raws.append(mne.io.RawArray(table[list(EEG_CHANNELS)].to_numpy().T * 1e-6, info, verbose="error"))
        markers = table[MARKER].to_numpy()
        onsets = np.flatnonzero(markers != 0)
        events.append(np.column_stack([onsets + offset, np.zeros(len(onsets), int), markers[onsets].astype(int)]))
        offset += len(table)
    if not raws:
        raise InputDataError(Path("."), "no Muse CSV files given")
    raw = mne.concatenate_raws(raws, verbose="error")
    raw.set_montage("standard_1005", verbose="error")
    return raw, np.concatenate(events)
