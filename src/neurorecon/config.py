"""Config checks that run before schema validation, with messages a user can act on.

JSON-schema's own message for a typo is "Additional properties are not allowed"; this walks the
config against the schema first and names the full key path with a did-you-mean suggestion.
"""

from __future__ import annotations

import difflib
from typing import Any

from neurorecon.layout import ablation_subjects, sensor_subjects_from_config, shared_subjects, subjects_from_config
from neurorecon.shipped import check_shipped_combination

RESNET_DOWNSAMPLING = 32  # OpenCLIP's ModifiedResNet: stem /4, three strided stages /8


class ConfigError(ValueError):
    """The config has a key or value the schema does not allow."""


def unknown_keys(config: Any, schema: dict, path: str = "") -> list[str]:
    """Messages for every config key the schema does not define, recursively."""
    if not isinstance(config, dict) or schema.get("type") not in ("object", None) or "properties" not in schema:
        return []
    known = schema["properties"]
    problems = []
    for key, value in config.items():
        where = f"{path}.{key}" if path else key
        if key not in known:
            if schema.get("additionalProperties", True) is False:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = f"; did you mean {path + '.' if path else ''}{close[0]!r}?" if close else ""
                allowed = ", ".join(sorted(known)) or "none"
                problems.append(f"unknown config key {where!r}{hint} (allowed here: {allowed})")
            continue
        problems.extend(unknown_keys(value, known[key], where))
    return problems


def check_config_keys(config: dict, schema: dict, source: str = "config") -> None:
    """Raise :class:`ConfigError` listing every unknown key in ``config``."""
    problems = unknown_keys(config, schema)
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))


def uncaptioned(config: dict) -> bool:
    """Whether the data source's stimulus table has no captions (Miyawaki; NSD without data.nsd.captions)."""
    source = config["data"]["source"]
    return source == "miyawaki" or (source == "nsd" and not config["data"]["nsd"].get("captions"))


def check_config_combinations(config: dict) -> None:
    """Raise :class:`ConfigError` for settings that are each valid but cannot work together."""
    source = config["data"]["source"]
    if source not in config["data"]:
        raise ConfigError(f"data.source is {source!r} but there is no data.{source} section")
    if uncaptioned(config) and config["decode"]["ridge"]["target"] == "text":
        raise ConfigError(f"decode.ridge.target 'text' needs captions, which the {source} stimulus table lacks; "
                          "use 'image'")
    _check_cross_subject(config)
    if config["benchmark"]["glm"]["enabled"] and source not in ("synthetic", "bids"):
        raise ConfigError(f"benchmark.glm times the single-trial GLM on BOLD runs, which data.source {source!r} "
                          "does not have (its responses are read, not estimated); set benchmark.glm.enabled: false")
    _check_decoded_inputs(config)
    encode = config["encode"]
    if encode["enabled"] and uncaptioned(config) and encode["captions"]["corpus"] == "stimuli" and subjects_from_config(config["data"]):
        raise ConfigError(f"encode.captions.corpus 'stimuli' reads the stimuli's captions, which the {source} stimulus "
                          f"table lacks; name a caption file (one caption per line) or set it to null")
    if source == "nsd" and encode["enabled"] and encode["rois"] not in (None, [config["data"]["nsd"]["roi"]]):
        raise ConfigError(f"encode.rois is {encode['rois']}, but the NSD responses have one ROI, "
                          f"{config['data']['nsd']['roi']!r} (data.nsd.roi); set encode.rois to "
                          f"[{config['data']['nsd']['roi']}] or null")
    targets = encode["synthesis"]["targets"]
    if isinstance(targets, str) and targets != "auto":
        raise ConfigError(f"encode.synthesis.targets is {targets!r}; expected auto or a list of ROI names")
    outside = sorted(set(targets) - set(encode["rois"])) if isinstance(targets, list) and encode["rois"] else []
    if outside:
        raise ConfigError(f"encode.synthesis.targets names {outside}, which encode.rois {encode['rois']} does not "
                          f"encode; add them there or drop them")
    for problem in check_shipped_combination(config):
        raise ConfigError(problem)
    _check_tiny_clip(config["stimuli"]["clip"])
    categories = config["decode"]["categories"]
    if source == "muse" and categories["reconstruct_with"] not in categories["methods"]:
        raise ConfigError(f"decode.categories.reconstruct_with is {categories['reconstruct_with']!r}, which is not in "
                          f"decode.categories.methods {categories['methods']}")
    sensors = sensor_subjects_from_config(config["data"])
    for modality in config["reconstruct"]["sensors"]:
        if not sensors[modality]:
            raise ConfigError(f"reconstruct.sensors lists {modality!r}, but the data have no {modality} subjects "
                              f"(set data.synthetic.{modality}.n_subjects, or data.bids.{modality}_subjects)")
    if source == "miyawaki":
        for key, rois in (("decode.ridge.rois", config["decode"]["ridge"]["rois"]),
                          ("decode.shared.rois", config["decode"]["shared"]["rois"] if config["decode"]["shared"]["enabled"] else None),
                          ("reconstruct.lowlevel.rois", config["reconstruct"]["lowlevel"]["rois"]),
                          ("encode.rois", config["encode"]["rois"] if config["encode"]["enabled"] else None)):
            if rois not in (None, ["visual"]):
                raise ConfigError(f"{key} is {rois}, but the Miyawaki responses have one ROI, 'visual'; set it to null")


def _check_decoded_inputs(config: dict) -> None:
    """The generator's decoded inputs must be decoded, and the control branch trained on the same maps."""
    recon, source = config["reconstruct"], config["data"]["source"]
    captionless = uncaptioned(config)
    if captionless and "text" in config["decode"]["inputs"]["kinds"]:
        raise ConfigError(f"decode.inputs.kinds lists 'text', which needs captions that the {source} stimulus table "
                          f"lacks; drop it (decode.inputs.kinds: [structure]){' or set data.nsd.captions' if source == 'nsd' else ''}")
    if captionless and config["decode"]["inputs"]["kinds"] and config["decode"]["inputs"]["method"] == "retrieval":
        raise ConfigError(f"decode.inputs.method 'retrieval' reads the stimuli's captions, which the {source} stimulus "
                          f"table lacks; use method: ridge")
    if (source != "synthetic" and "structure" in config["decode"]["inputs"]["kinds"]
            and config["stimuli"]["structure"]["kind"] == "silhouette" and subjects_from_config(config["data"])
            and source in ("nsd", "miyawaki")):
        raise ConfigError(f"stimuli.structure.kind 'silhouette' is drawn from the synthetic scenes' parameters, which "
                          f"data.source {source!r} does not have; use kind: edges")
    tiny = recon["diffusion"]["tiny"]
    if (recon["diffusion"]["model"] == "tiny" and tiny["training_images"] == "stimuli"
            and tiny["controlnet"]["structure"] == "silhouette"):
        raise ConfigError("reconstruct.diffusion.tiny.controlnet.structure 'silhouette' is drawn from synthetic scenes, "
                          "which training_images 'stimuli' does not have (its images are flipped photographs); "
                          "use structure: edges")
    fmri_subjects = subjects_from_config(config["data"])
    listed = recon["ablation"]["subjects"]
    unknown = sorted(set(map(str, listed if isinstance(listed, list) else [])) - set(fmri_subjects))
    if unknown and fmri_subjects:
        raise ConfigError(f"reconstruct.ablation.subjects names {unknown}, which the data do not have")
    extra = [kind for kind in recon["sampling"]["inputs"] if kind != "image"]
    if ablation_subjects(config):
        extra += [kind for combination in recon["ablation"]["combinations"] for kind in combination
                  if kind != "image" and kind not in extra]
    if not extra or not subjects_from_config(config["data"]) or recon["diffusion"]["model"] == "none":
        return
    missing = [kind for kind in extra if kind not in config["decode"]["inputs"]["kinds"]]
    if missing:
        raise ConfigError(f"reconstruct.sampling.inputs or reconstruct.ablation.combinations use {missing}, which "
                          f"decode.inputs.kinds does not decode; add them there or drop them from the inputs")
    if "text" in extra and captionless:
        raise ConfigError(f"reconstruct.sampling.inputs lists 'text', which needs captions that the {source} stimulus "
                          f"table lacks; set reconstruct.sampling.inputs: [image]")
    if recon["diffusion"]["model"] != "tiny":
        if "structure" in extra and not recon["diffusion"]["controlnet"]:
            raise ConfigError(f"reconstruct.sampling.inputs lists 'structure', but the pretrained generator "
                              f"{recon['diffusion']['model']!r} has no control branch: set reconstruct.diffusion."
                              f"controlnet to a ControlNetModel for it, or drop structure")
        if "text" in extra and config["decode"]["inputs"]["method"] != "retrieval":
            raise ConfigError(f"the pretrained generator {recon['diffusion']['model']!r} reads decoded text as "
                              f"captions (prompts), which decode.inputs.method 'retrieval' decodes; 'ridge' decodes "
                              f"embeddings only")
        return
    control, structure = recon["diffusion"]["tiny"]["controlnet"], config["stimuli"]["structure"]
    kind = control["structure"] if structure["kind"] == "auto" else structure["kind"]   # auto is checked when sampling
    if "structure" in extra and (control["structure"], control["map_size"]) != (kind, structure["size"]):
        raise ConfigError(f"the decoded structure maps are {structure['kind']} at {structure['size']} cells "
                          f"(stimuli.structure), but the control branch follows {control['structure']} at "
                          f"{control['map_size']} (reconstruct.diffusion.tiny.controlnet); make them equal")


def _check_tiny_clip(clip: dict) -> None:
    tiny = clip["tiny"]
    if clip["model"] == "tiny" and tiny["vision_tower"] == "resnet" and tiny["image_size"] % RESNET_DOWNSAMPLING:
        raise ConfigError(f"stimuli.clip.tiny.image_size is {tiny['image_size']}, but the resnet vision_tower needs a "
                          f"multiple of {RESNET_DOWNSAMPLING}; set image_size: 32 or more, or vision_tower: vit")


def _check_cross_subject(config: dict) -> None:
    """The cross-subject decoder's subject lists must name known subjects and not overlap."""
    shared, adapt = config["decode"]["shared"], config["decode"]["adapt"]
    known = subjects_from_config(config["data"])
    for key, listed in (("decode.shared.subjects", shared["subjects"] or []), ("decode.adapt.subjects", adapt["subjects"])):
        unknown = sorted(set(map(str, listed)) - set(known))
        if unknown:
            raise ConfigError(f"{key} names {unknown}, which the data do not have (subjects: {known})")
    if not shared["enabled"]:
        if config["reconstruct"]["decoder"] == "cross-subject":
            raise ConfigError("reconstruct.decoder 'cross-subject' needs decode.shared.enabled: true")
        if adapt["subjects"]:
            raise ConfigError("decode.adapt.subjects needs the cross-subject decoder; set decode.shared.enabled: true "
                              "or decode.adapt.subjects: []")
        return
    both = sorted(set(map(str, shared["subjects"] or [])) & set(map(str, adapt["subjects"])))
    if both:
        raise ConfigError(f"subject(s) {both} are in both decode.shared.subjects and decode.adapt.subjects; "
                          "an adapted subject must be held out of the shared training")
    if not shared_subjects(config):
        raise ConfigError("decode.shared has no subject to train on: every subject is in decode.adapt.subjects")
    if config["reconstruct"]["decoder"] == "cross-subject":
        covered = set(shared_subjects(config)) | set(map(str, adapt["subjects"]))
        missing = sorted(set(known) - covered)
        if missing:
            raise ConfigError(f"reconstruct.decoder is 'cross-subject' but subject(s) {missing} are in neither "
                              "decode.shared.subjects nor decode.adapt.subjects")

