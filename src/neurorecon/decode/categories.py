"""Decoding the category of what was seen from EEG epochs, cross-validated, and mapping the
decoded category probabilities into the CLIP image space so the generator can draw them.

Methods, all scored with the same stratified folds (area under the ROC curve, one-vs-rest for
more than two categories):
- ``logistic``: logistic regression on every standardised sample of the epoch, the plain
  baseline of eeg-notebooks' N170 analysis;
- ``shrinkage-lda``: LDA with Ledoit-Wolf shrinkage on time-binned amplitudes (Blankertz et al. 2011);
- ``xdawn-riemann``: xDAWN-filtered ERP covariance matrices mapped to the Riemannian tangent space,
  then logistic regression (Barachant & Congedo 2014; pyriemann).
"""

from __future__ import annotations

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

METHODS = ("logistic", "shrinkage-lda", "xdawn-riemann")


def category_epochs(raw, events: np.ndarray, categories: list[dict], cfg: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band-passed, baseline-corrected epochs (n, channels, times) in microvolts with peak-to-peak
    rejection; the category index of each (order of ``categories``) and the times (s)."""
    import mne

    raw = raw.copy().load_data(verbose="error").filter(cfg["l_freq"], cfg["h_freq"], verbose="error")
    event_id = {c["folder"]: int(c["marker"]) for c in categories}
    reject = {"eeg": cfg["reject_uv"] * 1e-6} if cfg["reject_uv"] else None
    epochs = mne.Epochs(raw, events, event_id, cfg["tmin"], cfg["tmax"], baseline=(cfg["tmin"], 0.0), reject=reject,
                        preload=True, verbose="error")
    marker_index = {int(c["marker"]): i for i, c in enumerate(categories)}
    return epochs.get_data(copy=False) * 1e6, np.array([marker_index[m] for m in epochs.events[:, 2]]), epochs.times


def _time_bins(epochs: np.ndarray, width: int) -> np.ndarray:
    usable = epochs.shape[2] // width * width
    return epochs[:, :, :usable].reshape(len(epochs), epochs.shape[1], -1, width).mean(-1).reshape(len(epochs), -1)


def classifier(method: str, cfg: dict):
    """An unfitted scikit-learn pipeline for ``method`` on epochs (n, channels, times)."""
    flatten = FunctionTransformer(lambda x: x.reshape(len(x), -1))
    if method == "logistic":
        return make_pipeline(flatten, StandardScaler(), LogisticRegression(max_iter=2000))
    if method == "shrinkage-lda":
        return make_pipeline(FunctionTransformer(_time_bins, kw_args={"width": cfg["bin_samples"]}),
                             LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))
    if method == "xdawn-riemann":
        from pyriemann.estimation import XdawnCovariances
        from pyriemann.tangentspace import TangentSpace

        return make_pipeline(XdawnCovariances(nfilter=cfg["xdawn_filters"], estimator="oas"), TangentSpace(),
                             LogisticRegression(max_iter=2000))
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def cross_validate(epochs: np.ndarray, labels: np.ndarray, times: np.ndarray, cfg: dict) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Fold-averaged AUC and accuracy of every method (rows) and each method's out-of-fold class
    probabilities (n, categories). Epochs are cut to ``cfg['window']`` first."""
    window = (times >= cfg["window"][0] - 1e-9) & (times <= cfg["window"][1] + 1e-9)
    x = epochs[:, :, window]
    folds = list(StratifiedKFold(cfg["folds"], shuffle=True, random_state=cfg["seed"]).split(x, labels))
    n_classes = int(labels.max()) + 1
    rows, probabilities = [], {}
    for method in cfg["methods"]:
        out_of_fold = np.zeros((len(x), n_classes))
        aucs, accuracies = [], []
        for train, test in folds:
            model = classifier(method, cfg).fit(x[train], labels[train])
            probability = model.predict_proba(x[test])
            out_of_fold[test] = probability
            aucs.append(roc_auc_score(labels[test], probability[:, 1]) if n_classes == 2
                        else roc_auc_score(labels[test], probability, multi_class="ovr"))
            accuracies.append(float((probability.argmax(1) == labels[test]).mean()))
        probabilities[method] = out_of_fold
        shares = np.bincount(labels) / len(labels)
        rows += [{"method": method, "metric": "auc", "value": float(np.mean(aucs)), "chance": 0.5, "ceiling": None,
                  "n": len(x), "sd_over_folds": float(np.std(aucs))},
                 {"method": method, "metric": "accuracy", "value": float(np.mean(accuracies)),
                  "chance": float(shares.max()), "ceiling": None, "n": len(x), "sd_over_folds": float(np.std(accuracies))}]
    return rows, probabilities


def decoded_embeddings(probabilities: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each trial's embedding: the categories' mean CLIP image embeddings weighted by the decoded
    probabilities, so a confident decoder lands on its category and an unsure one in between."""
    return probabilities @ centroids


def category_centroids(embeddings: dict[str, np.ndarray], stimuli, categories: list[dict]) -> np.ndarray:
    """Mean CLIP image embedding of each category's training images (rows in ``categories`` order)."""
    index = {str(s): i for i, s in enumerate(embeddings["stim_ids"])}
    train = stimuli[stimuli["split"] == "train"]
    return np.stack([embeddings["image"][[index[str(s)] for s in train.loc[train["category"] == c["folder"], "stim_id"]]].mean(0)
                     for c in categories])
