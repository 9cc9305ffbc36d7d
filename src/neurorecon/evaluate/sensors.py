"""Evaluate an EEG or sEEG subject's decoders: zero-shot retrieval and identification against
the CLIP embeddings of the test images (whose concepts training never saw), category accuracy
where the encoder has a category head, each with chance and noise ceiling."""

from __future__ import annotations

import numpy as np

from neurorecon.decode.ridge import RidgeDecoder, embedding_rows
from neurorecon.decode.sensors import SensorEncoder, category_labels, encode
from neurorecon.evaluate.retrieval import embedding_metrics


def category_rows(probability: np.ndarray, labels: np.ndarray, ceiling_probability: np.ndarray | None) -> dict:
    """Accuracy of the most probable class; chance is that of guessing with the test labels'
    frequencies (sum of squared class shares)."""
    shares = np.bincount(labels) / len(labels)
    return {"metric": "category_accuracy", "value": float((probability.argmax(1) == labels).mean()),
            "chance": float((shares ** 2).sum()),
            "ceiling": None if ceiling_probability is None else float((ceiling_probability.argmax(1) == labels).mean()),
            "n": len(labels)}


def evaluate_sensor_subject(responses, noise_free: np.ndarray | None, encoder: SensorEncoder, ridge: RidgeDecoder,
                            embeddings: dict[str, np.ndarray], stimuli, category: str | None) -> list[dict]:
    """Metric rows (method, metric, value, chance, ceiling, n) for the encoder and the ridge baseline."""
    test = (responses.trials["split"] == "test").to_numpy()
    test_ids = responses.trials.loc[test, "stim_id"].astype(str).tolist()
    true = embedding_rows(embeddings, test_ids, "image")
    x = responses.values[test]
    rows = []
    for method, predict in (("ridge", ridge.predict),
                            ("encoder", lambda values: encode(encoder, responses.epochs(values))["embedding"])):
        ceiling = None if noise_free is None else predict(noise_free)
        rows += [{"method": method, **row} for row in embedding_metrics(predict(x), true, ceiling)]
    if encoder.category is not None and category:
        labels = category_labels(stimuli, category)
        ceiling = None if noise_free is None else encode(encoder, responses.epochs(noise_free))["category_probability"]
        rows.append({"method": "encoder", **category_rows(encode(encoder, responses.epochs(x))["category_probability"],
                                                          np.array([labels[s] for s in test_ids]), ceiling)})
    return rows
