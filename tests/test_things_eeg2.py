"""THINGS-EEG2 ingestion on a miniature release with the real layout."""

from __future__ import annotations

import numpy as np
import pytest

from neurorecon.io.inputs import InputDataError
from neurorecon.io.things_eeg2 import export_stimuli, load_pickled_dict, stimulus_table, subject_responses
from things_eeg2_fixture import CHANNELS, TIMES, build_mini_things


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return build_mini_things(tmp_path_factory.mktemp("things"))


def test_stimulus_table_is_zero_shot_with_captions(release, tmp_path):
    table = stimulus_table(release)
    assert (table["split"] == "train").sum() == 48 and (table["split"] == "test").sum() == 6
    assert not set(table.loc[table["split"] == "train", "concept"]) & set(table.loc[table["split"] == "test", "concept"])
    assert table.loc[table["stim_id"] == "air_conditioner_01b", "caption"].item() == "a photo of a air conditioner"
    tsv = export_stimuli(release, table, tmp_path, 32)
    from PIL import Image
    with Image.open(tmp_path / "stimuli" / "aardvark_01b.png") as image:
        assert image.size == (32, 32) and image.mode == "RGB"
    assert tsv.read_text().splitlines()[0].split("\t") == ["stim_id", "stim_file", "split", "concept", "caption"]


def test_responses_average_test_repeats_in_metadata_order(release):
    table = stimulus_table(release)
    responses = subject_responses(release, 1, table, "test")
    assert responses.channels == CHANNELS and np.allclose(responses.times, TIMES)
    trials = responses.trials
    assert (trials["split"] == "train").sum() == 48 * 4 and (trials["split"] == "test").sum() == 6
    assert (trials.loc[trials["split"] == "test", "n_repeats"] == 8).all()
    raw = load_pickled_dict(release / "preprocessed_data" / "sub-01" / "preprocessed_eeg_test.npy", ("preprocessed_eeg_data",))
    first_test = table.loc[table["split"] == "test", "stim_id"].iloc[0]
    row = responses.values[(trials["stim_id"] == first_test).to_numpy()][0]
    np.testing.assert_allclose(row, raw["preprocessed_eeg_data"][0].mean(axis=0).ravel(), rtol=1e-5)
    every = subject_responses(release, 1, table, "all")
    assert len(every.trials) == 54 and set(every.trials["n_repeats"]) == {4, 8}


def test_refuses_pickles_that_run_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("this would run",))

    path = tmp_path / "preprocessed_eeg_test.npy"
    np.save(path, {"preprocessed_eeg_data": Exploit(), "ch_names": [], "times": []}, allow_pickle=True)
    with pytest.raises(InputDataError, match="refusing builtins.print"):
        load_pickled_dict(path, ("preprocessed_eeg_data",))
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(InputDataError, match="expected a saved dict"):
        load_pickled_dict(tmp_path / "plain.npy", ())


def test_clear_errors_for_a_wrong_release(release, tmp_path):
    table = stimulus_table(release)
    with pytest.raises(InputDataError, match="file not found"):
        subject_responses(release, 2, table, "test")
    with pytest.raises(InputDataError, match="expected \\(images=47"):
        subject_responses(release, 1, table.iloc[1:], "test")
