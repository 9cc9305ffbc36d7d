"""Region analysis: which brain regions carry a decoding target (Brain3D's question, and the one
whole-brain decoding papers ask).

For every region (ROI or flatmap region) the decoders are refitted on the region's voxels alone
and on all voxels but the region's, with the same ridge and penalty grid as the full decoder, and
each metric is scored per test item. A row gives the metric's mean, its change from the full
decoder (per item, then averaged) and the standard error of that change across test items, so
that a change is read against its uncertainty.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from neurorecon.decode.ridge import fit_ridge
from neurorecon.evaluate.retrieval import two_way_per_item
from neurorecon.evaluate.retrieval import row_correlations

# per-item scores: metric -> (target kind, score(predicted, true) -> per-item array)
Scorer = tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def _abs_error(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.abs(predicted - true).mean(axis=1)


def per_item_scorers(kinds) -> dict[str, Scorer]:
    """The per-item metric of each decoding target kind present: 2-way identification for
    embeddings, mean absolute error for a colour (lower is better), correlation with the truth
    for codes, blurry images and flow."""
    scorers = {}
    for kind in kinds:
        if kind in ("embedding", "keyframe"):
            scorers[f"{kind}_2way"] = (kind, two_way_per_item)
        elif kind == "colour":
            scorers["colour_abs_error"] = (kind, _abs_error)
        else:
            scorers[f"{kind}_corr"] = (kind, row_correlations)
    return scorers


def region_rows(train_x: np.ndarray, train_targets: dict[str, np.ndarray], test_x: np.ndarray,
                test_targets: dict[str, np.ndarray], roi: np.ndarray, roi_names: dict[int, str],
                scorers: dict[str, Scorer], alphas, cv=None) -> pd.DataFrame:
    """Rows (region, mode, metric, value, change, se, n, voxels) for the full decoder (region
    ``all``) and, per labelled region, the decoders on that region ``alone`` and with it
    ``left_out``; ``roi`` labels each column of ``train_x`` / ``test_x``."""
    kinds = sorted({kind for kind, _ in scorers.values()})

    def scores(columns: np.ndarray) -> dict[str, np.ndarray]:
        predicted = {kind: fit_ridge(train_x[:, columns], train_targets[kind], alphas, cv).predict(test_x[:, columns])
                     for kind in kinds}
        return {metric: score(predicted[kind], test_targets[kind]) for metric, (kind, score) in scorers.items()}

    everything = np.ones(train_x.shape[1], dtype=bool)
    full = scores(everything)
    rows = [{"region": "all", "mode": "all", "metric": metric, "value": float(values.mean()), "change": 0.0,
             "se": 0.0, "n": len(values), "voxels": int(everything.sum())} for metric, values in full.items()]
    for label, name in sorted(roi_names.items()):
        inside = roi == label
        if not inside.any() or inside.all():
            continue
        for mode, columns in (("alone", inside), ("left_out", ~inside)):
            for metric, values in scores(columns).items():
                change = values - full[metric]
                rows.append({"region": name, "mode": mode, "metric": metric, "value": float(values.mean()),
                             "change": float(change.mean()),
                             "se": float(change.std(ddof=1) / np.sqrt(len(change))) if len(change) > 1 else np.nan,
                             "n": len(values), "voxels": int(columns.sum())})
    return pd.DataFrame(rows)
