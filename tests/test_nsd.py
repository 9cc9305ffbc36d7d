"""NSD ingestion on a miniature dataset with NSD's exact layout, file formats and index conventions
(1-based MATLAB indices, int16 betas x300, nsdgeneral -1/0/1, imgBrick HDF5), only smaller."""

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy.io import savemat

from neurorecon.io import nsd
from neurorecon.io.inputs import InputDataError

N_IMAGES_73K, PER_SUBJECT, N_SHARED, SESSIONS = 60, 40, 8, [1, 2]
GRID = (6, 7, 5)
CFG = {"betas": "betas_fithrf_GLMdenoise_RR", "roi": "nsdgeneral", "space": "func1pt8mm", "zscore": "session",
       "average_test_repeats": True}


@pytest.fixture(scope="module")
def mini_nsd(tmp_path_factory):
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("nsd")
    shared = np.sort(rng.choice(N_IMAGES_73K, N_SHARED, replace=False))
    others = np.setdiff1d(np.arange(N_IMAGES_73K), shared)
    subjectim = np.stack([np.concatenate([shared, rng.choice(others, PER_SUBJECT - N_SHARED, replace=False)])
                          for _ in range(8)])                                 # shared images first, as NSD
    n_trials = len(SESSIONS) * nsd.TRIALS_PER_SESSION
    masterordering = rng.integers(0, PER_SUBJECT, n_trials)
    design = root / nsd.EXPDESIGN
    design.parent.mkdir(parents=True)
    savemat(design, {"masterordering": masterordering[None] + 1, "subjectim": subjectim + 1,
                     "sharedix": shared[None] + 1, "basiccnt": np.zeros((3, 40))})
    affine = np.diag([1.8, 1.8, 1.8, 1.0])
    roi = rng.choice([-1, 0, 1], size=GRID, p=[0.3, 0.3, 0.4]).astype(np.int16)
    roi_file = nsd.roi_path(root, 1)
    roi_file.parent.mkdir(parents=True)
    nib.save(nib.Nifti1Image(roi, affine), roi_file)
    image_response = rng.normal(0, 2.0, (N_IMAGES_73K,) + GRID)               # percent signal change
    for session in SESSIONS:
        order = masterordering[(session - 1) * 750: session * 750]
        ids = subjectim[0, order]
        betas = image_response[ids] + rng.normal(0, 0.5, (750,) + GRID)
        path = nsd.betas_path(root, 1, session)
        path.parent.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(np.round(np.moveaxis(betas, 0, -1) * nsd.BETA_SCALE).astype(np.int16), affine), path)
    stim = root / nsd.STIMULI_HDF5
    stim.parent.mkdir(parents=True)
    with h5py.File(stim, "w") as handle:
        handle.create_dataset("imgBrick", data=rng.integers(0, 255, (N_IMAGES_73K, 32, 32, 3), dtype=np.uint8))
    return root, image_response, roi > 0, shared


def test_trials_follow_masterordering_and_sharedix(mini_nsd):
    root, _, _, shared = mini_nsd
    design = nsd.read_expdesign(root)
    trials = nsd.trial_table(design, 1, SESSIONS)
    assert len(trials) == 1500
    assert trials.loc[0, "nsd_id"] == design["subjectim"][0, design["masterordering"][0]]
    assert set(trials.loc[trials["split"] == "test", "nsd_id"]) <= set(shared.tolist())
    assert trials["stim_id"].iloc[0] == f"nsd{trials['nsd_id'].iloc[0] + 1:05d}"


def test_ingested_betas_match_planted_responses(mini_nsd):
    root, image_response, mask, shared = mini_nsd
    responses, trials = nsd.load_nsd_subject(root, 1, SESSIONS, CFG)
    assert responses.values.shape[1] == mask.sum()
    test_x, test_trials = responses.select("test")
    assert len(test_x) == len(set(trials.loc[trials["split"] == "test", "stim_id"]))
    truth = image_response[[int(s[3:]) - 1 for s in test_trials["stim_id"]]][:, mask]
    assert np.corrcoef(test_x.ravel(), truth.ravel())[0, 1] > 0.9
    raw, _ = nsd.load_nsd_subject(root, 1, SESSIONS, {**CFG, "zscore": "none", "average_test_repeats": False})
    first = trials.iloc[0]
    expected = image_response[first["nsd_id"]][mask]
    assert np.abs(raw.values[0] - expected).max() < 0.5 * 5                  # int16 / 300 = percent signal change


def test_stimuli_export_writes_the_images_seen(mini_nsd, tmp_path):
    root, _, _, _ = mini_nsd
    _, trials = nsd.load_nsd_subject(root, 1, [1], CFG)
    table = nsd.export_stimuli(root, trials, tmp_path / "stimuli", size=16)
    written = pd.read_csv(tmp_path / "stimuli" / "stimuli.tsv", sep="\t")
    assert list(written.columns) == ["stim_id", "stim_file", "split", "nsd_id"]
    assert len(written) == trials["stim_id"].nunique() == len(table)
    first = written.iloc[0]
    with h5py.File(root / nsd.STIMULI_HDF5) as handle:
        assert handle["imgBrick"][first["nsd_id"]].shape == (32, 32, 3)
    assert (tmp_path / first["stim_file"]).is_file()


def test_a_session_with_the_wrong_trial_count_is_named(mini_nsd, tmp_path):
    import shutil

    root = tmp_path / "nsd"
    shutil.copytree(mini_nsd[0], root)
    path = nsd.betas_path(root, 1, 2)
    image = nib.load(path)
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj)[..., :700], image.affine), path)
    with pytest.raises(InputDataError, match="700 trials; expected 750") as info:
        nsd.load_nsd_subject(root, 1, SESSIONS, CFG)
    assert info.value.path == path
