"""THINGS-EEG2 (Gifford et al. 2022) in its preprocessed release layout:

```
<root>/image_set/image_metadata.npy              dict: train_img_files, train_img_concepts,
                                                 test_img_files, test_img_concepts
<root>/image_set/training_images/<concept>/<file>
<root>/image_set/test_images/<concept>/<file>
<root>/preprocessed_data/sub-XX/preprocessed_eeg_training.npy   dict: preprocessed_eeg_data
                                                 (images, repetitions, channels, times), ch_names, times
<root>/preprocessed_data/sub-XX/preprocessed_eeg_test.npy
```

The .npy files are pickled dicts. They are read with an unpickler that only rebuilds numpy
arrays, dtypes, lists, dicts and strings: anything else in the file is refused, so a tampered
file cannot run code. Test concepts never occur in training (zero-shot), as in the release.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from neurorecon.io.inputs import InputDataError
from neurorecon.preprocess.sensors import epoch_rows, region_labels, scalp_region
from neurorecon.responses import Responses

SPLIT_FILES = {"train": "training", "test": "test"}
METADATA_KEYS = ("train_img_files", "train_img_concepts", "test_img_files", "test_img_concepts")
EEG_KEYS = ("preprocessed_eeg_data", "ch_names", "times")
# the only globals a pickled dict of numpy arrays needs
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "str"), ("_codecs", "encode"),
}


class ArraysOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and plain containers; refuses every other class or function."""

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: only numpy arrays and plain containers are read")
        return super().find_class(module, name)


def load_pickled_dict(path: Path, required: tuple[str, ...]) -> dict:
    """A dict saved with ``np.save`` (a pickled object array), read without running foreign code."""
    path = Path(path)
    if not path.exists():
        raise InputDataError(path, "file not found")
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(handle)
            if header[2] != np.dtype(object):
                raise InputDataError(path, f"expected a saved dict (object array), found dtype {header[2]}")
            value = ArraysOnlyUnpickler(io.BytesIO(handle.read())).load()
    except (pickle.UnpicklingError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputDataError(path, f"cannot read as a THINGS-EEG2 .npy dict ({exc})") from exc
    if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
        value = value.item()
    if not isinstance(value, dict):
        raise InputDataError(path, f"expected a dict, found {type(value).__name__}")
    missing = [key for key in required if key not in value]
    if missing:
        raise InputDataError(path, f"missing key(s) {missing}; found {sorted(value)}")
    return value


def stimulus_table(root: Path) -> pd.DataFrame:
    """One row per image: stim_id (file stem), split, concept, caption, source (path under root)."""
    metadata_path = Path(root) / "image_set" / "image_metadata.npy"
    metadata = load_pickled_dict(metadata_path, METADATA_KEYS)
    rows = []
    for split, folder in (("train", "training_images"), ("test", "test_images")):
        files, concepts = metadata[f"{split}_img_files"], metadata[f"{split}_img_concepts"]
        if len(files) != len(concepts):
            raise InputDataError(metadata_path, f"{split}_img_files has {len(files)} entries but "
                                                f"{split}_img_concepts has {len(concepts)}")
        for file, concept in zip(files, concepts):
            name = str(concept).split("_", 1)[-1].replace("_", " ")
            rows.append({"stim_id": Path(str(file)).stem, "split": split, "concept": str(concept),
                         "caption": f"a photo of a {name}", "source": f"image_set/{folder}/{concept}/{file}"})
    table = pd.DataFrame(rows)
    duplicated = table["stim_id"][table["stim_id"].duplicated()].tolist()
    if duplicated:
        raise InputDataError(metadata_path, f"image file names must be unique; repeated: {duplicated[:5]}")
    shared = set(table.loc[table["split"] == "train", "concept"]) & set(table.loc[table["split"] == "test", "concept"])
    if shared:
        raise InputDataError(metadata_path, f"test concepts {sorted(shared)[:5]} also occur in training; the release "
                                            "keeps them apart (zero-shot)")
    return table


def subject_responses(root: Path, subject: int, stimuli: pd.DataFrame, average_repeats: str) -> Responses:
    """One subject's preprocessed EEG as the responses contract (channels x times features)."""
    folder = Path(root) / "preprocessed_data" / f"sub-{subject:02d}"
    epochs, events, channels, times = [], [], None, None
    for split, name in SPLIT_FILES.items():
        path = folder / f"preprocessed_eeg_{name}.npy"
        data = load_pickled_dict(path, EEG_KEYS)
        try:
            eeg = np.asarray(data["preprocessed_eeg_data"], dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InputDataError(path, f"preprocessed_eeg_data is not numeric ({exc})") from exc
        if not np.isfinite(eeg).all():
            raise InputDataError(path, f"preprocessed_eeg_data holds {int((~np.isfinite(eeg)).sum())} NaN or infinite values")
        ids = stimuli.loc[stimuli["split"] == split, "stim_id"].tolist()
        if eeg.ndim != 4 or eeg.shape[0] != len(ids):
            raise InputDataError(path, f"preprocessed_eeg_data has shape {eeg.shape}; expected (images={len(ids)}, "
                                       "repetitions, channels, times) in image_metadata's order")
        names, split_times = [str(c) for c in data["ch_names"]], np.asarray(data["times"], dtype=float)
        if eeg.shape[2:] != (len(names), len(split_times)):
            raise InputDataError(path, f"data has {eeg.shape[2]} channels x {eeg.shape[3]} times but ch_names has "
                                       f"{len(names)} and times {len(split_times)}")
        if channels is not None and (names != channels or not np.allclose(split_times, times)):
            raise InputDataError(path, "channels or times differ from the training file's")
        channels, times = names, split_times
        repeats = eeg.shape[1]
        epochs.append(eeg.reshape(-1, len(names), len(split_times)))
        events.append(pd.DataFrame({"stim_id": np.repeat(ids, repeats), "split": split}))
    rows, trials = epoch_rows(np.concatenate(epochs), pd.concat(events, ignore_index=True), average_repeats)
    roi, roi_names = region_labels(channels, {c: scalp_region(c) for c in channels}, len(times))
    return Responses(values=rows.reshape(len(rows), -1), trials=trials, roi=roi, roi_names=roi_names,
                     voxel_ijk=np.zeros((0, 3), int), channels=channels, times=times)


def export_stimuli(root: Path, table: pd.DataFrame, out_root: Path, image_size: int) -> Path:
    """Write every image as a square RGB PNG under ``out_root/stimuli/`` and the stimulus table
    (stim_id, stim_file, split, concept, caption); returns the table's path."""
    from neurorecon.artifacts import write_text_atomic
    from neurorecon.stimuli.images import export_square_png

    folder = Path(out_root) / "stimuli"
    folder.mkdir(parents=True, exist_ok=True)
    for stim_id, source in zip(table["stim_id"], table["source"]):
        export_square_png(Path(root) / source, folder / f"{stim_id}.png", image_size)
    out = table.assign(stim_file=[f"stimuli/{s}.png" for s in table["stim_id"]])
    tsv = folder / "stimuli.tsv"
    write_text_atomic(tsv, out[["stim_id", "stim_file", "split", "concept", "caption"]].to_csv(sep="\t", index=False))
    return tsv
