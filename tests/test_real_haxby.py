"""Real BOLD (Haxby et al. 2001, subject 1) through the same fMRI preprocessing, then a category decoder.

A plain leave-one-run-out linear SVM on the raw volumes reaches about 0.64 (chance 0.125) on this
slice (shared/data README); block responses from our GLM must match or beat it.
"""

import numpy as np
import pytest
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from neurorecon.io.inputs import InputDataError
from neurorecon.io.pymvpa import label_blocks, pymvpa_to_bids
from neurorecon.preprocess.fmri import find_subject_files, preprocess_subject

from conftest import SHARED_DATA

HAXBY = SHARED_DATA / "fmri" / "haxby2001-sub1"
pytestmark = [pytest.mark.realdata, pytest.mark.skipif(not HAXBY.is_dir(), reason="shared/data not present")]


def test_label_blocks_finds_contiguous_non_rest_runs():
    labels = np.array(["rest", "face", "face", "rest", "house", "house", "house"])
    blocks = label_blocks(labels, tr=2.0)
    assert blocks[["onset", "duration", "label"]].values.tolist() == [[2.0, 4.0, "face"], [8.0, 6.0, "house"]]


def _convert(root, motion):
    return pymvpa_to_bids(HAXBY / "bold.nii.gz", HAXBY / "mask.nii.gz", HAXBY / "attributes.txt",
                          HAXBY / "attributes_literal.txt", motion, root)


def test_the_shipped_motion_file_is_rejected_as_incomplete(tmp_path):
    # bold_mc.par holds 19 rows for 1452 volumes: refuse it instead of regressing misaligned motion
    with pytest.raises(InputDataError, match="19 motion rows for 1452 volumes"):
        _convert(tmp_path, HAXBY / "bold_mc.par")


@pytest.fixture(scope="module")
def haxby_responses(tmp_path_factory):
    stimuli = _convert(root := tmp_path_factory.mktemp("haxby_bids"), None)
    cfg = {"derivatives": "fmriprep", "atlas_desc": "none", "confounds": [], "tr": None, "hrf_model": "glover",
           # blocks do not overlap, so LSA is unbiased; a 250 s high-pass keeps the ~36 s block cycle
           "high_pass_hz": 0.004, "method": "glm", "single_trial": "lsa", "noise_model": "ols", "zscore": "run", "average_test_repeats": False}
    files = find_subject_files(root, "1", "objects", cfg)
    return preprocess_subject(files, stimuli, cfg)[0], stimuli


def test_real_bold_gives_one_response_per_block(haxby_responses):
    responses, stimuli = haxby_responses
    assert len(files := responses.trials) == 96                       # 12 runs x 8 categories
    assert responses.values.shape == (96, 530)                        # the mask's 530 voxels
    assert np.isfinite(responses.values).all()
    per_run = stimuli.merge(files, on="stim_id").groupby("run")["label"].nunique()
    assert (per_run == 8).all()


def test_category_decoding_beats_the_raw_volume_svm(haxby_responses):
    responses, stimuli = haxby_responses
    table = responses.trials.merge(stimuli[["stim_id", "label", "run"]], on="stim_id")
    classifier = make_pipeline(StandardScaler(), LinearSVC(C=0.01, max_iter=20000))
    scores = cross_val_score(classifier, responses.values, table["label"], groups=table["run"], cv=LeaveOneGroupOut())
    print(f"Haxby sub-1 leave-one-run-out accuracy on GLM block responses: {scores.mean():.3f} (chance 0.125)")
    assert scores.mean() >= 0.64
