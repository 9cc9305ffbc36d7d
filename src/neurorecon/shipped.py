"""The tiny models the project trains once and ships in ``models/``, loaded like pretrained weights.

Real users never train CLIP or Stable Diffusion: they load them. The synthetic world's tiny CLIP,
VAE, image UNet (with its control branch), video UNet and shape generator are its "pretrained models", so by default (``<section>.tiny.weights: shipped``)
a run loads the copies in ``models/`` through the same loaders as real weights instead of
training them again (which is most of a default run's time on a CPU, and gives different weights
on CPUs with other float kernels). ``weights: train`` trains them in the run instead;
``snakemake train_models`` retrains all five with the config's tiny settings and replaces the
shipped copies; ``snakemake train_image_model`` trains only the image UNet and its control branch, on
the shipped CLIP and VAE, ``snakemake train_video_model`` only the video UNet, from the shipped CLIP,
VAE and image UNet, and ``snakemake train_shape_model`` only the shape generator, on the shipped CLIP.

``models/manifest.json`` records, per model, the settings it was trained with, the sha256 of
every file and the training job's own manifest (code version, packages, git commit, host, time).
A config may only use a shipped model whose recorded settings equal its own tiny section, so an
edited setting is never silently ignored; the versions of the stages that read a shipped model
include its checksums, so re-shipped models rerun what depends on them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Mapping

from neurorecon.artifacts import canonical_json, config_hash, file_sha256, now_iso, write_json_atomic

MANIFEST = "manifest.json"
# the config section of each kind's tiny model, and its files inside models/<kind>/
SECTIONS = {
    "clip": ("stimuli", "clip"),
    "vae": ("reconstruct", "vae"),
    "diffusion": ("reconstruct", "diffusion"),
    "video": ("reconstruct", "video"),
    "shape": ("reconstruct", "shape"),
}
FILES = {
    "clip": ("open_clip_config.json", "open_clip_model.safetensors", "training.tsv"),
    "vae": ("config.json", "diffusion_pytorch_model.safetensors", "training.tsv"),
    "diffusion": ("unet/config.json", "unet/diffusion_pytorch_model.safetensors",
                  "scheduler/scheduler_config.json", "controlnet/config.json",
                  "controlnet/diffusion_pytorch_model.safetensors", "controlnet/structure.json", "training.tsv"),
    "video": ("unet/config.json", "unet/diffusion_pytorch_model.safetensors", "motion_tokens/config.json",
              "motion_tokens/model.safetensors", "scheduler/scheduler_config.json", "training.tsv"),
    "shape": ("config.json", "model.safetensors", "training.tsv"),
}
# the shipped models each kind works with: trained on the CLIP's embeddings in the VAE's latents (the
# video UNet starts from the image UNet's layers, but once trained it needs only the CLIP and VAE)
BUILT_ON = {"diffusion": ("clip", "vae"), "video": ("clip", "vae"), "shape": ("clip",)}


class ShippedModelError(ValueError):
    """A shipped model that is missing, altered, or trained with other settings than the config's."""


def _section(config: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    first, second = SECTIONS[kind]
    return config[first][second]


def setting_name(kind: str) -> str:
    """The config path of a kind's tiny section, for messages."""
    return ".".join((*SECTIONS[kind], "tiny"))


def uses_tiny(config: Mapping[str, Any], kind: str) -> bool:
    """Whether the config uses the tiny model of this kind (shipped or trained here)."""
    return _section(config, kind)["model"] == "tiny"


def uses_shipped(config: Mapping[str, Any], kind: str) -> bool:
    """Whether the config loads this kind's tiny model from models/ rather than training it."""
    return uses_tiny(config, kind) and _section(config, kind)["tiny"]["weights"] == "shipped"


def training_settings(tiny: Mapping[str, Any]) -> dict[str, Any]:
    """A tiny section without ``weights``: the settings that determine the trained model."""
    return json.loads(canonical_json({k: v for k, v in tiny.items() if k != "weights"}))


def read_manifest(models_dir: str | Path) -> dict[str, Any]:
    """``models/manifest.json``, with a clear error when it is absent or unreadable."""
    path = Path(models_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ShippedModelError(f"{path}: no shipped models here; run `snakemake train_models`, or set "
                                "<section>.tiny.weights: train to train the tiny models in the run") from exc
    except json.JSONDecodeError as exc:
        raise ShippedModelError(f"{path}: not valid JSON ({exc})") from exc


def _recorded(models_dir: str | Path, kind: str) -> dict[str, Any]:
    """The manifest's entry for one kind of model."""
    entry = read_manifest(models_dir).get("models", {}).get(kind)
    if entry is None:
        raise ShippedModelError(f"{Path(models_dir) / MANIFEST}: no {kind!r} model recorded")
    return entry


def shipped_version(models_dir: str | Path, kind: str) -> str:
    """A short hash of a shipped model's recorded file checksums (part of the versions that read it)."""
    return config_hash(_recorded(models_dir, kind)["files"])


def check_shipped(config: Mapping[str, Any], models_dir: str | Path, kind: str) -> None:
    """Refuse a shipped model trained with other settings than the config's, or whose files changed."""
    entry = _recorded(models_dir, kind)
    wanted, shipped = training_settings(_section(config, kind)["tiny"]), entry["config"]
    differing = sorted(key for key in set(wanted) | set(shipped) if wanted.get(key) != shipped.get(key))
    if differing:
        detail = ", ".join(f"{key}: {wanted.get(key)!r} (shipped: {shipped.get(key)!r})" for key in differing)
        raise ShippedModelError(
            f"{setting_name(kind)} differs from the shipped {kind} model ({detail}); set "
            f"{setting_name(kind)}.weights: train to train it with these settings, or run "
            f"`snakemake train_models` to re-ship all five")
    for base, version in entry.get("built_on", {}).items():
        if shipped_version(models_dir, base) != version:
            raise ShippedModelError(
                f"{Path(models_dir) / MANIFEST}: the shipped {kind} model was trained on another shipped {base} model "
                f"than the one there now; run `snakemake train_models` to re-ship them together")
    for name, digest in entry["files"].items():
        file = Path(models_dir) / kind / name
        if not file.is_file():
            raise ShippedModelError(f"{file}: missing; {Path(models_dir) / MANIFEST} lists it")
        actual = file_sha256(file)
        if actual != digest:
            raise ShippedModelError(f"{file}: sha256 {actual} but {Path(models_dir) / MANIFEST} records {digest}; "
                                    "the shipped model was altered (git checkout models/ restores it)")


def check_shipped_combination(config: Mapping[str, Any]) -> list[str]:
    """Messages for combinations a shipped generator cannot serve: the image UNet was trained on
    the shipped CLIP's embeddings in the shipped VAE's latents, and so was the video UNet, and the shape
    generator on the shipped CLIP's embeddings (the last two checked only where the config has video
    or 3D subjects to reconstruct)."""
    from neurorecon.layout import shape_subjects_from_config, video_subjects_from_config

    in_use = {"diffusion": True, "video": bool(video_subjects_from_config(config["data"])),
              "shape": bool(shape_subjects_from_config(config["data"]))}
    return [f"{'.'.join(SECTIONS[kind])} uses the shipped tiny model, which was trained with the shipped "
            f"tiny {base}; set {'.'.join(SECTIONS[base])}.model: tiny with tiny.weights: shipped, or "
            f"{setting_name(kind)}.weights: train"
            for kind, bases in BUILT_ON.items() if in_use[kind] and uses_shipped(config, kind)
            for base in bases if not uses_shipped(config, base)]


def ship(models_dir: str | Path, trained: Mapping[str, str | Path], configs: Mapping[str, Mapping[str, Any]]) -> Path:
    """Copy trained tiny models (``trained``: kind -> folder holding FILES[kind] and the training
    job's manifest.json) into ``models_dir/<kind>`` and record them in ``models_dir/manifest.json``;
    kinds not in ``trained`` keep their entries. Each entry records the checksums of the shipped
    models it was built on (BUILT_ON), so that one re-shipped without it is caught."""
    models_dir = Path(models_dir)
    try:
        entries = read_manifest(models_dir).get("models", {})
    except ShippedModelError:
        entries = {}
    for kind, source in trained.items():
        source, target = Path(source), models_dir / kind
        if target.exists():
            shutil.rmtree(target)
        for name in FILES[kind]:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, target / name)
        entries[kind] = {
            "config": training_settings(configs[kind]),
            "files": {name: file_sha256(target / name) for name in FILES[kind]},
            "training": json.loads((source / MANIFEST).read_text()),
        }
    for kind in trained:
        if kind in BUILT_ON:
            entries[kind]["built_on"] = {base: config_hash(entries[base]["files"]) for base in BUILT_ON[kind]
                                         if base in entries}
    manifest = {"models": entries, "written": now_iso()}
    write_json_atomic(models_dir / MANIFEST, manifest)
    return models_dir / MANIFEST
