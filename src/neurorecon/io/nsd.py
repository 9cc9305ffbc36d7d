"""Natural Scenes Dataset (Allen et al. 2022) ingestion from its own on-disk layout.

Reads precomputed single-trial betas instead of running a GLM:

```
<root>/nsddata/experiments/nsd/nsd_expdesign.mat          masterordering, subjectim, sharedix (1-based)
<root>/nsddata/ppdata/subjXX/func1pt8mm/roi/nsdgeneral.nii.gz   -1 outside the brain, 0, 1 in the ROI
<root>/nsddata_betas/ppdata/subjXX/func1pt8mm/<betas>/betas_sessionNN.nii.gz   int16, 750 trials, x300
<root>/nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5       imgBrick: (73000, 425, 425, 3) uint8
<root>/nsddata/experiments/nsd/nsd_stim_info_merged.csv  nsdId (0-based), cocoId, cocoSplit per image
<captions>/captions_{train,val}2017.json                   COCO's captions (optional: data.nsd.captions)
```

Trial t of a subject shows image ``subjectim[subject, masterordering[t]]`` (both 1-based); the
test split is the shared images (``sharedix``), as in MindEye2. Betas are percent signal change
times 300 (NSD data manual), z-scored per session and voxel as MindEye and brain-diffuser do, and
test repeats are averaged. The result is the same :class:`Responses` contract the fMRI GLM writes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from nibabel.openers import ImageOpener

from neurorecon.evaluate.ceiling import ncsnr_from_moments
from neurorecon.io.inputs import (
    NIFTI_READ_ERRORS, InputDataError, check_finite_timeseries, check_same_grid, load_nifti, load_nifti_header,
)
from neurorecon.preprocess.fmri import zscore_rows_within
from neurorecon.responses import Responses, RowAverager, row_plan

TRIALS_PER_SESSION = 750
BETA_SCALE = 300.0
EXPDESIGN = Path("nsddata/experiments/nsd/nsd_expdesign.mat")
STIMULI_HDF5 = Path("nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5")
STIM_INFO = Path("nsddata/experiments/nsd/nsd_stim_info_merged.csv")
COCO_SPLITS = ("train2017", "val2017")


def subject_folder(subject: int) -> str:
    return f"subj{subject:02d}"


def roi_path(root: Path, subject: int, roi: str = "nsdgeneral", space: str = "func1pt8mm") -> Path:
    return Path(root) / "nsddata" / "ppdata" / subject_folder(subject) / space / "roi" / f"{roi}.nii.gz"


def betas_path(root: Path, subject: int, session: int, betas: str = "betas_fithrf_GLMdenoise_RR",
               space: str = "func1pt8mm") -> Path:
    return (Path(root) / "nsddata_betas" / "ppdata" / subject_folder(subject) / space / betas
            / f"betas_session{session:02d}.nii.gz")


def read_expdesign(root: Path) -> dict[str, np.ndarray]:
    """masterordering, subjectim and sharedix from nsd_expdesign.mat, converted to 0-based indices."""
    from scipy.io import loadmat

    path = Path(root) / EXPDESIGN
    if not path.is_file():
        raise InputDataError(path, "file not found; expected NSD's experimental design")
    try:
        design = loadmat(path)
    except (ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise InputDataError(path, f"cannot read as a MATLAB .mat file ({exc})") from exc
    missing = [key for key in ("masterordering", "subjectim", "sharedix") if key not in design]
    if missing:
        raise InputDataError(path, f"missing variable(s) {missing}")
    return {
        "masterordering": design["masterordering"].ravel().astype(int) - 1,
        "subjectim": design["subjectim"].astype(int) - 1,
        "sharedix": design["sharedix"].ravel().astype(int) - 1,
    }


def trial_table(design: dict[str, np.ndarray], subject: int, sessions: list[int]) -> pd.DataFrame:
    """One row per trial of the given sessions: session, trial in session, 73k image id, split."""
    rows = []
    shared = set(design["sharedix"].tolist())
    for session in sessions:
        start = (session - 1) * TRIALS_PER_SESSION
        order = design["masterordering"][start:start + TRIALS_PER_SESSION]
        if len(order) < TRIALS_PER_SESSION:
            raise InputDataError(EXPDESIGN, f"masterordering has no trials for session {session}")
        nsd_ids = design["subjectim"][subject - 1, order]
        rows.append(pd.DataFrame({
            "run": session, "trial": np.arange(TRIALS_PER_SESSION), "nsd_id": nsd_ids,
            "stim_id": [f"nsd{i + 1:05d}" for i in nsd_ids],
            "split": ["test" if i in shared else "train" for i in nsd_ids],
        }))
    return pd.concat(rows, ignore_index=True)


def read_session_betas(path: Path, mask: np.ndarray, mask_img, mask_file: Path) -> np.ndarray:
    """One session's betas inside the mask (trials x voxels, float32, percent signal change).

    Streams the file one trial volume at a time (NIfTI stores trials slowest) and keeps only the
    mask's voxels, so a 1.8 mm session (1.05 GB of int16; nibabel holds it twice while reading, and
    as 8 GB of float64 if the header scales it) costs one volume of memory. The header's scaling
    and NSD's factor of 300 are applied to the masked values.
    """
    image = load_nifti_header(path)
    check_same_grid(image, path, mask_img, mask_file)
    if len(image.shape) != 4:
        raise InputDataError(path, f"expected a 4D image (x, y, z, trials), got shape {image.shape}")
    if image.shape[3] != TRIALS_PER_SESSION:
        raise InputDataError(path, f"{image.shape[3]} trials; expected {TRIALS_PER_SESSION} per NSD session")
    header = image.header
    dtype = header.get_data_dtype()
    grid = image.shape[:3]
    volume_bytes = int(np.prod(grid)) * dtype.itemsize
    # the mask's voxels in numpy's (C) order, as positions in a volume stored x-fastest (Fortran order)
    positions = np.ravel_multi_index(np.nonzero(mask), grid, order="F")
    values = np.empty((image.shape[3], len(positions)), dtype=np.float32)
    try:
        with ImageOpener(path) as handle:
            handle.seek(int(image.dataobj.offset))
            for trial in range(image.shape[3]):
                volume = handle.read(volume_bytes)
                if len(volume) < volume_bytes:
                    raise InputDataError(path, f"ends inside trial {trial + 1} of {image.shape[3]}; the file is truncated")
                values[trial] = np.frombuffer(volume, dtype=dtype)[positions]
    except NIFTI_READ_ERRORS as exc:
        raise InputDataError(path, f"cannot read as NIfTI ({exc}); the file may be truncated or corrupt") from exc
    slope, inter = image.dataobj.slope, image.dataobj.inter
    if slope != 1 or inter != 0:
        values = values * np.float32(slope) + np.float32(inter)
    values /= np.float32(BETA_SCALE)
    check_finite_timeseries(values, path)
    return values


def load_nsd_subject(root: Path, subject: int, sessions: list[int], cfg: dict, progress=None) -> tuple[Responses, pd.DataFrame]:
    """Single-trial responses of one NSD subject inside an ROI, and the per-trial table.

    ``cfg`` keys: ``betas`` (e.g. betas_fithrf_GLMdenoise_RR), ``roi`` (e.g. nsdgeneral), ``space``
    (func1pt8mm), ``zscore`` (session | none), ``average_test_repeats``. Sessions are read one at a
    time and summed straight into the output rows (``RowAverager``), so memory holds the output,
    one session's file and little else, however many sessions there are (benchmarks/nsd_scale.py).
    """
    root = Path(root)
    design = read_expdesign(root)
    trials = trial_table(design, subject, sessions)
    mask_file = roi_path(root, subject, cfg["roi"], cfg["space"])
    mask_img = load_nifti(mask_file, ndim=3)
    mask = np.asarray(mask_img.dataobj) > 0
    if not mask.any():
        raise InputDataError(mask_file, "ROI has no voxel > 0")
    table, rows = row_plan(trials, cfg["average_test_repeats"])
    averager = RowAverager(len(table), int(mask.sum()), np.float32)
    moments = RepeatMoments(table["n_repeats"].to_numpy(), int(mask.sum()))
    for index, session in enumerate((progress or (lambda x: x))(sessions)):
        values = read_session_betas(betas_path(root, subject, session, cfg["betas"], cfg["space"]),
                                    mask, mask_img, mask_file)
        if cfg["zscore"] == "session":
            values = zscore_rows_within(values, np.zeros(len(values), int)).astype(np.float32)
        session_rows = rows[index * TRIALS_PER_SESSION:(index + 1) * TRIALS_PER_SESSION]
        averager.add(values, session_rows)
        moments.add(values, session_rows)
    snr = moments.ncsnr(averager)
    responses = Responses(values=averager.result(), trials=table, roi=np.ones(int(mask.sum()), int),
                          roi_names={1: cfg["roi"]}, voxel_ijk=np.argwhere(mask), ncsnr=snr, affine=mask_img.affine)
    return responses, trials


class RepeatMoments:
    """The running sums NSD's ncsnr needs, gathered while sessions stream past: over all trials, and
    the squares of the trials of each averaged (repeated) row; the rows' plain sums are the averager's."""

    def __init__(self, n_repeats: np.ndarray, n_voxels: int):
        self.repeated = np.flatnonzero(n_repeats >= 2)
        self.slot = {row: k for k, row in enumerate(self.repeated)}
        self.squares = np.zeros((len(self.repeated), n_voxels))
        self.total_sum, self.total_squares, self.n_total = np.zeros(n_voxels), np.zeros(n_voxels), 0

    def add(self, values: np.ndarray, rows: np.ndarray) -> None:
        squared = values.astype(np.float64) ** 2
        self.total_sum += values.sum(axis=0, dtype=np.float64)
        self.total_squares += squared.sum(axis=0)
        self.n_total += len(values)
        picked = np.flatnonzero(np.isin(rows, self.repeated))
        np.add.at(self.squares, [self.slot[row] for row in rows[picked]], squared[picked])

    def ncsnr(self, averager: RowAverager) -> np.ndarray | None:
        """ncsnr per voxel, with the averager's row sums and counts (read before it divides them);
        None without repeats."""
        if not len(self.repeated):
            return None
        return ncsnr_from_moments(self.total_sum, self.total_squares, self.n_total, averager.sums[self.repeated],
                                  self.squares, averager.counts[self.repeated])


def read_captions(root: Path, annotations: Path, nsd_ids) -> dict[int, str]:
    """The COCO caption of each NSD image in ``nsd_ids`` (0-based): nsd_stim_info_merged.csv gives
    its cocoId and cocoSplit, COCO's captions_<split>.json its captions, of which the first (lowest
    annotation id) is kept, as MindEye2 keeps one per image."""
    import json

    info_path = Path(root) / STIM_INFO
    try:
        info = pd.read_csv(info_path)
    except (OSError, ValueError) as exc:
        raise InputDataError(info_path, f"cannot read NSD's stimulus info ({exc})") from exc
    missing = [c for c in ("nsdId", "cocoId", "cocoSplit") if c not in info.columns]
    if missing:
        raise InputDataError(info_path, f"missing column(s) {missing}")
    info = info.set_index("nsdId")
    absent = sorted(set(int(i) for i in nsd_ids) - set(info.index))
    if absent:
        raise InputDataError(info_path, f"no row for nsdId {absent[:5]}")
    captions: dict[int, tuple[int, str]] = {}
    for split in sorted(set(info.loc[list(nsd_ids), "cocoSplit"].astype(str))):
        if split not in COCO_SPLITS:
            raise InputDataError(info_path, f"cocoSplit {split!r}; expected one of {COCO_SPLITS}")
        path = Path(annotations) / f"captions_{split}.json"
        try:
            entries = json.loads(path.read_text())["annotations"]
        except (OSError, ValueError, KeyError) as exc:
            raise InputDataError(path, f"cannot read COCO's captions ({exc}); expected a JSON file with "
                                       f"'annotations' [{{image_id, id, caption}}]") from exc
        for entry in entries:
            image, key = int(entry["image_id"]), int(entry["id"])
            if image not in captions or key < captions[image][0]:
                captions[image] = (key, " ".join(str(entry["caption"]).split()))
    out = {}
    for nsd_id in nsd_ids:
        coco_id = int(info.loc[int(nsd_id), "cocoId"])
        if coco_id not in captions:
            raise InputDataError(Path(annotations), f"no caption for cocoId {coco_id} (nsdId {int(nsd_id)})")
        out[int(nsd_id)] = captions[coco_id][1]
    return out


def export_stimuli(root: Path, trials: pd.DataFrame, out_dir: Path, size: int,
                   captions: dict[int, str] | None = None) -> pd.DataFrame:
    """Write the images a subject saw (from nsd_stimuli.hdf5, resized to ``size``) as PNGs plus
    ``stimuli.tsv`` (stim_id, stim_file, split, nsd_id, and caption when ``captions`` maps nsd ids
    to them), the stimulus table every stage reads."""
    import h5py
    from PIL import Image

    from neurorecon.artifacts import atomic_path, write_text_atomic

    path = Path(root) / STIMULI_HDF5
    if not path.is_file():
        raise InputDataError(path, "file not found; expected NSD's stimulus HDF5")
    table = trials.drop_duplicates("stim_id").sort_values("nsd_id")[["stim_id", "nsd_id", "split"]]
    table = table.assign(stim_file=[f"stimuli/{s}.png" for s in table["stim_id"]])
    out_dir.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "r") as handle:
        if "imgBrick" not in handle:
            raise InputDataError(path, f"no dataset 'imgBrick'; found {list(handle)}")
        brick = handle["imgBrick"]
        for stim_id, nsd_id in zip(table["stim_id"], table["nsd_id"]):
            image = Image.fromarray(brick[int(nsd_id)]).resize((size, size), Image.BICUBIC)
            with atomic_path(out_dir / f"{stim_id}.png") as tmp:
                image.save(tmp, format="PNG")
    columns = ["stim_id", "stim_file", "split", "nsd_id"]
    if captions is not None:
        table = table.assign(caption=[captions[int(i)] for i in table["nsd_id"]])
        columns.append("caption")
    write_text_atomic(out_dir / "stimuli.tsv", table[columns].to_csv(sep="\t", index=False))
    return table
