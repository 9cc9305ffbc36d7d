"""Decoded inputs beside the image embedding: the CLIP text embedding of the stimulus' caption and
its structure map.

Takagi & Nishimoto's improved method (2023) decodes captions and depth beside image features;
Brain-Streams (2024) decodes one stream per input kind and guides the generator with each;
NeuroPictor (2024) steers it with a decoded structural map through a control branch. These are the
decoded text and structure the image generator takes (``reconstruct.sampling.inputs``). Two methods:

- ``ridge``: one ridge decoder per input, to the caption's CLIP text embedding and to the map;
- ``retrieval``: a ridge decoder to the caption's bag of words, then the training stimulus whose
  caption's words correlate best with the decoded ones; its caption (and that caption's CLIP text
  embedding) and its structure map are the decoded inputs. Words are a far sharper target than a
  small CLIP's text embedding, where shape weighs little beside colour and place, and the retrieved
  map is a whole, crisp outline where a ridge-decoded map is a blur.
"""

from __future__ import annotations

import re

import numpy as np

from neurorecon.decode.keyed import rows_of
from neurorecon.decode.ridge import embedding_rows, fit_ridge
from neurorecon.evaluate.retrieval import (
    METRICS, matched_and_chance, pearson_matrix, row_correlations, two_way_identification,
)
from neurorecon.responses import Responses

KINDS = ("text", "structure")


def input_targets(kinds, embeddings: dict[str, np.ndarray], structure: dict | None, stim_ids) -> dict[str, np.ndarray]:
    """Rows (one per ``stim_ids``) of each decoded input: the caption's CLIP text embedding, the
    flattened structure map."""
    targets = {}
    for kind in kinds:
        if kind == "text":
            targets[kind] = embedding_rows(embeddings, stim_ids, "text")
        elif kind == "structure":
            maps = structure["maps"][rows_of(structure["stim_ids"], stim_ids)]
            targets[kind] = maps.reshape(len(maps), -1)
        else:
            raise ValueError(f"unknown decoded input {kind!r}; expected one of {KINDS}")
    return targets


def caption_words(captions) -> tuple[list[str], np.ndarray]:
    """The vocabulary of ``captions`` (lower-case words, sorted) and each caption's bag of words
    (n, words) as 0/1."""
    tokens = [set(re.findall(r"[a-z]+", str(caption).lower())) for caption in captions]
    vocabulary = sorted(set().union(*tokens)) if tokens else []
    return vocabulary, np.asarray([[word in words for word in vocabulary] for words in tokens], dtype=np.float64)


def decode_inputs(responses: Responses, kinds, embeddings: dict[str, np.ndarray], structure: dict | None, cfg: dict,
                  noise_free: np.ndarray | None, captions: dict[str, str] | None = None) -> dict:
    """Fit the decoders on the training trials and decode the test trials (and the noise-free test
    responses, when given) by ``cfg["method"]``. ``captions`` (stim_id -> caption) are needed by
    the retrieval method. Returns ``decoders`` (name -> RidgeDecoder), ``stim_ids``, ``true``,
    ``predicted`` and ``ceiling`` (None without noise-free responses), the last three keyed by
    kind, and for retrieval ``captions`` / ``ceiling_captions`` (the retrieved captions)."""
    train_x, train_trials = responses.select("train", cfg["rois"])
    test_x, test_trials = responses.select("test", cfg["rois"])
    test_ids = test_trials["stim_id"].astype(str).tolist()
    train_ids = train_trials["stim_id"].astype(str).tolist()
    rows = {"test": test_x, "ceiling": noise_free}
    out = {"stim_ids": test_ids, "true": input_targets(kinds, embeddings, structure, test_ids)}
    if cfg["method"] == "ridge":
        train_targets = input_targets(kinds, embeddings, structure, train_ids)
        decoders = {kind: fit_ridge(train_x, train_targets[kind], cfg["alphas"], cfg["cv"]) for kind in kinds}
        decoded = {name: None if x is None else {kind: d.predict(x) for kind, d in decoders.items()}
                   for name, x in rows.items()}
        return {**out, "decoders": decoders, "predicted": decoded["test"], "ceiling": decoded["ceiling"]}
    if cfg["method"] != "retrieval":
        raise ValueError(f"unknown decode.inputs.method {cfg['method']!r}; expected 'ridge' or 'retrieval'")
    if captions is None:
        raise ValueError("retrieval decoding needs the stimuli's captions")
    corpus = list(dict.fromkeys(train_ids))          # each training stimulus once, in trial order
    vocabulary, corpus_words = caption_words([captions[s] for s in corpus])
    position = {stim_id: i for i, stim_id in enumerate(corpus)}
    train_words = corpus_words[[position[stim_id] for stim_id in train_ids]]
    decoder = fit_ridge(train_x, train_words, cfg["alphas"], cfg["cv"])
    corpus_targets = input_targets(kinds, embeddings, structure, corpus)
    result = {**out, "decoders": {"words": decoder}, "vocabulary": vocabulary, "ceiling": None}
    for name, x in rows.items():
        if x is None:
            continue
        best = pearson_matrix(decoder.predict(x), corpus_words).argmax(axis=1)
        result["predicted" if name == "test" else "ceiling"] = {kind: corpus_targets[kind][best] for kind in kinds}
        result["captions" if name == "test" else "ceiling_captions"] = [captions[corpus[i]] for i in best]
    return result


def caption_recall(decoded, true) -> float:
    """Mean share of each true caption's words that its decoded caption also has."""
    _, words = caption_words([*decoded, *true])
    decoded_words, true_words = words[:len(decoded)], words[len(decoded):]
    return float(np.mean((decoded_words * true_words).sum(1) / np.maximum(true_words.sum(1), 1)))


def caption_rows(decoded, true, ceiling) -> list[dict]:
    """``caption_words``: the word recall of decoded captions; chance pairs each with another test
    stimulus' caption (the next one, cyclically)."""
    shifted = list(true[1:]) + list(true[:1])
    return [{"metric": "caption_words", "value": caption_recall(decoded, true), "chance": caption_recall(decoded, shifted),
             "ceiling": None if ceiling is None else caption_recall(ceiling, true), "n": len(true)}]


def input_metrics(kind: str, predicted: np.ndarray, true: np.ndarray, ceiling: np.ndarray | None) -> list[dict]:
    """Metric rows of one decoded input. Text: retrieval and 2-way identification among the test
    captions' embeddings (``text_*``). Structure: the mean correlation of each decoded map with its
    true map (chance: with the other test items' maps) and 2-way identification by correlation."""
    n = len(true)
    rows = []
    if kind == "text":
        for name in ("image_retrieval_top1", "clip_2way"):
            metric, chance = METRICS[name]
            rows.append({"metric": name.replace("image_retrieval", "text_retrieval").replace("clip_2way", "text_2way"),
                         "value": metric(predicted, true), "chance": chance(n),
                         "ceiling": None if ceiling is None else metric(ceiling, true), "n": n})
        return rows

    value, chance = matched_and_chance(pearson_matrix(predicted, true))
    rows.append({"metric": "structure_corr", "value": value, "chance": chance,
                 "ceiling": None if ceiling is None else float(row_correlations(ceiling, true).mean()), "n": n})
    rows.append({"metric": "structure_2way", "value": two_way_identification(predicted, true), "chance": 0.5,
                 "ceiling": None if ceiling is None else two_way_identification(ceiling, true), "n": n})
    return rows
