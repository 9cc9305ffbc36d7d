"""Config-time checks of the data: each broken dataset gives one line naming the setting and the path
(and what is there instead), before any job runs; labels follow BIDS' rules."""

import copy
import shutil

import pytest

from conftest import load_config
from neurorecon.config import ConfigError
from neurorecon.datacheck import check_data
from neurorecon.schema import load_schema, validate_config

from conftest import REPO


@pytest.fixture
def bids(tmp_path, tiny_world_root):
    """A copy of the tiny synthetic world, configured as a user's BIDS dataset."""
    root = tmp_path / "bids"
    shutil.copytree(tiny_world_root, root)
    config = load_config("tiny")
    config["data"] = {"source": "bids", "bids": {"root": str(root), "subjects": ["01", "02"],
                                                 "eeg_subjects": [], "seeg_subjects": []}}
    return root, config


def test_an_intact_dataset_passes(bids):
    assert check_data(bids[1]) == []


def only_problem(config) -> str:
    problems = check_data(config)
    assert len(problems) == 1, problems
    return problems[0]


def test_missing_root_is_named(bids, tmp_path):
    root, config = bids
    config["data"]["bids"]["root"] = str(tmp_path / "nowhere")
    assert only_problem(config) == f"data.bids.root: {tmp_path / 'nowhere'} does not exist"


def test_absent_subjects_are_listed_with_those_present(bids):
    _, config = bids
    config["data"]["bids"]["subjects"] = ["01", "07"]
    assert only_problem(config).startswith("data.bids.subjects: 07 not in") and "(subjects there: 01, 02, 03)" in only_problem(config)


def test_a_task_without_runs_lists_the_tasks_there(bids):
    _, config = bids
    config["preprocess"]["fmri"]["task"] = "faces"
    problems = check_data(config)
    assert len(problems) == 2 and all("preprocess.fmri.task: no runs of task 'faces'" in p for p in problems)
    assert "(tasks there: images)" in problems[0]


def test_empty_events_file(bids):
    root, config = bids
    events = root / "sub-01/func/sub-01_task-images_run-02_events.tsv"
    events.write_text(events.read_text().splitlines()[0] + "\n")
    assert only_problem(config) == f"data.bids.root: {events} has no trials; expected one row per stimulus presentation"


def test_events_not_covered_by_the_stimulus_table(bids):
    root, config = bids
    stimuli = root / "stimuli" / "stimuli.tsv"
    lines = stimuli.read_text().splitlines()
    dropped = lines[1].split("\t")[lines[0].split("\t").index("stim_id")]
    stimuli.write_text("\n".join(line for line in lines if not line.startswith(dropped + "\t")) + "\n")
    problems = check_data(config)
    assert problems and all(f"stim_id(s) {dropped} that {stimuli} does not list" in p for p in problems)


def test_missing_mask_confounds_and_stimulus_table(bids):
    root, config = bids
    (root / "derivatives/fmriprep/sub-02/anat/sub-02_desc-brain_mask.nii.gz").unlink()
    confounds = root / "derivatives/fmriprep/sub-01/func/sub-01_task-images_run-01_desc-confounds_timeseries.tsv"
    confounds.unlink()
    problems = check_data(config)
    assert any(p.startswith("preprocess.fmri.derivatives:") and "sub-02_desc-brain_mask" in p for p in problems)
    assert any(p.startswith("preprocess.fmri.confounds:") and str(confounds) in p for p in problems)
    config["preprocess"]["fmri"]["confounds"] = []
    assert not any(p.startswith("preprocess.fmri.confounds") for p in check_data(config))
    (root / "stimuli" / "stimuli.tsv").unlink()
    assert any("stimuli.tsv not found" in p for p in check_data(config))


def test_sensor_subjects_must_have_their_folder(bids):
    _, config = bids
    config["data"]["bids"]["eeg_subjects"] = ["01"]
    assert only_problem(config).startswith("data.bids.eeg_subjects:") and "eeg not found" in only_problem(config)


def test_nsd_sessions_absent_are_listed(tmp_path):
    from nsd_fixture import SESSIONS, build_mini_nsd

    root = build_mini_nsd(tmp_path / "nsd")[0]
    config = load_config("nsd")
    config["data"]["nsd"].update(root=str(root), subjects=[1], sessions=SESSIONS)
    assert check_data(config) == []
    config["data"]["nsd"]["sessions"] = [*SESSIONS, 9]
    assert only_problem(config).startswith("data.nsd.sessions: 9 have no betas") and "(sessions there: 1, 2)" in only_problem(config)
    config["data"]["nsd"].update(sessions=SESSIONS, roi="streams")
    assert only_problem(config).startswith("data.nsd.roi:") and "streams.nii.gz not found" in only_problem(config)


def test_other_sources(tmp_path):
    config = load_config("miyawaki")
    config["data"]["miyawaki"]["file"] = str(tmp_path / "missing.mat")
    assert only_problem(config) == f"data.miyawaki.file: {tmp_path / 'missing.mat'} does not exist"
    config = load_config("things-eeg2")
    config["data"]["things-eeg2"]["root"] = str(tmp_path)
    assert any(p.startswith("data.things-eeg2.root:") and "image_metadata.npy not found" in p for p in check_data(config))
    assert any(p.startswith("data.things-eeg2.subjects:") for p in check_data(config))


def test_cc2017_files_absent_are_named_with_those_present(tmp_path):
    from cc2017_fixture import build_mini_cc2017

    root = build_mini_cc2017(tmp_path / "cc2017")
    config = load_config("cc2017")
    config["data"]["cc2017"].update(root=str(root), subjects=[1])
    assert check_data(config) == []
    config["data"]["cc2017"]["subjects"] = [1, 2]
    problems = check_data(config)
    assert [p.split(" not found")[0] for p in problems] == [
        f"data.cc2017.subjects: {root / 'subj02_train_fmri.pt'}", f"data.cc2017.subjects: {root / 'subj02_test_fmri.pt'}"]
    assert problems[0].endswith(
        "(.pt files there: GT_test_3fps.pt, GT_train_3fps.pt, subj01_test_fmri.pt, subj01_train_fmri.pt)")
    config["data"]["cc2017"]["subjects"] = [1]
    (root / "GT_test_3fps.pt").unlink()
    assert only_problem(config).startswith(f"data.cc2017.root: {root / 'GT_test_3fps.pt'} not found")


@pytest.mark.parametrize("label", ["sub 01", "01/../../x", "s-1", "a_b"])
def test_labels_must_be_bids_labels(label):
    config = load_config("tiny")
    raw = copy.deepcopy(config)
    raw["data"] = {"source": "bids", "bids": {"root": "/x", "subjects": [label]}}
    with pytest.raises(ConfigError, match="data.bids.subjects.0: .* is not a BIDS label: letters and digits only"):
        validate_config(raw, load_schema(REPO / "config" / "schema.yaml"))
