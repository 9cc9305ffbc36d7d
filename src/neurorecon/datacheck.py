"""Checks of the configured data before the DAG is built: paths, subjects, sessions and runs that
exist, event files with trials, a stimulus table that covers them.

Snakemake does not rebuild a file that is present when the job that made it lost its inputs, so a
config whose data root is wrong could otherwise answer "Nothing to be done" over an earlier run's
results, or fail later on a file name the user never wrote. Each problem here is one line naming
the setting and the path, and listing what is there instead. The checks read directory listings and
the small text tables only; the readers check the contents of the big files when they run.
"""

from __future__ import annotations

import csv
from pathlib import Path


def _present(folder: Path, prefix: str) -> list[str]:
    """Labels of the ``<prefix>-<label>`` entries of a folder."""
    return sorted(p.name[len(prefix) + 1:] for p in folder.glob(f"{prefix}-*") if p.is_dir())


def _listing(values: list[str]) -> str:
    return ", ".join(values[:20]) + (f" and {len(values) - 20} more" if len(values) > 20 else "") if values else "none"


def _table_column(path: Path, column: str) -> tuple[list[str] | None, str | None]:
    """The values of one column of a tab-separated table, or a problem."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
    except (OSError, UnicodeDecodeError) as error:
        return None, f"cannot be read ({error})"
    if not rows:
        return None, "is empty; expected a header row"
    if column not in rows[0]:
        return None, f"has no {column!r} column (columns: {', '.join(rows[0])})"
    index = rows[0].index(column)
    return [row[index] for row in rows[1:] if len(row) > index and row[index] != ""], None


def _root(setting: str, value: str, kind: str = "folder") -> tuple[Path | None, list[str]]:
    path = Path(value).expanduser()
    exists = path.is_dir() if kind == "folder" else path.is_file()
    if not exists:
        what = "does not exist" if not path.exists() else f"is not a {kind}"
        return None, [f"{setting}: {path} {what}"]
    return path, []


def check_bids(config: dict) -> list[str]:
    """A BIDS root with fMRIPrep-style derivatives: subjects, runs of the task, events, stimuli."""
    bids, fmri = config["data"]["bids"], config["preprocess"]["fmri"]
    root, problems = _root("data.bids.root", bids["root"])
    if root is None:
        return problems
    stimuli_path = root / "stimuli" / "stimuli.tsv"
    stim_ids = None
    if not stimuli_path.is_file():
        problems.append(f"data.bids.root: {stimuli_path} not found; expected the stimulus table (stim_id, split, stim_file)")
    else:
        stim_ids, problem = _table_column(stimuli_path, "stim_id")
        if problem:
            problems.append(f"data.bids.root: {stimuli_path} {problem}")
        elif not stim_ids:
            problems.append(f"data.bids.root: {stimuli_path} has no rows; expected one row per stimulus")
    present = _present(root, "sub")
    missing = [s for s in bids["subjects"] if s not in present]
    if missing:
        problems.append(f"data.bids.subjects: {_listing(missing)} not in {root} (subjects there: {_listing(present)})")
    task = fmri["task"]
    for subject in bids["subjects"]:
        if subject in missing:
            continue
        func = root / f"sub-{subject}" / "func"
        bolds = sorted(func.glob(f"sub-{subject}_task-{task}_run-*_bold.nii.gz"))
        if not bolds:
            tasks = sorted({p.name.split("_task-")[1].split("_")[0] for p in func.glob(f"sub-{subject}_task-*_bold.nii.gz")})
            problems.append(f"preprocess.fmri.task: no runs of task {task!r} for sub-{subject} in {func} "
                            f"(tasks there: {_listing(tasks)})")
            continue
        deriv = root / "derivatives" / fmri["derivatives"] / f"sub-{subject}"
        mask = deriv / "anat" / f"sub-{subject}_desc-brain_mask.nii.gz"
        if not mask.is_file():
            problems.append(f"preprocess.fmri.derivatives: {mask} not found; expected the brain mask")
        for bold in bolds:
            prefix = bold.name[: -len("_bold.nii.gz")]
            problems += _check_events(func / f"{prefix}_events.tsv", stim_ids, stimuli_path)
            confounds = deriv / "func" / f"{prefix}_desc-confounds_timeseries.tsv"
            if fmri["confounds"] and not confounds.is_file():
                problems.append(f"preprocess.fmri.confounds: {confounds} not found, but confound columns are listed "
                                "(set confounds: [] to fit without them)")
    for modality, folder in (("eeg", "eeg"), ("seeg", "ieeg")):
        for subject in bids.get(f"{modality}_subjects", []):
            if not (root / f"sub-{subject}" / folder).is_dir():
                problems.append(f"data.bids.{modality}_subjects: {root / f'sub-{subject}' / folder} not found "
                                f"(subjects there: {_listing(present)})")
    return problems


def _check_events(path: Path, stim_ids: list[str] | None, stimuli_path: Path) -> list[str]:
    if not path.is_file():
        return [f"data.bids.root: {path} not found; expected the run's events (onset, duration, stim_id)"]
    values, problem = _table_column(path, "stim_id")
    if problem:
        return [f"data.bids.root: {path} {problem}"]
    if not values:
        return [f"data.bids.root: {path} has no trials; expected one row per stimulus presentation"]
    if stim_ids is not None:
        unknown = sorted(set(values) - set(stim_ids))
        if unknown:
            return [f"data.bids.root: {path} has stim_id(s) {_listing(unknown)} that {stimuli_path} does not list"]
    return []


def check_nsd(config: dict) -> list[str]:
    """NSD's own layout: design, stimuli, and per subject the ROI and every session's betas."""
    from neurorecon.io.nsd import COCO_SPLITS, EXPDESIGN, STIM_INFO, STIMULI_HDF5, betas_path, roi_path, subject_folder

    nsd = config["data"]["nsd"]
    root, problems = _root("data.nsd.root", nsd["root"])
    if root is None:
        return problems
    for relative in (EXPDESIGN, STIMULI_HDF5, *([STIM_INFO] if nsd["captions"] else [])):
        if not (root / relative).is_file():
            problems.append(f"data.nsd.root: {root / relative} not found")
    if nsd["captions"]:
        for split in COCO_SPLITS:
            if not (Path(nsd["captions"]) / f"captions_{split}.json").is_file():
                problems.append(f"data.nsd.captions: {Path(nsd['captions']) / f'captions_{split}.json'} not found")
    for subject in nsd["subjects"]:
        roi = roi_path(root, subject, nsd["roi"], nsd["space"])
        if not roi.is_file():
            problems.append(f"data.nsd.roi: {roi} not found")
        folder = betas_path(root, subject, 1, nsd["betas"], nsd["space"]).parent
        if not folder.is_dir():
            problems.append(f"data.nsd.subjects: {folder} not found (data.nsd.betas {nsd['betas']!r}, "
                            f"space {nsd['space']!r}, subject {subject_folder(subject)})")
            continue
        missing = [s for s in nsd["sessions"] if not betas_path(root, subject, s, nsd["betas"], nsd["space"]).is_file()]
        if missing:
            there = sorted(int(p.name[len("betas_session"):][:2]) for p in folder.glob("betas_session??.nii.gz"))
            problems.append(f"data.nsd.sessions: {_listing([str(s) for s in missing])} have no betas in {folder} "
                            f"for {subject_folder(subject)} (sessions there: {_listing([str(s) for s in there])})")
    return problems


def check_things_eeg2(config: dict) -> list[str]:
    """THINGS-EEG2's release layout: image metadata and each subject's two EEG files."""
    things = config["data"]["things-eeg2"]
    root, problems = _root("data.things-eeg2.root", things["root"])
    if root is None:
        return problems
    metadata = root / "image_set" / "image_metadata.npy"
    if not metadata.is_file():
        problems.append(f"data.things-eeg2.root: {metadata} not found")
    present = _present(root / "preprocessed_data", "sub")
    for subject in things["subjects"]:
        folder = root / "preprocessed_data" / f"sub-{subject:02d}"
        for part in ("training", "test"):
            if not (folder / f"preprocessed_eeg_{part}.npy").is_file():
                problems.append(f"data.things-eeg2.subjects: {folder / f'preprocessed_eeg_{part}.npy'} not found "
                                f"(subjects there: {_listing(present)})")
    return problems


def check_muse(config: dict) -> list[str]:
    """Muse recordings (CSV files somewhere under a folder) and one image folder per category."""
    muse = config["data"]["muse"]
    recordings, problems = _root("data.muse.recordings", muse["recordings"])
    if recordings is not None and not any(recordings.rglob("*.csv")):
        problems.append(f"data.muse.recordings: no .csv files under {recordings}")
    stimuli, more = _root("data.muse.stimuli", muse["stimuli"])
    problems += more
    if stimuli is not None:
        for category in muse["categories"]:
            folder = stimuli / category["folder"]
            if not folder.is_dir() or not any(p.is_file() for p in folder.iterdir()):
                there = sorted(p.name for p in stimuli.iterdir() if p.is_dir())
                problems.append(f"data.muse.categories: image folder {folder} of marker {category['marker']} "
                                f"is missing or empty (folders there: {_listing(there)})")
    return problems


def check_miyawaki(config: dict) -> list[str]:
    return _root("data.miyawaki.file", config["data"]["miyawaki"]["file"], kind="file")[1]


def check_cc2017(config: dict) -> list[str]:
    """A CC2017 folder as NeuroClips distributes it: both frame files and each subject's two fMRI files."""
    cc2017 = config["data"]["cc2017"]
    root, problems = _root("data.cc2017.root", cc2017["root"])
    if root is None:
        return problems
    present = sorted(p.name for p in root.glob("*.pt"))
    wanted = [f"GT_{split}_3fps.pt" for split in ("train", "test")]
    wanted += [f"subj{subject:02d}_{split}_fmri.pt" for subject in cc2017["subjects"] for split in ("train", "test")]
    for name in wanted:
        if not (root / name).is_file():
            setting = "data.cc2017.subjects" if name.startswith("subj") else "data.cc2017.root"
            problems.append(f"{setting}: {root / name} not found (.pt files there: {_listing(present)})")
    return problems


def check_fmri_shape(config: dict) -> list[str]:
    """An fMRI-Shape folder as released: both split lists and each subject's npy_data folder, plus the
    views, meshes, points and region map the config names."""
    shape = config["data"]["fmri-shape"]
    root, problems = _root("data.fmri-shape.root", shape["root"])
    if root is None:
        return problems
    for name in ("core_train_list.txt", "core_test_list.txt"):
        if not (root / name).is_file():
            listed = sorted(p.name for p in root.glob("*.txt"))
            problems.append(f"data.fmri-shape.root: {root / name} not found (.txt files there: {_listing(listed)})")
    present = sorted(p.name for p in root.glob("sub-*") if p.is_dir())
    for subject in shape["subjects"]:
        if not (root / f"sub-{subject:04d}" / "npy_data").is_dir():
            problems.append(f"data.fmri-shape.subjects: {root / f'sub-{subject:04d}' / 'npy_data'} not found "
                            f"(subject folders there: {_listing(present)})")
    views = shape["views"] or str(root / "views")
    problems += _root("data.fmri-shape.views", views)[1]
    for key, kind in (("meshes", "folder"), ("points", "folder"), ("regions", "file")):
        if shape[key]:
            problems += _root(f"data.fmri-shape.{key}", shape[key], kind=kind)[1]
    return problems


CHECKS = {"cc2017": check_cc2017, "fmri-shape": check_fmri_shape, "bids": check_bids, "nsd": check_nsd, "things-eeg2": check_things_eeg2, "muse": check_muse,
          "miyawaki": check_miyawaki}


def check_data(config: dict) -> list[str]:
    """Every problem with the configured data source that can be seen without reading big files."""
    check = CHECKS.get(config["data"]["source"])
    return check(config) if check else []
