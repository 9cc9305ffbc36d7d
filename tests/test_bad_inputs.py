"""A bad-input battery: for every reader, truncated, empty, wrong-dtype, wrong-shape, NaN/Inf,
out-of-range and mislabelled inputs. Each must raise a clear error that names the file and the
problem (never a traceback from deep inside numpy, never a silent wrong answer), and where the
reader writes results, the earlier ones stay byte-identical.

Each reader has a builder of a valid input and a list of (case, corruption, expected message);
``CASES`` counts them per reader (the closing note of the reliability issue reports the counts).
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import scipy.io

from neurorecon.io.inputs import InputDataError


def _rewrite_tsv(path: Path, edit) -> None:
    """Rewrite a TSV with ``edit(table)``, which changes it in place or returns the new table."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    edited = edit(table)
    path.write_text((table if edited is None else edited).to_csv(sep="\t", index=False))


def _set_cell(column, value, row=0):
    def edit(table):
        table.loc[row, column] = value
    return edit


def _nifti_edit(transform):
    """Rewrite a NIfTI with transform(data, image) -> new image."""
    def corrupt(path: Path):
        image = nib.load(path)
        data = np.asanyarray(image.dataobj)
        nib.save(transform(data, image), path)
    return corrupt


def _truncate(path: Path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path: Path):
    path.write_bytes(b"")


def _garbage(path: Path):
    path.write_bytes(bytes(range(256)) * 4)


# --- BIDS fMRI: NIfTI, events, confounds, mask, atlas (through preprocess_to_files) -------------------

RUN = "sub-01/func/sub-01_task-images_run-02"
CONFOUNDS = "derivatives/fmriprep/sub-01/func/sub-01_task-images_run-02_desc-confounds_timeseries.tsv"
MASK = "derivatives/fmriprep/sub-01/anat/sub-01_desc-brain_mask.nii.gz"
ATLAS = "derivatives/fmriprep/sub-01/anat/sub-01_desc-visual_dseg"

BIDS_CASES = [
    ("bold truncated", f"{RUN}_bold.nii.gz", _truncate, "cannot read as NIfTI"),
    ("bold empty", f"{RUN}_bold.nii.gz", _empty, "cannot read"),
    ("bold not NIfTI", f"{RUN}_bold.nii.gz", _garbage, "cannot read"),
    ("bold 3-D", f"{RUN}_bold.nii.gz", _nifti_edit(lambda d, i: nib.Nifti1Image(d[..., 0], i.affine)), "expected a 4D image"),
    ("bold complex dtype", f"{RUN}_bold.nii.gz",
     _nifti_edit(lambda d, i: nib.Nifti1Image(d.astype(np.complex64) * 1j, i.affine)), "complex64"),
    ("bold NaN", f"{RUN}_bold.nii.gz",
     _nifti_edit(lambda d, i: nib.Nifti1Image(np.where(np.indices(d.shape)[3] == 3, np.nan, d).astype(np.float32),
                                              i.affine, i.header)), "non-finite values"),
    ("bold Inf", f"{RUN}_bold.nii.gz",
     _nifti_edit(lambda d, i: nib.Nifti1Image(np.where(np.indices(d.shape)[3] == 3, np.inf, d).astype(np.float32),
                                              i.affine, i.header)), "non-finite values"),
    ("bold other grid", f"{RUN}_bold.nii.gz",
     _nifti_edit(lambda d, i: nib.Nifti1Image(d[1:], i.affine, i.header)), "does not match"),
    ("events empty", f"{RUN}_events.tsv", lambda p: p.write_text("onset\tduration\tstim_id\n"), "no trials"),
    ("events no onset column", f"{RUN}_events.tsv", lambda p: _rewrite_tsv(p, lambda t: t.drop(columns="onset")),
     r"missing column\(s\) \['onset'\]"),
    ("events text onset", f"{RUN}_events.tsv", lambda p: _rewrite_tsv(p, _set_cell("onset", "soon")), "'onset' must be numeric"),
    ("events n/a duration", f"{RUN}_events.tsv", lambda p: _rewrite_tsv(p, _set_cell("duration", "n/a")), "'duration' must be numeric"),
    ("events negative duration", f"{RUN}_events.tsv", lambda p: _rewrite_tsv(p, _set_cell("duration", "-3")), "negative"),
    ("events onset after the run", f"{RUN}_events.tsv", lambda p: _rewrite_tsv(p, _set_cell("onset", "99999", row=2)),
     "outside the run"),
    ("events unknown stimulus", f"{RUN}_events.tsv", lambda p: _rewrite_tsv(p, _set_cell("stim_id", "stim9999")),
     "not in the stimulus table"),
    ("events binary", f"{RUN}_events.tsv", _garbage, "cannot parse"),
    ("confounds short", CONFOUNDS, lambda p: p.write_text("\n".join(p.read_text().splitlines()[:-5]) + "\n"),
     "rows but the BOLD run has"),
    ("confounds column missing", CONFOUNDS, lambda p: _rewrite_tsv(p, lambda t: t.drop(columns="rot_z")),
     r"missing column\(s\) \['rot_z'\]"),
    ("confounds text", CONFOUNDS, lambda p: _rewrite_tsv(p, _set_cell("trans_x", "moved", row=4)), "trans_x"),
    ("mask empty", MASK, _nifti_edit(lambda d, i: nib.Nifti1Image(np.zeros_like(d), i.affine, i.header)), "brain mask is empty"),
    ("mask other grid", MASK, _nifti_edit(lambda d, i: nib.Nifti1Image(d, i.affine * 2, i.header)), "does not match"),
    ("atlas label unnamed", f"{ATLAS}.tsv", lambda p: p.write_text("index\tname\n0\tother\n"), "have no row"),
    ("atlas other grid", f"{ATLAS}.nii.gz", _nifti_edit(lambda d, i: nib.Nifti1Image(d[:-1], i.affine, i.header)), "does not match"),
]


@pytest.mark.parametrize("case, relative, corrupt, message", BIDS_CASES, ids=[c[0] for c in BIDS_CASES])
def test_bids_fmri(case, relative, corrupt, message, tiny_world_root, tiny_config, tmp_path):
    from neurorecon.preprocess import fmri

    root = tmp_path / "world"
    shutil.copytree(tiny_world_root, root, ignore=shutil.ignore_patterns("sub-02", "sub-03"))
    corrupt(root / relative)
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "responses.npz"
    earlier.write_bytes(b"earlier result")
    stimuli = pd.read_csv(root / "stimuli" / "stimuli.tsv", sep="\t")
    cfg = tiny_config["preprocess"]["fmri"]
    with pytest.raises(InputDataError, match=message) as error:
        fmri.preprocess_to_files(fmri.find_subject_files(root, "01", "images", cfg), stimuli, cfg, earlier, out / "trials.tsv")
    assert Path(relative).name in str(error.value)
    assert earlier.read_bytes() == b"earlier result" and not (out / "trials.tsv").exists()


# --- NSD ------------------------------------------------------------------------------------------

def _nsd_session(transform):
    def corrupt(root: Path):
        from neurorecon.io import nsd

        _nifti_edit(transform)(nsd.betas_path(root, 1, 2))
    return corrupt


NSD_CASES = [
    ("design not a .mat", lambda r: _garbage(r / "nsddata/experiments/nsd/nsd_expdesign.mat"), "nsd_expdesign.mat"),
    ("design missing keys", lambda r: scipy.io.savemat(r / "nsddata/experiments/nsd/nsd_expdesign.mat", {"x": 1}), "masterordering"),
    ("session truncated", lambda r: _truncate(next((r / "nsddata_betas").rglob("betas_session02.nii.gz"))), "betas_session02"),
    ("session wrong trial count", _nsd_session(lambda d, i: nib.Nifti1Image(d[..., :700], i.affine, i.header)), "750"),
    ("session 3-D", _nsd_session(lambda d, i: nib.Nifti1Image(d[..., 0], i.affine, i.header)), "betas_session02"),
    ("session other grid", _nsd_session(lambda d, i: nib.Nifti1Image(d[1:], i.affine, i.header)), "does not match"),
    ("roi empty", lambda r: _nifti_edit(lambda d, i: nib.Nifti1Image(np.zeros_like(d), i.affine, i.header))(
        next(r.rglob("nsdgeneral.nii.gz"))), "nsdgeneral"),
]


@pytest.mark.parametrize("case, corrupt, message", NSD_CASES, ids=[c[0] for c in NSD_CASES])
def test_nsd(case, corrupt, message, tmp_path):
    from nsd_fixture import SESSIONS, build_mini_nsd

    from neurorecon.io.nsd import load_nsd_subject

    root = build_mini_nsd(tmp_path / "nsd")[0]
    corrupt(root)
    with pytest.raises(InputDataError, match=message):
        load_nsd_subject(root, 1, SESSIONS, {"betas": "betas_fithrf_GLMdenoise_RR", "space": "func1pt8mm", "roi": "nsdgeneral",
                                             "zscore": "session", "average_test_repeats": True})


# --- Miyawaki-style .mat -----------------------------------------------------------------------------

def _miyawaki(**arrays):
    def write(path: Path):
        rng = np.random.default_rng(0)
        base = {"fmriTrn": rng.normal(size=(20, 30)), "fmriTest": rng.normal(size=(4, 30)),
                "stimTrn": (rng.random((20, 36)) > 0.5).astype(float), "stimTest": (rng.random((4, 36)) > 0.5).astype(float)}
        base.update(arrays)
        scipy.io.savemat(path, base)
    return write


MIYAWAKI_CASES = [
    ("empty file", _empty, "cannot read as a MATLAB"),
    ("truncated", lambda p: (_miyawaki()(p), _truncate(p)), "cannot read as a MATLAB|missing field"),
    ("text field", _miyawaki(stimTest=np.array(["abc", "def", "ghi", "jkl"])), "stimTest"),
    ("3-D field", _miyawaki(fmriTrn=np.zeros((20, 30, 2))), "'fmriTrn' must be 2-D"),
    ("Inf responses", _miyawaki(fmriTest=np.full((4, 30), np.inf)), "'fmriTest' holds NaN or infinite"),
    ("negative pattern values", _miyawaki(stimTrn=-np.ones((20, 36))), "'stimTrn' values span"),
    ("too many pixels", _miyawaki(stimTrn=np.zeros((20, 49))), "stimTrn rows hold 49 pixels"),
    ("rows mismatched", _miyawaki(fmriTrn=np.zeros((19, 30))), "fmriTrn has 19 rows but stimTrn has 20"),
]


@pytest.mark.parametrize("case, write, message", MIYAWAKI_CASES, ids=[c[0] for c in MIYAWAKI_CASES])
def test_miyawaki(case, write, message, tmp_path):
    from neurorecon.io.miyawaki import load_miyawaki

    path = tmp_path / "patterns.mat"
    write(path)
    with pytest.raises(InputDataError, match=message) as error:
        load_miyawaki(path, 6)
    assert "patterns.mat" in str(error.value)


# --- THINGS-EEG2 .npy dicts ----------------------------------------------------------------------------

def _things_eeg(edit):
    def corrupt(root: Path):
        path = root / "preprocessed_data" / "sub-01" / "preprocessed_eeg_test.npy"
        data = np.load(path, allow_pickle=True).item()
        np.save(path, edit(data), allow_pickle=True)
    return corrupt


THINGS_CASES = [
    ("eeg truncated", lambda r: _truncate(r / "preprocessed_data/sub-01/preprocessed_eeg_test.npy"), "preprocessed_eeg_test"),
    ("eeg empty", lambda r: _empty(r / "preprocessed_data/sub-01/preprocessed_eeg_test.npy"), "preprocessed_eeg_test"),
    ("eeg plain array", lambda r: np.save(r / "preprocessed_data/sub-01/preprocessed_eeg_test.npy", np.zeros(3)),
     "expected a saved dict"),
    ("eeg key missing", _things_eeg(lambda d: {k: v for k, v in d.items() if k != "times"}), r"missing key\(s\) \['times'\]"),
    ("eeg 3-D", _things_eeg(lambda d: {**d, "preprocessed_eeg_data": d["preprocessed_eeg_data"][:, 0]}), "has shape"),
    ("eeg NaN", _things_eeg(lambda d: {**d, "preprocessed_eeg_data": np.full_like(d["preprocessed_eeg_data"], np.nan)}),
     "NaN or infinite"),
    ("eeg text", _things_eeg(lambda d: {**d, "preprocessed_eeg_data": np.full(d["preprocessed_eeg_data"].shape, "x")}),
     "numeric"),
    ("channels mislabelled", _things_eeg(lambda d: {**d, "ch_names": list(d["ch_names"])[:-1]}), "channels"),
    ("metadata not a pickle dict", lambda r: _garbage(r / "image_set/image_metadata.npy"), "image_metadata"),
]


@pytest.mark.parametrize("case, corrupt, message", THINGS_CASES, ids=[c[0] for c in THINGS_CASES])
def test_things_eeg2(case, corrupt, message, tmp_path):
    from things_eeg2_fixture import build_mini_things

    from neurorecon.io.things_eeg2 import stimulus_table, subject_responses

    root = build_mini_things(tmp_path / "things")
    corrupt(root)
    with pytest.raises(InputDataError, match=message):
        subject_responses(root, 1, stimulus_table(root), "test")


# --- Muse CSV ----------------------------------------------------------------------------------------------

def _muse_csv(path: Path, n: int = 600, **columns):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"timestamps": np.arange(n) / 256.0, **{c: rng.normal(0, 10, n) for c in ("TP9", "AF7", "AF8", "TP10")},
                          "Right AUX": 0.0, "Marker0": np.where(np.arange(n) % 100 == 50, 1, 0)})
    for column, values in columns.items():
        table[column] = values
    table.to_csv(path, index=False)


MUSE_CASES = [
    ("empty", lambda p: p.write_text(""), "cannot read as CSV"),
    ("header only", lambda p: p.write_text("timestamps,TP9,AF7,AF8,TP10,Right AUX,Marker0\n"), "no samples"),
    ("channel missing", lambda p: (_muse_csv(p), _rewrite_csv(p, lambda t: t.drop(columns="AF8"))), r"missing column\(s\) \['AF8'\]"),
    ("text samples", lambda p: _muse_csv(p, TP9=["x"] * 600), "'TP9' must be numeric"),
    ("NaN samples", lambda p: _muse_csv(p, AF7=[np.nan] * 600), "'AF7' must be numeric"),
    ("fractional markers", lambda p: _muse_csv(p, Marker0=np.where(np.arange(600) % 100 == 50, 1.5, 0)), "Marker0"),
    ("binary", _garbage, "cannot read as CSV"),
]


def _rewrite_csv(path: Path, edit):
    edit(pd.read_csv(path)).to_csv(path, index=False)


@pytest.mark.parametrize("case, write, message", MUSE_CASES, ids=[c[0] for c in MUSE_CASES])
def test_muse(case, write, message, tmp_path):
    from neurorecon.io.muse import read_muse_csv

    path = tmp_path / "recording.csv"
    write(path)
    with pytest.raises(InputDataError, match=message) as error:
        read_muse_csv([path])
    assert "recording.csv" in str(error.value)


# --- EEG/sEEG through MNE (BrainVision, EDF, EEGLAB) --------------------------------------------------

@pytest.fixture(scope="module")
def eeg_dataset(tmp_path_factory, tiny_config):
    """One synthetic EEG subject in BIDS (BrainVision) and its stimulus table."""
    import copy

    from neurorecon.synth.eeg import simulate_eeg_subject
    from neurorecon.synth.world import build_world, write_stimuli

    cfg = copy.deepcopy(tiny_config["data"]["synthetic"])
    root = tmp_path_factory.mktemp("eeg_bad")
    world, scenes = build_world(cfg)
    stimuli = pd.read_csv(write_stimuli(world, scenes, root), sep="\t")
    simulate_eeg_subject(world, stimuli, cfg["eeg"], 0, 0, root / "eeg", root / "truth.npz")
    return root / "eeg", stimuli


def _eeg_file(folder: Path, suffix: str) -> Path:
    return next((folder / "sub-eeg01" / "eeg").glob(f"*{suffix}"))


MNE_CASES = [
    ("vhdr truncated", lambda f: _truncate(_eeg_file(f, "_eeg.vhdr")), "cannot read the recording"),
    ("eeg data missing", lambda f: _eeg_file(f, "_eeg.eeg").unlink(), "cannot read the recording"),
    ("events mislabelled", lambda f: _rewrite_tsv(_eeg_file(f, "_events.tsv"), _set_cell("stim_id", "stim9999")),
     "not in the stimulus table"),
    ("EDF garbage", lambda f: (_eeg_file(f, "_eeg.vhdr").unlink(), _eeg_file(f, "_eeg.eeg").unlink(),
                               _eeg_file(f, "_eeg.vmrk").unlink(), _garbage(f / "sub-eeg01/eeg/sub-eeg01_task-images_eeg.edf")),
     "cannot read the recording"),
    ("EEGLAB garbage", lambda f: (_eeg_file(f, "_eeg.vhdr").unlink(), _eeg_file(f, "_eeg.eeg").unlink(),
                                  _eeg_file(f, "_eeg.vmrk").unlink(), _garbage(f / "sub-eeg01/eeg/sub-eeg01_task-images_eeg.set")),
     "cannot read the recording"),
]


@pytest.mark.parametrize("case, corrupt, message", MNE_CASES, ids=[c[0] for c in MNE_CASES])
def test_mne_recordings(case, corrupt, message, eeg_dataset, tmp_path):
    from neurorecon.preprocess.sensors import load_recording

    source, stimuli = eeg_dataset
    folder = tmp_path / "eeg"
    shutil.copytree(source, folder)
    corrupt(folder)
    with pytest.raises(InputDataError, match=message) as error:
        load_recording(folder, "eeg01", "images", "eeg", stimuli).raw.load_data()
    assert "sub-eeg01" in str(error.value)


# --- stimulus tables and images ------------------------------------------------------------------------------

def _stimuli(tmp_path: Path) -> Path:
    from PIL import Image

    folder = tmp_path / "dataset" / "stimuli"
    folder.mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"s{i}.png")
    tsv = folder / "stimuli.tsv"
    tsv.write_text("stim_id\tstim_file\tsplit\n" + "".join(f"s{i}\tstimuli/s{i}.png\ttrain\n" for i in range(3)))
    return tsv


STIMULUS_CASES = [
    ("table empty", lambda t: _empty(t), "cannot parse"),
    ("split column missing", lambda t: t.write_text("stim_id\tstim_file\ns0\tstimuli/s0.png\n"), r"missing column\(s\) \['split'\]"),
    ("stim_id repeated", lambda t: t.write_text(t.read_text() + "s1\tstimuli/s2.png\ttest\n"), "repeated"),
    ("split mislabelled", lambda t: _rewrite_tsv(t, _set_cell("split", "validation")), "split"),
    ("image missing", lambda t: (t.parent / "s1.png").unlink(), "cannot read stimulus image"),
    ("image truncated", lambda t: _truncate(t.parent / "s1.png"), "cannot read stimulus image"),
    ("image is text", lambda t: (t.parent / "s1.png").write_text("not a picture"), "cannot read stimulus image"),
]


@pytest.mark.parametrize("case, corrupt, message", STIMULUS_CASES, ids=[c[0] for c in STIMULUS_CASES])
def test_stimulus_tables_and_images(case, corrupt, message, tmp_path):
    from neurorecon.stimuli.images import load_stimulus_images

    tsv = _stimuli(tmp_path)
    corrupt(tsv)
    with pytest.raises(InputDataError, match=message):
        load_stimulus_images(tsv, ["s0", "s1", "s2"])


# --- model folders ---------------------------------------------------------------------------------------

def _tiny_vae_folder(tmp_path: Path) -> Path:
    from diffusers import AutoencoderKL

    from neurorecon.reconstruct.vae import tiny_vae_config

    folder = tmp_path / "vae"
    AutoencoderKL(**tiny_vae_config({"channels": [8, 8], "latent_channels": 2}, 16)).save_pretrained(folder)
    return folder


MODEL_CASES = [
    ("weights truncated", lambda f: _truncate(next(f.glob("*.safetensors"))), "vae"),
    ("weights missing", lambda f: next(f.glob("*.safetensors")).unlink(), "vae"),
    ("config garbage", lambda f: (f / "config.json").write_text("{not json"), "config.json"),
    ("config missing", lambda f: (f / "config.json").unlink(), "no config.json"),
    ("pickled weights only", lambda f: (next(f.glob("*.safetensors")).unlink(),
                                        (f / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps({"w": 1}))), "vae"),
]


@pytest.mark.parametrize("case, corrupt, message", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_model_folders(case, corrupt, message, tmp_path):
    from neurorecon.reconstruct.vae import load_vae

    folder = _tiny_vae_folder(tmp_path)
    corrupt(folder)
    with pytest.raises((InputDataError, FileNotFoundError)) as error:
        load_vae(folder)
    assert message in str(error.value) and str(folder) in str(error.value)


CASES = {"BIDS fMRI (NIfTI, events, confounds, mask, atlas)": len(BIDS_CASES), "NSD": len(NSD_CASES),
         "Miyawaki .mat": len(MIYAWAKI_CASES), "THINGS-EEG2 .npy": len(THINGS_CASES), "Muse CSV": len(MUSE_CASES),
         "MNE (BrainVision, EDF, EEGLAB)": len(MNE_CASES), "stimulus tables and images": len(STIMULUS_CASES),
         "model folders": len(MODEL_CASES)}
