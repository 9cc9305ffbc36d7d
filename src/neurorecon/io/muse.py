"""Muse headband recordings as saved by eeg-notebooks: CSV files with a timestamp column, the four
EEG channels (TP9, AF7, AF8, TP10), an auxiliary channel and a marker column (0 = none)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.io.inputs import InputDataError, numeric_columns

EEG_CHANNELS = ("TP9", "AF7", "AF8", "TP10")
MARKER = "Marker0"


def read_muse_csv(paths: list[Path], sfreq: float = 256.0):
    """The recordings concatenated as one MNE Raw (microvolts -> volts, 10-20 positions set) and
    the marker events as an (n, 3) MNE events array. The auxiliary and marker columns are not
    EEG and are never returned as channels (the marker would leak the label)."""
    import mne

    raws, events, offset = [], [], 0
    for path in sorted(Path(p) for p in paths):
        table = _read_recording(path)
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


def _read_recording(path: Path) -> pd.DataFrame:
    """One CSV, checked: the EEG and marker columns present, numeric and finite, integer markers."""
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(path, f"cannot read as CSV ({exc})") from exc
    missing = [c for c in (*EEG_CHANNELS, MARKER) if c not in table.columns]
    if missing:
        raise InputDataError(path, f"missing column(s) {missing}; expected a Muse recording with {EEG_CHANNELS} and {MARKER}")
    if len(table) == 0:
        raise InputDataError(path, "no samples; expected one row per sample")
    numeric_columns(table, path, (*EEG_CHANNELS, MARKER))
    if not np.all(table[MARKER] == np.round(table[MARKER])):
        raise InputDataError(path, f"column {MARKER!r} holds non-integer values; expected integer event codes (0 = none)")
    return table


def recording_files(folder: Path) -> list[Path]:
    """Every Muse CSV under ``folder`` (recursively), sorted."""
    files = sorted(Path(folder).rglob("*.csv"))
    if not files:
        raise InputDataError(Path(folder), "no .csv recordings found (expected eeg-notebooks Muse CSV files)")
    return files


def export_category_stimuli(stimuli_root: Path, categories: list[dict], out_root: Path, image_size: int,
                            test_every: int) -> Path:
    """Write each category folder's images as square PNGs and a stimulus table (stim_id, stim_file,
    split, category, caption); every ``test_every``-th image of a category is a test image."""
    from neurorecon.artifacts import write_text_atomic
    from neurorecon.stimuli.images import export_square_png

    folder = Path(out_root) / "stimuli"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for category in categories:
        source = Path(stimuli_root) / category["folder"]
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")) if source.is_dir() else []
        if not files:
            raise InputDataError(source, f"no images for category {category['folder']!r}")
        for index, path in enumerate(files):
            stim_id = f"{category['folder']}_{path.stem}"
            export_square_png(path, folder / f"{stim_id}.png", image_size)
            rows.append({"stim_id": stim_id, "stim_file": f"stimuli/{stim_id}.png",
                         "split": "test" if index % test_every == test_every - 1 else "train",
                         "category": category["folder"], "caption": category["caption"]})
    tsv = folder / "stimuli.tsv"
    write_text_atomic(tsv, pd.DataFrame(rows).to_csv(sep="\t", index=False))
    return tsv
