"""How much of a new subject's data each decoder needs: the data-efficiency benchmark.

For a subject held out of the cross-subject decoder's training, each method is fitted on a
seeded random fraction of the subject's training trials (smaller fractions are subsets of larger
ones) and scored on its test trials, with chance and the noise ceiling (the same fitted model
applied to the noise-free test responses):

- ``ridge``: the per-subject ridge decoder (Takagi & Nishimoto's baseline);
- ``scratch``: the cross-subject architecture trained on this subject alone, for as many
  optimisation steps as the shared model had, whatever the fraction;
- ``shared-adapted``: the trained cross-subject model given this subject's adapter (alignment,
  then fine-tuning), the way the ``adapt`` stage does it.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd

from neurorecon.decode.ridge import fit_ridge
from neurorecon.decode.shared import SharedDecoder, SubjectData, adapt, predict, pretrain, steps_per_epoch, training_subset
from neurorecon.evaluate.retrieval import embedding_metrics

METHODS = ("ridge", "scratch", "shared-adapted")
COLUMNS = ["method", "fraction", "metric", "value", "chance", "ceiling"]


def fit_and_predict(method: str, subset: SubjectData, subject: str, test: np.ndarray, clean_test: np.ndarray | None,
                    pretrained: SharedDecoder, trained: dict[str, SubjectData], shared_cfg: dict, adapt_cfg: dict,
                    ridge_alphas: list[float]) -> tuple[np.ndarray, np.ndarray | None]:
    """One method fitted on ``subset``: its predictions for the measured and noise-free test rows."""
    inputs = [test] if clean_test is None else [test, clean_test]
    if method == "ridge":
        decoder = fit_ridge(subset.responses, subset.clip, ridge_alphas, None)
        outputs = [decoder.predict(x) for x in inputs]
    else:
        if method == "scratch":
            steps = shared_cfg["epochs"] * steps_per_epoch(trained, shared_cfg["batch_size"])
            epochs = math.ceil(steps / steps_per_epoch({subject: subset}, shared_cfg["batch_size"]))
            model, _ = pretrain({subject: subset}, {**shared_cfg, "epochs": epochs}, pretrained.embed_dim)
        elif method == "shared-adapted":
            model = copy.deepcopy(pretrained)
            adapt(model, subject, subset, {**shared_cfg, **adapt_cfg}, trained=trained)
        else:
            raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
        outputs = [predict(model, subject, x)["clip"] for x in inputs]
    return outputs[0], (outputs[1] if clean_test is not None else None)


def data_efficiency(subject: str, train: SubjectData, test: SubjectData, clean_test: np.ndarray | None,
                    pretrained: SharedDecoder, trained: dict[str, SubjectData], shared_cfg: dict, adapt_cfg: dict,
                    ridge_alphas: list[float], fractions: list[float], repeats: int, progress=None) -> pd.DataFrame:
    """Long table: subject, method, fraction, repeat, n_train, metric, value, chance, ceiling, n."""
    if subject in pretrained.subject_voxels:
        raise ValueError(f"subject {subject} was in the cross-subject model's training; it cannot be held out")
    jobs = [(f, r, m) for f in sorted(fractions) for r in range(repeats) for m in METHODS]
    rows = []
    for fraction, repeat, method in (progress(jobs) if progress else jobs):
        subset = train.subset(training_subset(len(train.responses), fraction, adapt_cfg["seed"] + repeat))
        predicted, ceiling = fit_and_predict(method, subset, subject, test.responses, clean_test, pretrained,
                                             trained, shared_cfg, adapt_cfg, ridge_alphas)
        for row in embedding_metrics(predicted, test.clip, ceiling):
            rows.append({"subject": subject, "method": method, "fraction": fraction, "repeat": repeat,
                         "n_train": len(subset.responses), **row})
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """The benchmark table (method, fraction, metric, value, chance, ceiling), averaged over held-out
    subjects and repeats, methods in :data:`METHODS` order."""
    mean = (table.groupby(["method", "fraction", "metric"], sort=False)[["value", "chance", "ceiling"]]
            .mean().reset_index())
    mean["method"] = pd.Categorical(mean["method"], categories=METHODS, ordered=True)
    return mean.sort_values(["metric", "method", "fraction"]).reset_index(drop=True)[COLUMNS].astype({"method": str})


def leave_one_subject_out(subjects: dict[str, tuple[SubjectData, SubjectData, np.ndarray | None]], shared_cfg: dict,
                          adapt_cfg: dict, ridge_alphas: list[float], fractions: list[float], repeats: int,
                          progress=None) -> pd.DataFrame:
    """:func:`data_efficiency` for every subject in turn, the cross-subject model pretrained on the
    others each time. ``subjects``: label -> (train rows, test rows, noise-free test responses)."""
    tables = []
    for held_out, (train, test, clean) in subjects.items():
        trained = {s: rows[0] for s, rows in subjects.items() if s != held_out}
        model, _ = pretrain(trained, shared_cfg, train.clip.shape[1])
        tables.append(data_efficiency(held_out, train, test, clean, model, trained, shared_cfg, adapt_cfg,
                                      ridge_alphas, fractions, repeats, progress))
    return pd.concat(tables, ignore_index=True)
