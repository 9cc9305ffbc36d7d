"""Metrics of video reconstruction, per test segment.

Decoded targets: the keyframe embedding's 2-way identification, the blurry video's pixel
correlation, and the motion: flow end-point error against the true clip's flow and the accuracy of
the motion direction read from the decoded flow. Generated clips: the video papers' pixel metrics
(two SSIMs, PSNR), MinD-Video's frame- and video-level N-way identification, NeuroClips' CLIP-pcc,
and the motion of the generated clips themselves. Each with its chance level (the same comparison
against mismatched test segments) and, for synthetic data, its noise ceiling (the same decoders,
and generator, on the noise-free samples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorecon.decode.video import flow_targets, motion_direction
from neurorecon.evaluate.retrieval import row_correlations, two_way_identification

PERMUTATIONS = 200


def endpoint_error(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per segment, the mean over flow cells of the length of the flow difference (image sides / s)."""
    return np.linalg.norm((predicted - true).reshape(len(true), -1, 2), axis=2).mean(axis=1)


def _shuffled_mean(score, predicted: np.ndarray, true, seed: int = 0) -> float:
    """The score's mean against the test segments in random order (its chance level)."""
    rng = np.random.default_rng(seed)
    return float(np.mean([np.mean(score(predicted, true[rng.permutation(len(true))])) for _ in range(PERMUTATIONS)]))


def video_metrics(predicted: dict[str, np.ndarray], true: dict[str, np.ndarray], directions: np.ndarray | None,
                  ceiling: dict[str, np.ndarray] | None = None) -> list[dict]:
    """Rows (metric, value, chance, ceiling, n) for decoded ``predicted`` targets (keyframe, blurry,
    flow) against the ``true`` ones, and the decoded motion direction against the clips'
    ``directions`` where they are known (the synthetic world's; CC2017 has none)."""
    scores = {
        "keyframe_clip_2way": (lambda p, t: two_way_identification(p, t), "keyframe"),
        "blurry_pixcorr": (lambda p, t: row_correlations(p, t), "blurry"),
    }
    rows = []
    for metric, (score, kind) in scores.items():
        rows.append({"metric": metric, "value": float(np.mean(score(predicted[kind], true[kind]))),
                     "chance": _shuffled_mean(score, predicted[kind], true[kind]),
                     "ceiling": float(np.mean(score(ceiling[kind], true[kind]))) if ceiling else np.nan,
                     "n": len(true[kind])})
    return rows + motion_rows(predicted["flow"], true["flow"], directions, ceiling["flow"] if ceiling else None,
                              ("flow_epe", "motion_direction_acc"))


def motion_rows(flow: np.ndarray, true_flow: np.ndarray, directions: np.ndarray | None,
                ceiling_flow: np.ndarray | None, names: tuple[str, str]) -> list[dict]:
    """Rows named ``names`` for flow fields (decoded, or measured on generated clips) against the
    true clips' flow: the end-point error, and the accuracy of the motion direction read from the
    flow where the clips' ``directions`` are known."""
    def direction_hits(values, labels):
        return motion_direction(values) == labels

    scores = [(names[0], endpoint_error, true_flow)] + ([(names[1], direction_hits, directions)]
                                                         if directions is not None else [])
    return [{"metric": metric, "value": float(np.mean(score(flow, truth))),
             "chance": _shuffled_mean(score, flow, truth),
             "ceiling": float(np.mean(score(ceiling_flow, truth))) if ceiling_flow is not None else np.nan,
             "n": len(truth)} for metric, score, truth in scores]


# ---- generated clips --------------------------------------------------------------------------
# Pixel metrics as the video papers compute them, per frame index and averaged: two SSIMs that
# differ (MindEye-style on grey frames with a Gaussian window, as NeuroClips' evaluation computes it;
# MinD-Video's on RGB uint8 with the default 7x7 window and data_range 255), and PSNR on uint8.
PIXEL_PERMUTATIONS = 20   # shuffles for the pixel metrics' chance (each SSIMs every frame)


def ssim_grey_gaussian(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per clip, the mean over frames of the MindEye-style SSIM: grey in [0, 1], Gaussian window
    sigma 1.5, population covariance (NeuroClips' evaluation)."""
    from skimage.color import rgb2gray
    from skimage.metrics import structural_similarity

    return np.array([np.mean([structural_similarity(rgb2gray(p), rgb2gray(t), gaussian_weights=True, sigma=1.5,
                                                    use_sample_covariance=False, data_range=1.0)
                              for p, t in zip(clip_p, clip_t)]) for clip_p, clip_t in zip(predicted, true)])


def ssim_rgb_255(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per clip, the mean over frames of MinD-Video's SSIM: RGB uint8, data_range 255, 7x7 window."""
    from skimage.metrics import structural_similarity

    return np.array([np.mean([structural_similarity(p, t, data_range=255, channel_axis=-1)
                              for p, t in zip(clip_p, clip_t)]) for clip_p, clip_t in zip(predicted, true)])


def psnr(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per clip, the mean over frames of the PSNR of uint8 frames (data_range 255)."""
    from skimage.metrics import peak_signal_noise_ratio

    with np.errstate(divide="ignore"):   # identical frames: infinite PSNR
        return np.array([np.mean([peak_signal_noise_ratio(t, p, data_range=255) for p, t in zip(clip_p, clip_t)])
                         for clip_p, clip_t in zip(predicted, true)])


def resize_clips(clips: np.ndarray, side: int) -> np.ndarray:
    """uint8 clips (n, F, H, W, 3) resized (area-averaged down, bilinear up) to side x side."""
    from PIL import Image

    if clips.shape[2:4] == (side, side):
        return clips
    method = Image.Resampling.BOX if clips.shape[2] > side else Image.Resampling.BILINEAR
    return np.stack([[np.asarray(Image.fromarray(frame).resize((side, side), method)) for frame in clip]
                     for clip in clips])


def n_way_top_k_acc(predicted_probs: np.ndarray, true_probs: np.ndarray, n_way: int, num_trials: int = 100,
                    top_k: int = 1, rng: np.random.Generator | None = None, true_classes: int = 3) -> np.ndarray:
    """MinD-Video's N-way top-k identification, per item: the true item's classes are the
    classifier's top 3 (``true_classes``) on the true frame (or clip); a trial draws ``n_way - 1``
    other classes and counts when, in the predicted frame's class probabilities, one of the true
    classes (tried in turn) ranks in the top ``k`` against them. Returns each item's share of
    correct trials. With 3 true classes, chance (top-1) is 3 / (N + 2), not 1 / N: any of the
    three may beat the distractors."""
    rng = rng or np.random.default_rng(0)
    n_classes = predicted_probs.shape[1]
    if n_classes - true_classes < n_way - 1:
        raise ValueError(f"{n_way}-way identification needs at least {n_way - 1 + true_classes} classes; "
                         f"the classifier has {n_classes}")
    scores = np.empty(len(predicted_probs))
    for i, (pred, true) in enumerate(zip(predicted_probs, true_probs)):
        gt_ids = np.argsort(true)[-true_classes:]
        pick_range = np.setdiff1d(np.arange(n_classes), gt_ids)
        # each trial's distractors: n_way - 1 classes drawn without replacement
        distractors = pick_range[rng.random((num_trials, len(pick_range))).argsort(axis=1)[:, :n_way - 1]]
        beaten_by = (pred[distractors][:, None, :] > pred[gt_ids][None, :, None]).sum(axis=2)   # trials x 3
        scores[i] = np.mean((beaten_by < top_k).any(axis=1))
    return scores


def clip_pcc(frame_embeddings: np.ndarray) -> np.ndarray:
    """Per clip, the mean cosine similarity between its frames' CLIP embeddings (n, F, d), over
    all pairs of distinct frames (NeuroClips' CLIP-pcc)."""
    unit = frame_embeddings / np.linalg.norm(frame_embeddings, axis=-1, keepdims=True)
    gram = np.einsum("nfd,ngd->nfg", unit, unit)
    frames = gram.shape[1]
    return (gram.sum(axis=(1, 2)) - np.trace(gram, axis1=1, axis2=2)) / (frames * (frames - 1))


def class_probabilities(embeddings: np.ndarray, class_embeddings: np.ndarray, logit_scale: float) -> np.ndarray:
    """A zero-shot CLIP classifier's class probabilities: softmax of scaled cosine similarities."""
    unit = embeddings / np.linalg.norm(embeddings, axis=-1, keepdims=True)
    classes = class_embeddings / np.linalg.norm(class_embeddings, axis=-1, keepdims=True)
    logits = logit_scale * unit @ classes.T
    logits -= logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    return probs / probs.sum(axis=-1, keepdims=True)


def _derangements(n: int, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` random orders of ``n`` items that move every item (a mismatched pairing each)."""
    rng = np.random.default_rng(seed)
    orders = []
    while len(orders) < count:
        order = rng.permutation(n)
        if n < 2 or not np.any(order == np.arange(n)):
            orders.append(order)
    return orders


def pixel_rows(generated: np.ndarray, true: np.ndarray, ceiling: np.ndarray | None) -> list[dict]:
    """SSIM (both variants), PSNR of generated clips against the true ones, at the true clips'
    size; chance: mismatched pairs of the same sets; ceiling: clips from noise-free responses."""
    generated = resize_clips(generated, true.shape[2])
    ceiling = None if ceiling is None else resize_clips(ceiling, true.shape[2])
    rows = []
    for metric, score in (("ssim_grey_gaussian", ssim_grey_gaussian), ("ssim_rgb_255", ssim_rgb_255),
                          ("psnr", psnr)):
        chance = np.mean([score(generated, true[order]).mean() for order in _derangements(len(true), PIXEL_PERMUTATIONS)])
        rows.append({"metric": metric, "value": float(score(generated, true).mean()), "chance": float(chance),
                     "ceiling": float(score(ceiling, true).mean()) if ceiling is not None else np.nan, "n": len(true)})
    return rows


def identification_rows(prefix: str, predicted_probs: np.ndarray, true_probs: np.ndarray,
                        ceiling_probs: np.ndarray | None, n_ways=(2, 50), num_trials: int = 100,
                        true_classes: int = 3) -> list[dict]:
    """N-way top-1 rows (MinD-Video's n_way_top_k_acc) for class probabilities of generated items
    (frames or clips, flattened), with the ceiling's and chance (the same on mismatched pairs,
    whose expectation is 3 / (N + 2) with MinD-Video's three true classes, 1 / N with MinD-3D's one)."""
    rows = []
    order = _derangements(len(true_probs), 1, seed=1)[0]
    for n_way in n_ways:
        if predicted_probs.shape[1] < n_way - 1 + true_classes:
            continue
        def acc(probs, truth):
            return float(n_way_top_k_acc(probs, truth, n_way, num_trials, rng=np.random.default_rng(n_way),
                                         true_classes=true_classes).mean())
        rows.append({"metric": f"{prefix}_{n_way}way_top1", "value": acc(predicted_probs, true_probs),
                     "chance": acc(predicted_probs, true_probs[order]),
                     "ceiling": acc(ceiling_probs, true_probs) if ceiling_probs is not None else np.nan,
                     "n": len(true_probs)})
    return rows


def hf_classifier(folder: str | Path, video: bool, frames: int, batch_size: int = 16):
    """A local transformers classifier folder, loaded once, as MinD-Video classifies: a function from
    clips (n, F, H, W, 3 uint8) to class probabilities, per frame (n * F, classes) with an image
    classifier (ViT, ImageNet), or per clip (n, classes) with a video classifier (VideoMAE,
    Kinetics-400) loaded for ``frames`` frames."""
    import torch
    from transformers import AutoImageProcessor, AutoModelForImageClassification, VideoMAEForVideoClassification

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no config.json; not a transformers classifier folder")
    processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    if video:
        model = VideoMAEForVideoClassification.from_pretrained(folder, local_files_only=True, use_safetensors=True,
                                                               num_frames=frames)
    else:
        model = AutoModelForImageClassification.from_pretrained(folder, local_files_only=True, use_safetensors=True)
    model.eval()

    @torch.no_grad()
    def probabilities(clips: np.ndarray) -> np.ndarray:
        items = clips if video else clips.reshape(-1, *clips.shape[2:])
        out = []
        for start in range(0, len(items), batch_size):
            batch = items[start:start + batch_size]
            inputs = processor([list(clip) for clip in batch] if video else list(batch), return_tensors="pt")
            out.append(model(**inputs).logits.softmax(-1).numpy())
        return np.concatenate(out)

    return probabilities


def object_class_names() -> list[str]:
    """The synthetic world's objects as class names, "a {size} {colour} {shape}" (72): the classes
    the project's CLIP, as a zero-shot classifier, sorts frames into for N-way identification."""
    from neurorecon.synth.scenes import COLOURS, SHAPES, SIZES

    return [f"a {size} {colour} {shape}" for size in SIZES for colour in COLOURS for shape in SHAPES]


def _frame_classes(embed_frames, class_embeddings: np.ndarray, logit_scale: float, clips: np.ndarray):
    """Zero-shot CLIP class probabilities of every frame (n * F, classes) and of every clip
    (its frames' mean embedding; n, classes), and the frame embeddings (n, F, d)."""
    embeddings = embed_frames(clips)
    frame_probs = class_probabilities(embeddings.reshape(-1, embeddings.shape[-1]), class_embeddings, logit_scale)
    clip_probs = class_probabilities(embeddings.mean(axis=1), class_embeddings, logit_scale)
    return frame_probs, clip_probs, embeddings


def generated_video_metrics(sets: dict, true_frames: np.ndarray, true_flow: np.ndarray, directions: np.ndarray | None,
                            embed_frames, embed_texts, logit_scale: float, cfg: dict) -> tuple[list[dict], list[str]]:
    """Rows (method, metric, value, chance, ceiling, n) for each set of clips (``sets``: method ->
    (clips, clips from noise-free responses or None), uint8 (n, F, H, W, 3)) against the true
    clips, and notes on the classifiers that were skipped.

    ``embed_frames`` maps clips to CLIP frame embeddings (n, F, d) and ``embed_texts`` class names
    to text embeddings: the project's CLIP as a zero-shot classifier over ``cfg["classes"]``
    (a file of class names, or the synthetic world's objects). With ``cfg["vit"]`` /
    ``cfg["videomae"]`` (local transformers folders) MinD-Video's own classifiers run too.
    """
    names = object_class_names() if cfg["classes"] is None else [
        line.strip() for line in Path(cfg["classes"]).read_text().splitlines() if line.strip()]
    class_embeddings = embed_texts(names)
    true_frame_probs, true_clip_probs, true_embeddings = _frame_classes(embed_frames, class_embeddings, logit_scale,
                                                                        true_frames)
    hf = {"vit": (False, "frame_vit"), "videomae": (True, "video_videomae")}
    classifiers = {prefix: hf_classifier(cfg[key], video, true_frames.shape[1])
                   for key, (video, prefix) in hf.items() if cfg[key]}
    true_probs = {prefix: classify(true_frames) for prefix, classify in classifiers.items()}
    notes = [f"{prefix} N-way skipped: evaluate.video.{key} names no local transformers folder"
             for key, (_, prefix) in hf.items() if not cfg[key]]
    rows = []
    for method, (clips, ceiling) in sets.items():
        method_rows = pixel_rows(clips, true_frames, ceiling)
        frame_probs, clip_probs, embeddings = _frame_classes(embed_frames, class_embeddings, logit_scale, clips)
        ceiling_classes = (_frame_classes(embed_frames, class_embeddings, logit_scale, ceiling)
                           if ceiling is not None else (None, None, None))
        trials = cfg["num_trials"]
        method_rows += identification_rows("frame_clip", frame_probs, true_frame_probs, ceiling_classes[0],
                                           num_trials=trials)
        method_rows += identification_rows("video_clip", clip_probs, true_clip_probs, ceiling_classes[1],
                                           num_trials=trials)
        for prefix, classify in classifiers.items():
            method_rows += identification_rows(prefix, classify(clips), true_probs[prefix],
                                               classify(ceiling) if ceiling is not None else None, num_trials=trials)
        mixed = np.stack([embeddings[_derangements(len(embeddings), 1, seed=frame)[0], frame]
                          for frame in range(embeddings.shape[1])], axis=1)
        method_rows.append({"metric": "clip_pcc", "value": float(clip_pcc(embeddings).mean()),
                            "chance": float(clip_pcc(mixed).mean()),
                            "ceiling": float(clip_pcc(ceiling_classes[2]).mean()) if ceiling is not None else np.nan,
                            "n": len(clips)})
        method_rows += motion_rows(flow_targets(clips), true_flow, directions,
                                   flow_targets(ceiling) if ceiling is not None else None,
                                   ("generated_flow_epe", "generated_direction_acc"))
        rows += [{**row, "method": method} for row in method_rows]
    rows.append({"metric": "clip_pcc", "value": float(clip_pcc(true_embeddings).mean()), "chance": np.nan,
                 "ceiling": np.nan, "n": len(true_frames), "method": "true_clips"})
    return rows, notes
