"""One subject's encoders: both models fitted on the same training trials and scored on the same
test images, with the noise ceiling, as per-voxel arrays and summary rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neurorecon.decode.keyed import rows_of
from neurorecon.encode.linear import LinearEncoder, fit_linear_encoder
from neurorecon.encode.metrics import column_correlations, ncsnr_ceiling, roi_table
from neurorecon.encode.transformer import TransformerEncoder, fit_transformer_encoder, voxel_groups
from neurorecon.responses import Responses

METHODS = {"linear": "linear-encoder", "transformer": "transformer-encoder"}


@dataclass
class SubjectEncoders:
    """The fitted encoders, per-voxel test correlations and ceiling, and the ROI table."""

    linear: LinearEncoder
    transformer: TransformerEncoder
    history: list[dict]
    voxels: dict[str, np.ndarray]   # roi, voxel_ijk, groups, r_linear, r_transformer; ceiling, affine where known
    table: pd.DataFrame             # model, roi, metric, value, n
    ceiling_kind: str | None        # noise-free (synthetic truth), ncsnr (test repeats), or None


def fit_subject_encoders(responses: Responses, stim_ids: list[str], embeddings: np.ndarray, tokens: np.ndarray,
                         cfg: dict, clean_test: np.ndarray | None = None, progress=None) -> SubjectEncoders:
    """Fit both encoders on the training rows and score them on the test rows.

    ``stim_ids`` index the rows of ``embeddings`` (n, d) and ``tokens`` (n, N, C). The ceiling is
    the correlation of the noise-free test responses with the measured ones where ``clean_test``
    is given (synthetic data), else NSD's ncsnr ceiling where the responses carry one.
    """
    columns = responses.columns(cfg["rois"])
    train_x, train_trials = responses.select("train", cfg["rois"])
    test_x, test_trials = responses.select("test", cfg["rois"])
    train_rows = rows_of(stim_ids, train_trials["stim_id"])
    test_rows = rows_of(stim_ids, test_trials["stim_id"])
    linear = fit_linear_encoder(embeddings[train_rows], train_x, cfg["linear"]["alphas"])
    roi, ijk = responses.roi[columns], responses.voxel_ijk[columns]
    positions = ijk if len(ijk) else np.arange(len(roi))[:, None]
    groups = voxel_groups(positions, roi, cfg["transformer"]["groups_per_roi"], cfg["transformer"]["seed"])
    transformer, history = fit_transformer_encoder(tokens[train_rows], train_x, groups, cfg["transformer"], progress)
    voxel_r = {"linear": column_correlations(linear.predict(embeddings[test_rows]), test_x),
               "transformer": column_correlations(transformer.predict(tokens[test_rows]), test_x)}
    ceiling, kind = None, None
    if clean_test is not None:
        ceiling, kind = column_correlations(clean_test, test_x), "noise-free"
    elif responses.ncsnr is not None:
        ceiling, kind = ncsnr_ceiling(responses.ncsnr[columns], test_trials["n_repeats"].to_numpy()), "ncsnr"
    voxels = {"roi": roi, "voxel_ijk": ijk, "groups": groups, **{f"r_{model}": r for model, r in voxel_r.items()},
              **({} if responses.affine is None else {"affine": responses.affine})}
    if ceiling is not None:
        voxels["ceiling"] = ceiling
    table = roi_table(voxel_r, ceiling, roi, responses.roi_names, kind or "")
    return SubjectEncoders(linear, transformer, history, voxels, table, kind)


def summary_rows(table: pd.DataFrame, subject: str) -> pd.DataFrame:
    """The ROI table as summary.tsv rows: encoding_r_<roi> (ceiling: the mean noise ceiling) and
    explained_<roi> (the fraction of explainable variance explained; ceiling 1), per encoder."""
    rows = []
    for (model, roi), group in table.groupby(["model", "roi"], sort=False):
        values = dict(zip(group["metric"], group["value"]))
        n = int(group["n"].iloc[0])
        ceiling = next((v for metric, v in values.items() if metric.startswith("ceiling_r_")), np.nan)
        suffix = "" if roi == "all" else f"_{roi}"
        rows.append({"metric": f"encoding_r{suffix}", "value": values["test_r"], "chance": 0.0, "ceiling": ceiling,
                     "method": METHODS[model], "n": n})
        if "explained_fraction" in values:
            rows.append({"metric": f"explained{suffix}", "value": values["explained_fraction"], "chance": 0.0,
                         "ceiling": 1.0, "method": METHODS[model], "n": n})
    return pd.DataFrame(rows).assign(modality="fmri", subject=subject, output="responses")
