"""Shared fixtures: tiny synthetic worlds and one finished tiny workflow run, written once per
session, and the repository paths."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def load_config(name: str = "tiny") -> dict:
    """The default config deep-merged with config/examples/<name>.yaml, schema defaults filled."""
    from neurorecon.schema import load_schema, validate_config

    def merge(base, update):
        for key, value in update.items():
            base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        return base

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    if name != "default":
        config = merge(config, yaml.safe_load((REPO / "config" / "examples" / f"{name}.yaml").read_text()))
    validate_config(config, load_schema(REPO / "config" / "schema.yaml"))
    return config


@pytest.fixture(scope="session")
def tiny_config() -> dict:
    return load_config("tiny")


@pytest.fixture
def tiny_synth_cfg(tiny_config) -> dict:
    return copy.deepcopy(tiny_config["data"]["synthetic"])


@pytest.fixture(scope="session")
def tiny_world_root(tmp_path_factory, tiny_config) -> Path:
    """A tiny synthetic BIDS dataset with two subjects (shared by read-only tests)."""
    from neurorecon.synth.fmri import simulate_subject, write_dataset_description
    from neurorecon.synth.world import build_world, write_stimuli

    cfg = tiny_config["data"]["synthetic"]
    root = tmp_path_factory.mktemp("tiny_world")
    world, scenes = build_world(cfg)
    write_stimuli(world, scenes, root)
    write_dataset_description(root, cfg)
    world.save(root / "derivatives" / "groundtruth" / "world.npz")
    for index in range(cfg["n_subjects"]):
        simulate_subject(world, cfg, index, root)
    return root


def preprocess_tiny_subject(root: Path, cfg: dict):
    """Subject 01 of a tiny world preprocessed with ``cfg`` (preprocess.fmri): its responses, what
    GLMsingle chose (or None), and each tuned voxel's correlation of test responses with the truth."""
    import numpy as np
    import pandas as pd

    from neurorecon.preprocess import fmri

    stimuli = pd.read_csv(root / "stimuli" / "stimuli.tsv", sep="\t")
    responses, result = fmri.preprocess_subject(fmri.find_subject_files(root, "01", "images", cfg), stimuli, cfg)
    truth = np.load(root / "derivatives/groundtruth/sub-01/sub-01_groundtruth.npz")
    test_x, test_trials = responses.select("test")
    ids = [list(truth["stim_ids"]).index(s) for s in test_trials["stim_id"]]
    correlations = [np.corrcoef(test_x[:, v], truth["stimulus_response_pct"][ids, v])[0, 1]
                    for v in np.flatnonzero(truth["roi"] > 0)]
    return responses, result, np.asarray(correlations)


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """The tiny config run to the end by Snakemake. The digests of its numeric artifacts are kept
    in digests.json as they were then, for runs that must repeat them (later tests edit the run)."""
    from workflow_runs import artifact_digests, snakemake

    workdir = tmp_path_factory.mktemp("workflow")
    shutil.copy(REPO / "config" / "examples" / "tiny.yaml", workdir / "tiny.yaml")
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-4000:]
    (workdir / "digests.json").write_text(json.dumps(artifact_digests(workdir), indent=1))
    return workdir
