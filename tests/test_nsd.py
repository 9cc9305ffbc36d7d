"""NSD ingestion on a miniature dataset with NSD's exact layout (tests/nsd_fixture.py)."""

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurorecon.io import nsd
from neurorecon.io.inputs import InputDataError

from nsd_fixture import SESSIONS, build_mini_nsd
CFG = {"betas": "betas_fithrf_GLMdenoise_RR", "roi": "nsdgeneral", "space": "func1pt8mm", "zscore": "session",
       "average_test_repeats": True}


@pytest.fixture(scope="module")
def mini_nsd(tmp_path_factory):
    return build_mini_nsd(tmp_path_factory.mktemp("nsd"))


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
