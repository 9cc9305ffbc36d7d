"""GLMsingle-style estimates against the default single-trial GLM, on synthetic subjects whose true
responses are known.

Two worlds: the configured one (every voxel with glover's HRF, independent AR(1) noise), and the
same world with what GLMsingle was built for: HRF peak delays varying across voxels (SD
--hrf-delay-sd s) and noise shared across voxels (--structured-noise-pct). For each world and
method (the configured ``glm`` method, and ``glmsingle``) it prints, over the task-driven voxels:

- ncsnr: NSD's noise-ceiling SNR from the test repeats (median), and the ceiling it implies for
  the average of the repeats (NC, % variance);
- r_trial: correlation of single-trial betas with the true trial responses (training trials, median);
- r_test: correlation of the repeat-averaged test betas with the noise-free responses (median);
- decoding: a ridge decoder from the responses to the world's semantic latent, trained on the
  training trials; correlation of predicted with true latents on the test stimuli, and 2-way
  identification accuracy;
- seconds of preprocessing, and for glmsingle what it chose (PCs, median kept fraction, and the
  correlation of chosen with true HRF delay where delays vary).

    python benchmarks/glmsingle.py [--configfile config/config.yaml] [--subject 1]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # as preprocess_fmri runs: one thread per job
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from data_efficiency import load_config  # noqa: E402
from neurorecon.decode.ridge import fit_ridge  # noqa: E402
from neurorecon.evaluate.ceiling import ncsnr, noise_ceiling_percent  # noqa: E402
from neurorecon.preprocess.fmri import find_subject_files, preprocess_subject  # noqa: E402
from neurorecon.responses import average_repeats  # noqa: E402
from neurorecon.synth.fmri import simulate_subject, subject_labels  # noqa: E402
from neurorecon.synth.world import build_world, write_stimuli  # noqa: E402


def column_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    return (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))


def two_way_accuracy(predicted: np.ndarray, true: np.ndarray) -> float:
    """Fraction of (i, j) pairs where prediction i correlates more with true i than with true j."""
    similarity = np.corrcoef(predicted, true)[: len(predicted), len(predicted):]
    diagonal = np.diag(similarity)
    off = ~np.eye(len(predicted), dtype=bool)
    return float((diagonal[:, None] > similarity)[off].mean())


def evaluate(root: Path, label: str, world, cfg: dict) -> dict:
    """Preprocess one subject with ``cfg`` and score the betas against the world's truth."""
    stimuli = pd.read_csv(root / "stimuli" / "stimuli.tsv", sep="\t")
    files = find_subject_files(root, label, cfg["task"], cfg)
    start = time.perf_counter()
    responses, result = preprocess_subject(files, stimuli, {**cfg, "average_test_repeats": False})
    seconds = time.perf_counter() - start
    truth = np.load(root / "derivatives" / "groundtruth" / f"sub-{label}" / f"sub-{label}_groundtruth.npz")
    driven = truth["roi"] > 0
    trials = responses.trials.assign(run=responses.trials["runs"].astype(int))  # single trials: one run each
    values = responses.values[:, driven].astype(float)
    test = (trials["split"] == "test").to_numpy()
    snr = ncsnr(values[test], trials.loc[test, "stim_id"])
    repeats = trials.loc[test].groupby("stim_id").size().median()

    index = {s: i for i, s in enumerate(truth["stim_ids"])}
    train = ~test
    r_trial = column_correlations(values[train], truth["trial_response_pct"][train][:, driven])
    averaged, table = average_repeats(values, trials)
    test_rows = (table["split"] == "test").to_numpy()
    test_ids = table.loc[test_rows, "stim_id"].tolist()
    true_test = truth["stimulus_response_pct"][[index[s] for s in test_ids]][:, driven]
    r_test = column_correlations(averaged[test_rows], true_test)

    semantic = {s: world.semantic[i] for i, s in enumerate(world.stim_ids)}
    train_rows = ~test_rows
    decoder = fit_ridge(averaged[train_rows], np.stack([semantic[s] for s in table.loc[train_rows, "stim_id"]]),
                        [1, 10, 100, 1000, 10000, 100000], None)
    predicted = decoder.predict(averaged[test_rows])
    true_latent = np.stack([semantic[s] for s in test_ids])
    row = {"method": cfg["method"], "seconds": seconds, "ncsnr": np.median(snr),
           "NC_avg_%": np.median(noise_ceiling_percent(snr, repeats)),
           "r_trial": np.median(r_trial), "r_test": np.median(r_test),
           "decode_r": float(np.mean(column_correlations(predicted, true_latent))),
           "decode_2way": two_way_accuracy(predicted, true_latent)}
    if result is not None:
        row.update(pcs=result.pc_count, median_frac=float(np.median(result.frac[driven])))
        if "hrf_delay_s" in truth:
            chosen = result.hrf_delays[result.hrf_index]
            row["r_hrf_delay"] = float(np.corrcoef(chosen[driven], truth["hrf_delay_s"][driven])[0, 1])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", type=Path, help="config whose synthetic world to use (default: config/config.yaml)")
    parser.add_argument("--subject", type=int, default=1, help="which synthetic subject (1-based; default 1)")
    parser.add_argument("--hrf-delay-sd", type=float, default=0.7, help="HRF delay SD (s) of the second world")
    parser.add_argument("--structured-noise-pct", type=float, default=2.0, help="shared noise (%%) of the second world")
    args = parser.parse_args()
    config = load_config(args.configfile)
    base = config["data"]["synthetic"]
    worlds = {"configured": base,
              f"HRF sd {args.hrf_delay_sd} s + shared noise {args.structured_noise_pct}%":
                  {**base, "hrf_delay_sd": args.hrf_delay_sd, "structured_noise_pct": args.structured_noise_pct}}
    glm = config["preprocess"]["fmri"]
    methods = [{**glm, "method": "glm"}, {**copy.deepcopy(glm), "method": "glmsingle"}]
    rows = []
    label = subject_labels(base["n_subjects"])[args.subject - 1]
    for name, synth in worlds.items():
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            world, scenes = build_world(synth)
            write_stimuli(world, scenes, root)
            simulate_subject(world, synth, args.subject - 1, root)
            for cfg in methods:
                rows.append({"world": name, **evaluate(root, label, world, cfg)})
                print(f"done: {name}, {cfg['method']}", file=sys.stderr)
    table = pd.DataFrame(rows)
    print(f"sub-{label}, glm = {glm['single_trial']}/{glm['noise_model']}, one thread; medians over task-driven voxels")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
