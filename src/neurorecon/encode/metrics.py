"""How well an encoder predicts held-out responses: per-voxel correlation on the test images, the
noise ceiling, and the fraction of explainable variance explained, per ROI."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurorecon.evaluate.ceiling import noise_ceiling_percent
from neurorecon.evaluate.retrieval import row_correlations


def column_correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``a`` with the same column of ``b`` (0 where either is constant)."""
    return row_correlations(a.T, b.T)


def ncsnr_ceiling(snr: np.ndarray, n_repeats: np.ndarray) -> np.ndarray:
    """The correlation ceiling sqrt(NC) of test rows that average ``n_repeats`` trials each (NSD's
    mixed-repeat form: 1/n becomes the mean of 1/n_k over the rows)."""
    effective = 1.0 / np.mean(1.0 / np.asarray(n_repeats, dtype=float))
    return np.sqrt(noise_ceiling_percent(snr, effective) / 100.0)


def roi_table(voxel_r: dict[str, np.ndarray], ceiling: np.ndarray | None, roi: np.ndarray,
              roi_names: dict[int, str], ceiling_kind: str) -> pd.DataFrame:
    """Rows (model, roi, metric, value) per ROI and over all voxels: the mean test correlation, the
    mean ceiling, and the fraction of explainable variance explained, sum(r^2) / sum(ceiling^2)
    over voxels with a positive ceiling (the Algonauts score's form)."""
    rows = []
    regions = [(name, roi == label) for label, name in roi_names.items() if (roi == label).any()]
    for model, r in voxel_r.items():
        for name, members in [*regions, ("all", np.ones(len(roi), bool))]:
            rows.append({"model": model, "roi": name, "metric": "test_r", "value": float(r[members].mean()),
                         "n": int(members.sum())})
            if ceiling is None:
                continue
            explainable = members & (ceiling > 0)
            rows.append({"model": model, "roi": name, "metric": f"ceiling_r_{ceiling_kind}",
                         "value": float(ceiling[members].mean()), "n": int(members.sum())})
            fraction = (np.clip(r[explainable], 0, None) ** 2).sum() / max((ceiling[explainable] ** 2).sum(), 1e-12)
            rows.append({"model": model, "roi": name, "metric": "explained_fraction", "value": float(fraction),
                         "n": int(explainable.sum())})
    return pd.DataFrame(rows)
