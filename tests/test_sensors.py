"""EEG and sEEG: the synthetic recordings, MNE preprocessing and the encoders, on a small world
whose answer is known (bad channels, line noise, blinks, noise-free responses, the semantic latent)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from neurorecon.decode.sensors import SensorEncoder, encode, fit_sensor_decoders
from neurorecon.evaluate.retrieval import embedding_metrics, two_way_identification
from neurorecon.io.inputs import InputDataError
from neurorecon.preprocess.sensors import (
    bipolar_pairs, detect_bad_channels, line_harmonics, load_recording, preprocess_subject, remove_blinks,
)
from neurorecon.synth.eeg import simulate_eeg_subject
from neurorecon.synth.seeg import SHAFTS, simulate_seeg_subject
from neurorecon.synth.world import build_world, write_stimuli


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_config):
    """A world of 240 training and 24 test images, its stimulus table, and one EEG and one sEEG subject."""
    cfg = copy.deepcopy(tiny_config["data"]["synthetic"])
    cfg.update(n_train_stimuli=240, n_test_stimuli=24)
    root = tmp_path_factory.mktemp("sensors")
    world, scenes = build_world(cfg)
    stimuli = pd.read_csv(write_stimuli(world, scenes, root), sep="\t")
    eeg_cfg = {**cfg["eeg"], "test_repeats": 4, "signal_uv": 4.0}
    seeg_cfg = {**cfg["seeg"], "train_repeats": 2, "test_repeats": 4}
    eeg = simulate_eeg_subject(world, stimuli, eeg_cfg, 0, 0, root / "eeg", root / "eeg_truth.npz")
    seeg = simulate_seeg_subject(world, stimuli, seeg_cfg, 0, 0, root / "seeg", root / "seeg_truth.npz")
    embeddings = {"stim_ids": np.asarray(world.stim_ids), "image": world.semantic}
    return {"root": root, "world": world, "stimuli": stimuli, "eeg": eeg, "seeg": seeg, "embeddings": embeddings}


@pytest.fixture(scope="module")
def eeg_result(world, tiny_config):
    return preprocess_subject("eeg", world["root"] / "eeg", "eeg01", world["stimuli"], tiny_config["preprocess"]["eeg"],
                              world["root"] / "eeg_truth.npz")


@pytest.fixture(scope="module")
def seeg_result(world, tiny_config):
    return preprocess_subject("seeg", world["root"] / "seeg", "seeg01", world["stimuli"],
                              tiny_config["preprocess"]["seeg"], world["root"] / "seeg_truth.npz")


def test_design_is_zero_shot_and_written_as_bids(world):
    design = world["eeg"]["design"]
    assert not set(design.loc[design["split"] == "train", "concept"]) & set(design.loc[design["split"] == "test", "concept"])
    assert (design[design["split"] == "test"].groupby("stim_id").size() == 4).all()
    events = pd.read_csv(world["root"] / "eeg" / "sub-eeg01" / "eeg" / "sub-eeg01_task-images_events.tsv", sep="\t")
    assert {"onset", "stim_id", "split", "concept"} <= set(events.columns) and len(events) == len(design)
    electrodes = pd.read_csv(next((world["root"] / "seeg" / "sub-seeg01" / "ieeg").glob("*_electrodes.tsv")), sep="\t")
    assert len(electrodes) == 6 * 8 and {"occipital", "fusiform", "white-matter"} <= set(electrodes["region"])


def test_bad_channels_are_found_and_blinks_and_line_noise_removed(world, eeg_result):
    report = eeg_result["report"]
    assert sorted(report["bad_channels_detected"]) == sorted(world["eeg"]["bad_channels"])
    assert report["notch_hz"] == [50.0, 100.0]
    raw = load_recording(world["root"] / "eeg", "eeg01", "images", "eeg", world["stimuli"]).raw.load_data()
    raw.info["bads"] = world["eeg"]["bad_channels"]
    before = _line_power_ratio(raw)
    raw.notch_filter(line_harmonics(50, raw.info["sfreq"]), picks=["eeg", "eog"], verbose="error")
    assert before / _line_power_ratio(raw) > 100            # line noise power drops more than 100-fold
    raw.filter(0.1, 40, picks=["eeg", "eog"], verbose="error")
    raw.set_eeg_reference("average", projection=False, verbose="error")
    veog = raw.get_data(picks="VEOG")[0]
    assert abs(np.corrcoef(raw.get_data(picks="Fp1")[0], veog)[0, 1]) > 0.5
    by_ica = raw.copy().crop(0, 120)                        # ICA on two minutes keeps the test quick
    remove_blinks(raw, {"blink_removal": "regression"}, 0)
    assert abs(np.corrcoef(raw.get_data(picks="Fp1")[0], veog)[0, 1]) < 0.1
    by_ica.interpolate_bads(reset_bads=True, verbose="error")
    report = remove_blinks(by_ica, {"blink_removal": "ica", "ica_components": 15}, 0)
    assert report["ica_excluded"]                          # the blink component is found
    assert abs(np.corrcoef(by_ica.get_data(picks="Fp1")[0], by_ica.get_data(picks="VEOG")[0])[0, 1]) < 0.2


def _line_power_ratio(raw) -> float:
    """Power at 50 Hz relative to 40-45 Hz, mean over good EEG channels."""
    spectrum = raw.compute_psd(fmin=38, fmax=55, picks="eeg", exclude="bads", verbose="error")
    freqs, power = spectrum.freqs, spectrum.get_data().mean(0)
    return power[np.abs(freqs - 50) < 0.6].max() / power[(freqs > 40) & (freqs < 45)].mean()


def test_eeg_responses_follow_the_contract_and_the_noise_free_truth(eeg_result):
    responses = eeg_result["responses"]
    assert len(responses.channels) == 32 and responses.times[0] == pytest.approx(-0.1) and responses.times[-1] == pytest.approx(0.6)
    test = responses.trials[responses.trials["split"] == "test"]
    assert len(test) == 24 and (test["n_repeats"] == 4).all()
    measured = responses.values[(responses.trials["split"] == "test").to_numpy()]
    clean = eeg_result["noise_free"]
    # each averaged test row is identified by its own noise-free response among the others'
    assert two_way_identification(measured - measured.mean(0), clean - clean.mean(0)) > 0.75
    conditions = eeg_result["conditions"]
    assert conditions["data"].shape == (6, 32, len(responses.times)) and "occipital" in set(conditions["regions"])


def test_seeg_bipolar_high_gamma_is_region_specific(seeg_result):
    responses = seeg_result["responses"]
    assert len(responses.channels) == len(SHAFTS) * 7       # contacts per shaft minus one
    region = responses.roi.reshape(len(responses.channels), -1)[:, 0]
    names = {name: index for index, name in responses.roi_names.items()}
    train = responses.epochs(responses.values[(responses.trials["split"] == "train").to_numpy()])
    after = (responses.times > 0.05) & (responses.times < 0.3)
    mean = train[:, :, after].mean(axis=(0, 2))
    control = mean[region == names["frontal"]].mean()       # the frontal shaft does not respond
    assert mean[region == names["occipital"]].mean() - control > 0.04
    assert mean[region == names["fusiform"]].mean() - control > 0.02


@pytest.mark.parametrize("modality", ["eeg", "seeg"])
def test_encoder_decodes_unseen_concepts(world, eeg_result, seeg_result, tiny_config, modality, tmp_path):
    result = {"eeg": eeg_result, "seeg": seeg_result}[modality]
    cfg = {**tiny_config["decode"][modality], "hidden_dim": 64, "epochs": 25}
    fitted = fit_sensor_decoders(result["responses"], world["embeddings"], world["stimuli"], cfg, by_region=modality == "seeg")
    true = world["embeddings"]["image"][[world["world"].stim_ids.index(s) for s in fitted["test_ids"]]]
    metrics = {row["metric"]: row for row in embedding_metrics(fitted["encoder_predictions"], true)}
    assert metrics["clip_2way"]["value"] > 0.6 and metrics["image_retrieval_top5"]["value"] > 1.5 * metrics["image_retrieval_top5"]["chance"]
    fitted["encoder"].save(tmp_path / "model", {"modality": modality})
    loaded = SensorEncoder.load(tmp_path / "model")
    test_epochs = result["responses"].epochs(result["responses"].values[(result["responses"].trials["split"] == "test").to_numpy()])
    np.testing.assert_allclose(encode(loaded, test_epochs)["embedding"], fitted["encoder_predictions"], atol=1e-5)
    again = fit_sensor_decoders(result["responses"], world["embeddings"], world["stimuli"], cfg, by_region=modality == "seeg")
    np.testing.assert_array_equal(again["encoder_predictions"], fitted["encoder_predictions"])  # seeded


def test_bipolar_pairs_follow_contact_numbers():
    names = ["L'1", "L'2", "L'3", "L'11", "L'12", "N'1", "N'2", "LACN 1", "LACN 2", "Fz"]
    assert bipolar_pairs(names) == [("L'1", "L'2"), ("L'2", "L'3"), ("L'11", "L'12"), ("N'1", "N'2"), ("LACN 1", "LACN 2")]


def test_detect_bad_channels_finds_flat_and_noisy():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((20, 5000))
    data[3] *= 0.01
    data[7] *= 20
    assert detect_bad_channels(data, [f"c{i}" for i in range(20)], 6.0) == ["c3", "c7"]


def test_clear_errors(world, tiny_config):
    with pytest.raises(InputDataError, match="no eeg recording"):
        load_recording(world["root"] / "eeg", "eeg09", "images", "eeg", world["stimuli"])
    with pytest.raises(InputDataError, match="no electrodes.tsv with a 'atlas' column"):
        load_recording(world["root"] / "seeg", "seeg01", "images", "ieeg", world["stimuli"], "atlas")
    recording = load_recording(world["root"] / "eeg", "eeg01", "images", "eeg", world["stimuli"])
    recording.raw.load_data().drop_channels(["VEOG"])
    from neurorecon.preprocess.sensors import preprocess_eeg
    with pytest.raises(InputDataError, match="no EOG channel"):
        preprocess_eeg(recording, tiny_config["preprocess"]["eeg"])
    stimuli = world["stimuli"].iloc[5:]
    with pytest.raises(InputDataError, match="not in the stimulus table"):
        load_recording(world["root"] / "eeg", "eeg01", "images", "eeg", stimuli)
