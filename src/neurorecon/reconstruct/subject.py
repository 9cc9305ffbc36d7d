"""One subject's image reconstructions: low-level from responses, then final images from the
generator, each also from the noise-free responses (the noise ceiling) on synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorecon.io.inputs import InputDataError
from neurorecon.responses import Responses
from neurorecon.reconstruct.diffusion import ImageGenerator, img2img
from neurorecon.reconstruct.lowlevel import LowLevelSpace, fit_lowlevel
from neurorecon.stimuli.images import load_stimulus_images


def lowlevel_subject(responses: Responses, stimuli_tsv: Path, cfg: dict, space: LowLevelSpace,
                     noise_free: np.ndarray | None) -> dict:
    """Fit the low-level decoder on training trials and reconstruct the test stimuli.

    Returns the decoder, test ids and uint8 images at the stimuli's size, plus the images from
    the noise-free test responses (``ceiling``) when they are given (synthetic data).
    """
    train_x, train_trials = responses.select("train", cfg["rois"])
    test_x, test_trials = responses.select("test", cfg["rois"])
    train_images = load_stimulus_images(stimuli_tsv, list(train_trials["stim_id"]))
    size = train_images.shape[1]
    decoder, shape = fit_lowlevel(train_x, train_images, space, cfg["alphas"], cfg["cv"])
    result = {"decoder": decoder, "stim_ids": list(test_trials["stim_id"].astype(str)),
              "images": space.decode(decoder.predict(test_x), shape, size), "ceiling": None}
    if noise_free is not None:
        result["ceiling"] = space.decode(decoder.predict(noise_free), shape, size)
    return result


def sampled_inputs(path: Path, stim_ids: list[str], kinds, text_as: str = "embedding", follows: dict | None = None
                   ) -> dict[str, dict[str, np.ndarray]]:
    """The decoded inputs beside the image embedding that ``kinds`` names (``text``, ``structure``),
    for the test stimuli in order, as ``draw_samples`` keywords: ``images`` from the measured
    responses, ``ceiling`` from the noise-free ones (empty on real data). Structure maps come back
    square (n, s, s); text as embeddings, or as the decoded captions (``text_as="caption"``, for a
    pipeline that encodes prompts itself). ``follows``: the maps (kind, size) the generator's control
    branch was trained on, refused when the decoded maps are of another kind or size."""
    from neurorecon.artifacts import verify_artifact

    wanted = [kind for kind in kinds if kind != "image"]
    if not wanted:
        return {"images": {}, "ceiling": {}}
    verify_artifact(path)
    stored = {"text": "captions" if text_as == "caption" else "text", "structure": "structure"}
    with np.load(path, allow_pickle=False) as data:
        if [str(s) for s in data["stim_ids"]] != list(stim_ids):
            raise InputDataError(path, "the decoded inputs list other test stimuli than the decoded image embeddings")
        missing = [stored[kind] for kind in wanted if stored[kind] not in data.files]
        if missing:
            hint = ("decode.inputs.method: retrieval decodes captions; ridge decodes embeddings only"
                    if "captions" in missing else "add them to decode.inputs.kinds")
            raise InputDataError(path, f"no decoded {missing}; {hint}")
        if "structure" in wanted and follows is not None:
            kind = str(data["structure_kind"]) if "structure_kind" in data.files else "unknown"
            size = int(round(np.sqrt(data["structure"].shape[1])))
            if (kind, size) != (follows["kind"], follows["size"]):
                raise InputDataError(path, f"the decoded structure maps are {kind} at {size} cells, but the "
                                           f"generator's control branch follows {follows['kind']} at "
                                           f"{follows['size']}; set stimuli.structure to match it")
        out = {"images": {}, "ceiling": {}}
        for kind in wanted:
            for name, prefix in (("images", ""), ("ceiling", "ceiling_")):
                key = prefix + stored[kind]
                if key not in data.files:
                    continue
                values = data[key]
                if kind == "structure":
                    side = int(round(np.sqrt(values.shape[1])))
                    values = values.reshape(len(values), side, side)
                out[name][kind] = values
    return out


def rescale_embeddings(embeddings: np.ndarray, norm: float | None) -> np.ndarray:
    """Embeddings rescaled to L2 ``norm`` (None: as they are)."""
    if norm is None:
        return embeddings
    lengths = np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    return embeddings / lengths * norm


def draw_samples(generator: ImageGenerator, start_images: np.ndarray, embeddings: np.ndarray, sampling: dict,
                 progress=None, text: np.ndarray | None = None, structure: np.ndarray | None = None) -> np.ndarray:
    """``sampling["samples"]`` images per stimulus: uint8 (n, samples, H, W, 3), sample k drawn
    with seed ``sampling["seed"] + k``; steered also by decoded ``text`` embeddings and
    ``structure`` maps (n, s, s) when given."""
    conditioning = rescale_embeddings(embeddings, sampling["embedding_norm"]).astype(np.float32)
    draws = [img2img(generator, start_images, conditioning, sampler=sampling["sampler"], steps=sampling["steps"],
                     guidance=sampling["guidance"], strength=sampling["strength"], seed=sampling["seed"] + k,
                     batch_size=sampling["batch_size"], progress=progress, text=text,
                     text_guidance=sampling["text_guidance"], structure=structure,
                     structure_scale=sampling["structure_scale"])
             for k in range(sampling["samples"])]
    return np.stack(draws, axis=1)


def choose_samples(sample_embeddings: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """Index of the sample whose CLIP embedding is most similar (cosine) to the decoded embedding,
    per stimulus: the brain-guided selection of MindEye (Scotti et al. 2023); the stimulus itself
    is never consulted. ``sample_embeddings``: (n, samples, d)."""
    unit = sample_embeddings / np.maximum(np.linalg.norm(sample_embeddings, axis=-1, keepdims=True), 1e-12)
    target = decoded / np.maximum(np.linalg.norm(decoded, axis=-1, keepdims=True), 1e-12)
    return np.einsum("nkd,nd->nk", unit, target).argmax(axis=1)


def sampling_sets(stim_ids: list[str], lowlevel: dict, decoded: np.ndarray, ceiling_decoded: np.ndarray | None,
                  inputs: dict, sources: str) -> dict:
    """The sets :func:`brain_guided_images` draws: ``images`` from the measured responses' low-level
    images, decoded embeddings (of ``stim_ids``) and further inputs (``sampled_inputs``), and
    ``ceiling`` from the noise-free ones when ``ceiling_decoded`` is given. The low-level images must
    be of the same test stimuli, in the same order; ``sources`` names the two files in the error."""
    if list(stim_ids) != [str(s) for s in lowlevel["stim_ids"]]:
        raise ValueError(f"{sources} list different test stimuli")
    sets = {"images": (lowlevel["images"], decoded, inputs["images"])}
    if ceiling_decoded is not None:
        sets["ceiling"] = (lowlevel["ceiling"], ceiling_decoded, inputs["ceiling"])
    return sets


def brain_guided_images(generator: ImageGenerator, clip_bundle, sets: dict, sampling: dict, progress=None
                        ) -> dict[str, np.ndarray]:
    """Draw and choose the final images of each named set (``images``; ``ceiling`` from noise-free
    responses): ``sets[name]`` is (start images, decoded image embeddings, further decoded inputs as
    ``draw_samples`` keywords). Returns ``<name>`` (the chosen images), ``<name>_samples`` and
    ``<name>_chosen`` (the index of the kept sample) per set."""
    from PIL import Image

    from neurorecon.stimuli.clip import embed_images

    arrays = {}
    for name, (start_images, embeddings, extra) in sets.items():
        samples = draw_samples(generator, start_images, embeddings, sampling,
                               progress=(lambda batches, _name=name: progress(batches, _name)) if progress else None,
                               **extra)
        n, k = samples.shape[:2]
        flat = samples.reshape(n * k, *samples.shape[2:])
        sample_embeddings = embed_images(clip_bundle, [Image.fromarray(image) for image in flat])
        chosen = choose_samples(sample_embeddings.reshape(n, k, -1), embeddings)
        arrays[name] = samples[np.arange(n), chosen]
        arrays[f"{name}_samples"] = samples
        arrays[f"{name}_chosen"] = chosen
    return arrays
