import json

import numpy as np
import pytest

from neurorecon import artifacts


def test_config_hash_ignores_key_order_but_not_values():
    assert artifacts.config_hash({"a": 1, "b": [1, 2]}) == artifacts.config_hash({"b": [1, 2], "a": 1})
    assert artifacts.config_hash({"a": 1}) != artifacts.config_hash({"a": 2})
    assert len(artifacts.config_hash({})) == artifacts.HASH_LENGTH


def test_stage_version_depends_on_parents():
    section = {"alpha": 1}
    assert artifacts.stage_version(section, ["p1"]) != artifacts.stage_version(section, ["p2"])
    assert artifacts.stage_version(section, ["p1"]) == artifacts.stage_version(dict(section), ["p1"])


def test_atomic_path_keeps_previous_version_when_writing_fails(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with artifacts.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    artifacts.write_text_atomic(target, "new")
    assert target.read_text() == "new"


def test_manifest_records_config_checksums_versions_and_time(tmp_path):
    data = tmp_path / "in.bin"
    data.write_bytes(b"abc")
    out = tmp_path / "art"
    out.mkdir()
    (out / "x.txt").write_text("x")
    path = artifacts.write_manifest(out, stage="decode", config={"k": 1}, inputs=[data], outputs=[out / "x.txt"],
                                    started="2026-01-01T00:00:00+00:00", code_version="abc")
    manifest = json.loads(path.read_text())
    assert manifest["config"] == {"k": 1}
    assert manifest["inputs"][0]["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert manifest["outputs"][0]["bytes"] == 1
    assert {"numpy", "nilearn", "torch"} <= set(manifest["packages"])
    assert manifest["stage"] == "decode" and manifest["code_version"] == "abc"
    assert manifest["finished"] >= manifest["started"]
    assert set(manifest["git"]) == {"commit", "dirty"}


def test_loaders_refuse_an_artifact_changed_after_its_manifest(tmp_path):
    """A saved array edited on disk after its stage finished is refused with the path and both
    checksums; a file the manifest does not list, or one outside any artifact folder, passes."""
    from neurorecon.artifacts import ArtifactChangedError, changed_artifacts, file_sha256, verify_artifact, write_manifest
    from neurorecon.decode.ridge import load_predictions, save_predictions

    folder = tmp_path / "results" / "decode" / "ridge-abc" / "sub-01"
    folder.mkdir(parents=True)
    predictions = folder / "predictions.npz"
    save_predictions(predictions, ["a", "b"], np.ones((2, 3)))
    unlisted = folder / "notes.txt"
    unlisted.write_text("scratch")
    write_manifest(folder, stage="decode", config={}, outputs=[predictions], started="now")
    assert load_predictions(predictions)[0] == ["a", "b"]
    recorded = file_sha256(predictions)
    save_predictions(predictions, ["a", "b"], np.zeros((2, 3)))         # same shape, other numbers
    with pytest.raises(ArtifactChangedError) as error:
        load_predictions(predictions)
    assert str(predictions) in str(error.value) and recorded in str(error.value)
    assert file_sha256(predictions) in str(error.value)
    verify_artifact(unlisted)
    outside = tmp_path / "elsewhere.npz"
    save_predictions(outside, ["a"], np.ones((1, 3)))
    verify_artifact(outside)
    checked, problems = changed_artifacts([tmp_path / "results" / "decode"])
    assert checked == 1 and [p["problem"] for p in problems] == ["changed"]
