"""The cross-subject decoder: training, resuming, saving, adaptation, and the data-efficiency claim,
on a small world with a known answer (subjects share a latent but not voxels)."""

import copy

import numpy as np
import pytest
import torch

from neurorecon.decode.ridge import fit_ridge
from neurorecon.decode.shared import (Checkpoint, SharedDecoder, SubjectData, adapt, alignment_loss,
                                      contrastive_loss, predict, pretrain, stimulus_latents, training_subset)
from neurorecon.evaluate.data_efficiency import METHODS, data_efficiency, summarise
from neurorecon.evaluate.retrieval import two_way_identification

SHARED_CFG = {"seed": 0, "latent_dim": 12, "hidden_dim": 64, "blocks": 1, "dropout": 0.1, "input_dropout": 0.1,
              "temperature": 0.1, "contrastive_weight": 1.0, "mse_weight": 1.0, "align_weight": 1.0,
              "learning_rate": 0.003, "weight_decay": 0.01, "epochs": 30, "batch_size": 32}
ADAPT_CFG = {"init": "align", "train": "all", "epochs": 10, "learning_rate": 0.0003, "weight_decay": 0.01,
             "batch_size": 32, "alphas": [0.1, 1, 10, 100, 1000], "seed": 0}


def toy_world(n_subjects=4, n_train=240, n_test=40, latent=6, embed=16, noise=1.0, seed=0):
    """Subjects see the same stimuli; voxels are a subject-specific linear mix of a shared latent
    plus noise; the target embedding is a fixed nonlinear function of the latent."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_train + n_test, latent))
    hidden = np.tanh(2 * z @ rng.standard_normal((latent, 32)) / np.sqrt(latent))
    clip = np.tanh(2 * hidden @ rng.standard_normal((32, embed)) / np.sqrt(32))
    clip /= np.linalg.norm(clip, axis=1, keepdims=True)
    subjects = {}
    for index in range(n_subjects):
        voxels = 150 + 20 * index
        mixing = rng.standard_normal((latent, voxels))
        signal = z @ mixing
        measured = signal + noise * signal.std() * rng.standard_normal(signal.shape)
        stimulus = np.arange(n_train + n_test)
        data = SubjectData(measured, stimulus, clip)
        subjects[f"{index + 1:02d}"] = (data.subset(stimulus[:n_train]), data.subset(stimulus[n_train:]),
                                        signal[n_train:])
    return subjects


@pytest.fixture(scope="module")
def world():
    return toy_world()


@pytest.fixture(scope="module")
def pretrained(world):
    torch.set_num_threads(2)
    trained = {s: world[s][0] for s in ("01", "02", "03")}
    model, history = pretrain(trained, SHARED_CFG, embed_dim=16)
    return model, history, trained


def test_contrastive_loss_is_low_for_matching_pairs_and_counts_repeats_as_positives():
    target = torch.nn.functional.normalize(torch.randn(8, 5), dim=1)
    stimulus = torch.arange(8)
    matched = contrastive_loss(target, target, stimulus, temperature=0.05)
    shuffled = contrastive_loss(target[torch.randperm(8, generator=torch.Generator().manual_seed(0))], target,
                                stimulus, temperature=0.05)
    assert matched < 0.2 < shuffled
    # two rows of one stimulus: predicting either's target is right for both
    repeated = torch.tensor([0, 0, 1, 2])
    rows = target[[0, 0, 1, 2]]
    assert contrastive_loss(rows, rows, repeated, 0.05) < 0.8


def test_alignment_loss_is_zero_when_subjects_agree_and_scale_free():
    shared = torch.randn(6, 4)
    stimulus = torch.tensor([0, 1, 2, 0, 1, 2])
    agreeing = torch.cat([shared[:3], shared[:3]])
    assert alignment_loss(agreeing, stimulus) < 1e-6
    assert alignment_loss(shared, stimulus) == pytest.approx(float(alignment_loss(10 * shared, stimulus)), rel=1e-5)


def test_training_subset_is_seeded_nested_and_whole_at_one():
    small, large = training_subset(100, 0.1, 3), training_subset(100, 0.5, 3)
    assert len(small) == 10 and len(large) == 50 and set(small) <= set(large)
    assert np.array_equal(small, training_subset(100, 0.1, 3))
    assert np.array_equal(training_subset(100, 1.0, 3), np.arange(100))
    assert len(training_subset(100, 0.001, 0)) == 2
    with pytest.raises(ValueError, match="fraction"):
        training_subset(100, 0.0, 0)


def test_pretraining_decodes_each_subject_well_above_chance(world, pretrained):
    model, history, _ = pretrained
    assert history[-1]["loss"] < history[0]["loss"]
    for subject in ("01", "02", "03"):
        _, test, _ = world[subject]
        assert two_way_identification(predict(model, subject, test.responses)["clip"], test.clip) > 0.85


def test_pretraining_aligns_subjects_in_the_shared_latent(world, pretrained):
    model, _, trained = pretrained
    with torch.no_grad():
        latents = {s: model.adapter(s)(torch.from_numpy(world[s][1].responses).float()).numpy() for s in trained}
    between = np.corrcoef(latents["01"].ravel(), latents["02"].ravel())[0, 1]
    assert between > 0.8  # the same test stimulus lands on nearly the same latent in both subjects


def test_save_and_load_give_identical_predictions(tmp_path, world, pretrained):
    model, _, _ = pretrained
    model.save(tmp_path / "model", {"trained_on": ["01", "02", "03"]})
    loaded = SharedDecoder.load(tmp_path / "model")
    test = world["02"][1].responses
    assert np.array_equal(predict(model, "02", test)["clip"], predict(loaded, "02", test)["clip"])
    assert sorted((tmp_path / "model").iterdir()) == [tmp_path / "model" / "model.json",
                                                      tmp_path / "model" / "model.safetensors"]


def test_clear_errors_for_unknown_subject_wrong_voxels_and_missing_folder(tmp_path, world, pretrained):
    model, _, _ = pretrained
    with pytest.raises(KeyError, match="no adapter for subject 09"):
        predict(model, "09", world["01"][1].responses)
    with pytest.raises(ValueError, match=r"expects \(rows, 150\) responses, got \(40, 170\)"):
        predict(model, "01", world["02"][1].responses)
    with pytest.raises(FileNotFoundError, match="not a shared decoder folder"):
        SharedDecoder.load(tmp_path)


def test_fixed_seed_gives_identical_weights(world):
    data = {s: world[s][0] for s in ("01", "02")}
    cfg = {**SHARED_CFG, "epochs": 3}
    first, _ = pretrain(data, cfg, 16)
    second, _ = pretrain(data, cfg, 16)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


class Killed(Exception):
    pass


def test_killed_training_resumes_from_its_checkpoint_to_the_same_weights(tmp_path, world):
    data = {s: world[s][0] for s in ("01", "02")}
    cfg = {**SHARED_CFG, "epochs": 5}
    uninterrupted, full_history = pretrain(data, cfg, 16)

    def die_after_two(epochs):
        for count, epoch in enumerate(epochs):
            if count == 2:
                raise Killed
            yield epoch

    checkpoint = Checkpoint(tmp_path / "ckpt", {"cfg": cfg})
    with pytest.raises(Killed):
        pretrain(data, cfg, 16, checkpoint=checkpoint, progress=die_after_two)
    seen = []
    resumed, history = pretrain(data, cfg, 16, checkpoint=checkpoint,
                                progress=lambda epochs: (seen.append(e) or e for e in epochs))
    assert seen == [2, 3, 4]                      # only the epochs the killed run had not finished
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]
    assert history == full_history
    assert all(torch.equal(a, b) for a, b in zip(uninterrupted.state_dict().values(), resumed.state_dict().values()))
    checkpoint.remove()
    assert not (tmp_path / "ckpt").exists()


def test_checkpoint_of_another_run_is_ignored(tmp_path, world):
    data = {"01": world["01"][0]}
    cfg = {**SHARED_CFG, "epochs": 2}
    pretrain(data, cfg, 16, checkpoint=Checkpoint(tmp_path / "ckpt", {"cfg": cfg}))
    seen = []
    pretrain(data, {**cfg, "seed": 1}, 16, checkpoint=Checkpoint(tmp_path / "ckpt", {"cfg": {**cfg, "seed": 1}}),
             progress=lambda epochs: (seen.append(e) or e for e in epochs))
    assert seen == [0, 1]


def test_alignment_maps_a_new_subject_onto_the_trained_subjects_latents(world, pretrained):
    model, _, trained = pretrained
    model = copy.deepcopy(model)
    train, test, _ = world["04"]
    adapt(model, "04", train, {**SHARED_CFG, **ADAPT_CFG, "epochs": 0}, trained=trained)
    targets = stimulus_latents(model, {s: world[s][1] for s in trained})
    with torch.no_grad():
        new = model.adapter("04")(torch.from_numpy(test.responses).float()).numpy()
    reference = np.stack([targets[s] for s in test.stimulus_index])
    assert np.corrcoef(new.ravel(), reference.ravel())[0, 1] > 0.8


def test_alignment_without_shared_stimuli_is_a_clear_error(world, pretrained):
    model, _, trained = pretrained
    train = world["04"][0]
    strangers = SubjectData(train.responses, train.stimulus_index + 10_000, train.clip)
    with pytest.raises(ValueError, match="needs stimuli that the trained subjects saw.*init: random"):
        adapt(copy.deepcopy(model), "04", strangers, {**SHARED_CFG, **ADAPT_CFG}, trained=trained)


def test_adapting_the_adapter_only_leaves_the_backbone_untouched(world, pretrained):
    model, _, trained = pretrained
    adapted = copy.deepcopy(model)
    adapt(adapted, "04", world["04"][0], {**SHARED_CFG, **ADAPT_CFG, "train": "adapter", "init": "random"})
    before, after = model.state_dict(), adapted.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.requires_grad for p in adapted.parameters())


def test_with_little_data_the_adapted_model_beats_both_per_subject_baselines(world, pretrained):
    """The claim of the data-efficiency benchmark, on a world where it has a known reason to hold:
    the shared readout is nonlinear and learnt from three subjects, the new subject's part is linear."""
    model, _, trained = pretrained
    train, test, clean = world["04"]
    table = data_efficiency("04", train, test, clean, model, trained, SHARED_CFG, ADAPT_CFG,
                            [0.1, 1, 10, 100, 1000], fractions=[0.125, 1.0], repeats=1)
    assert set(table["method"]) == set(METHODS) and set(table["n_train"]) == {30, 240}
    mean = summarise(table)
    assert list(mean.columns) == ["method", "fraction", "metric", "value", "chance", "ceiling"]
    top1 = mean[mean["metric"] == "image_retrieval_top1"].set_index(["method", "fraction"])["value"]
    little = {m: top1[(m, 0.125)] for m in METHODS}
    assert little["shared-adapted"] > max(little["ridge"], little["scratch"]) + 0.1
    assert top1[("shared-adapted", 1.0)] >= top1[("ridge", 1.0)] - 0.03
    with pytest.raises(ValueError, match="cannot be held out"):
        data_efficiency("01", *world["01"][:2], None, model, trained, SHARED_CFG, ADAPT_CFG, [1], [1.0], 1)


def test_saved_decoders_load_back_as_one_prediction_function(tmp_path, world, pretrained):
    from neurorecon.decode.saved import load_saved_decoder

    model, _, _ = pretrained
    model.save(tmp_path / "shared", {"rois": ["EVC", "HVC"]})
    saved = load_saved_decoder(tmp_path / "shared" / "model.safetensors", "02")
    test = world["02"][1].responses
    assert np.array_equal(saved.predict(test), predict(model, "02", test)["clip"])
    assert saved.rois == ["EVC", "HVC"] and saved.target == "image"
    ridge = fit_ridge(world["02"][0].responses, world["02"][0].clip, [1.0, 10.0], None)
    ridge.save(tmp_path / "ridge", {"rois": None, "target": "text"})
    saved = load_saved_decoder(tmp_path / "ridge" / "ridge.safetensors", "02")
    assert np.allclose(saved.predict(test), ridge.predict(test)) and saved.target == "text"
    with pytest.raises(KeyError, match="no adapter for subject 04"):
        load_saved_decoder(tmp_path / "shared" / "model.safetensors", "04")
    with pytest.raises(ValueError, match="not a decoder weights file"):
        load_saved_decoder(tmp_path / "shared" / "model.json", "02")
