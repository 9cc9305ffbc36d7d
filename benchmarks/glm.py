"""Single-trial GLM benchmark: the batched GLM (neurorecon.preprocess.glm) against nilearn's
run_glm called once per design, on the same runs of one synthetic subject of the default world
(or of the config given), for LSS and LSA with the OLS and AR(1) noise models.

Writes the subject into a temporary folder, then prints per (method, noise model) the trials and
voxels per run, the seconds of each implementation summed over the runs, their ratio and the
largest difference of the betas (absolute, and relative to the largest beta).

    python benchmarks/glm.py [--configfile config/config.yaml] [--subject 1] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # as preprocess_fmri runs: one thread per job
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

import pandas as pd  # noqa: E402

from data_efficiency import load_config  # noqa: E402
from neurorecon.preprocess.fmri import benchmark_glm, find_subject_files  # noqa: E402
from neurorecon.synth.fmri import simulate_subject, subject_labels  # noqa: E402
from neurorecon.synth.world import build_world, write_stimuli  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configfile", type=Path, help="config whose synthetic world to use (default: config/config.yaml)")
    parser.add_argument("--subject", type=int, default=1, help="which synthetic subject (1-based; default 1)")
    parser.add_argument("--runs", type=int, help="time only the first N runs (default: all)")
    args = parser.parse_args()
    config = load_config(args.configfile)
    synth, cfg = config["data"]["synthetic"], config["preprocess"]["fmri"]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        world, scenes = build_world(synth)
        write_stimuli(world, scenes, root)
        simulate_subject(world, synth, args.subject - 1, root)
        label = subject_labels(synth["n_subjects"])[args.subject - 1]
        stimuli = pd.read_csv(root / "stimuli" / "stimuli.tsv", sep="\t")
        table = benchmark_glm(find_subject_files(root, label, cfg["task"], cfg), stimuli, cfg, args.runs)
    totals = table.groupby(["method", "noise_model"], sort=False).agg(
        runs=("run", "size"), trials=("trials", "sum"), voxels=("voxels", "first"),
        seconds_batched=("seconds_batched", "sum"), seconds_nilearn=("seconds_nilearn", "sum"),
        max_abs_diff=("max_abs_diff", "max"), max_rel_diff=("max_rel_diff", "max"))
    totals.insert(totals.columns.get_loc("seconds_nilearn") + 1, "speedup",
                  totals["seconds_nilearn"] / totals["seconds_batched"])
    print(f"sub-{label}, {synth['n_train_stimuli'] + synth['n_test_stimuli']} stimuli, one thread")
    print(totals.to_string(float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
