# Shared helpers: config validation, versioned folders, code hashes.
import functools
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from neurorecon.artifacts import SourceHasher, canonical_json, config_hash, stage_version
from neurorecon.config import ConfigError, check_config_combinations, check_config_keys
from neurorecon.datacheck import check_data
from neurorecon.schema import load_schema, validate_config
from neurorecon.layout import build_layout, combination_name, decoded_inputs
from neurorecon.resources import memory_mb, synthetic_bold_mb, training_minutes
from neurorecon.shipped import (
    SECTIONS,
    ShippedModelError,
    check_shipped,
    shipped_version,
    training_settings,
    uses_shipped,
)

SCHEMA_PATH = Path(workflow.basedir) / "config" / "schema.yaml"
SCHEMA = load_schema(SCHEMA_PATH)
check_config_keys(config, SCHEMA)
validate_config(config, SCHEMA)
check_config_combinations(config)
# the config that results/summary.tsv and report.html are made from (compute: where jobs run, not what they make)
RUN_CONFIG = json.loads(canonical_json({key: value for key, value in config.items() if key != "compute"}))
CONFIG_HASH = config_hash(RUN_CONFIG)
# NEURORECON_CHECK_DATA=0 skips the data checks, for tools that inspect the rules of a config whose data
# are elsewhere (snakemake --lint, the static tests); a run without the data fails later, on its inputs
DATA_PROBLEMS = check_data(config) if os.environ.get("NEURORECON_CHECK_DATA", "1") != "0" else []
if DATA_PROBLEMS:
    raise ConfigError(
        f"the data that data.{config['data']['source']} names cannot be used:\n  " + "\n  ".join(DATA_PROBLEMS)
    )

# the tiny models the project ships (models/, rebuilt by `snakemake train_models`), where the config uses them
MODELS = Path(workflow.basedir) / "models"
SHIPPED = [kind for kind in SECTIONS if uses_shipped(config, kind)]


def parse_time_shipped_version(kind):
    """A shipped model's version; "absent" when models/ lacks it, so that `snakemake train_models`
    can run. Jobs that read it then fail on the check in ``tiny_model_file``, before any job runs."""
    try:
        return shipped_version(MODELS, kind)
    except ShippedModelError:
        return "absent"


LAYOUT = build_layout(config, {kind: parse_time_shipped_version(kind) for kind in SHIPPED})
DATA = LAYOUT.folders["data"]
PRE = LAYOUT.folders["preprocess"]
STIM = LAYOUT.folders["stimuli"]
DEC = LAYOUT.folders["decode"]
DEC_INPUTS = LAYOUT.folders["decode_inputs"]
EVAL = LAYOUT.folders["evaluate"]
VAE = LAYOUT.folders["vae"]
DIFF = LAYOUT.folders["diffusion"]
LOW = LAYOUT.folders["lowlevel"]
REC = LAYOUT.folders["reconstruct"]
EVAL_IMAGE = LAYOUT.folders["evaluate_image"]
SHARED = LAYOUT.folders["shared"]
ADAPT = LAYOUT.folders["adapt"]
EVAL_SHARED = LAYOUT.folders["evaluate_shared"]
EVAL_ADAPT = LAYOUT.folders["evaluate_adapt"]
# resumable training state, outside every rule's outputs so Snakemake never deletes it
CHECKPOINTS = "results/checkpoints"
SHARED_SUBJECTS = LAYOUT.shared_subjects
ADAPT_SUBJECTS = LAYOUT.adapt_subjects
DATA_EFFICIENCY = bool(ADAPT_SUBJECTS) and config["benchmark"]["data_efficiency"]["enabled"]
BIDS_ROOT = LAYOUT.bids_root
SUBJECTS = LAYOUT.subjects
STIMULI_TSV = f"{BIDS_ROOT}/stimuli/stimuli.tsv"
GROUNDTRUTH = f"{DATA}/derivatives/groundtruth"
# a synthetic subject's noise-free responses, written by synth_subject
TRUTH = f"{GROUNDTRUTH}/sub-{{subject}}/sub-{{subject}}_groundtruth.npz"
# the responses contract, written by preprocess_fmri (BIDS) or ingest_nsd (NSD)
RESPONSES = f"{PRE}/sub-{{subject}}/responses.npz"
TRIALS = f"{PRE}/sub-{{subject}}/trials.tsv"
TINY_CLIP = config["stimuli"]["clip"]["model"] == "tiny"
RECON = config["reconstruct"]
# images are reconstructed for fMRI subjects and for the sensor modalities in reconstruct.sensors
RECONSTRUCTS = bool(LAYOUT.subjects) or bool(LAYOUT.sensor_images) or LAYOUT.source == "muse"
DIFFUSION = RECON["diffusion"]["model"] != "none"
TINY_DIFFUSION = RECONSTRUCTS and RECON["diffusion"]["model"] == "tiny"
# decoders of the caption's text embedding and the structure map (fMRI), and whether the generator uses them
DECODE_INPUTS = bool(LAYOUT.subjects) and bool(config["decode"]["inputs"]["kinds"])
SAMPLED_INPUTS = DIFFUSION and bool(decoded_inputs(config))
# the tiny VAE is used when the low-level target or the tiny generator needs it
TINY_VAE = RECONSTRUCTS and RECON["vae"]["model"] == "tiny" and (RECON["lowlevel"]["target"] == "vae" or TINY_DIFFUSION)
# where each tiny model is read from: shipped in models/, or trained in this run's versioned folder
CLIP_DIR = str(MODELS / "clip") if "clip" in SHIPPED else f"{STIM}/model"
VAE_DIR = str(MODELS / "vae") if "vae" in SHIPPED else f"{VAE}/model"
DIFF_DIR = str(MODELS / "diffusion") if "diffusion" in SHIPPED else f"{DIFF}/model"
VIDEO_MODEL_DIR = str(MODELS / "video") if "video" in SHIPPED else f"{LAYOUT.folders.get('video_model')}/model"
SHAPE_MODEL_DIR = str(MODELS / "shape") if "shape" in SHIPPED else f"{LAYOUT.folders.get('shape_model')}/model"
TINY_MODEL_DIRS = {
    "clip": CLIP_DIR,
    "vae": VAE_DIR,
    "diffusion": DIFF_DIR,
    "video": VIDEO_MODEL_DIR,
    "shape": SHAPE_MODEL_DIR,
}
# the folder `snakemake train_models` trains the five tiny models in, versioned by their settings
SHIP_VERSION = stage_version(
    {kind: training_settings(config[first][second]["tiny"]) for kind, (first, second) in SECTIONS.items()}
)
SHIP = f"results/models/shipped-{SHIP_VERSION}"
# every job's Snakemake benchmark (wall time, peak memory) lies under this, by rule; the report collects them
JOB_BENCHMARKS = "results/benchmarks/jobs"


# EEG and sEEG: subjects and the BIDS root of each modality (synthetic: written here; BIDS: read in place)
SENSOR_SUBJECTS = LAYOUT.sensor_subjects
SENSOR_ROOTS = LAYOUT.sensor_roots
ALL_SENSOR_SUBJECTS = [s for subjects in SENSOR_SUBJECTS.values() for s in subjects]

# What GPU steps (model training, sampling, embedding) ask a cluster for. A local run ignores these
# and uses a GPU whenever torch sees one; editing them reruns nothing.
GPUS = config["compute"]["gpus"]
GPU_MODEL = config["compute"]["gpu_model"] if GPUS else None


wildcard_constraints:
    subject="|".join(SUBJECTS),
    sensor_subject="|".join(ALL_SENSOR_SUBJECTS) or "no-sensor-subject",


def stage_config(*keys):
    """A config section for params:, keys sorted at every level: Snakemake compares params by
    repr, so the order keys happened to be merged in must not look like a change."""
    node = config
    for key in keys:
        node = node[key]
    return json.loads(canonical_json(node))


def image_evaluation_config():
    """The evaluate section without its video and 3D parts, for the image and embedding metrics (whose
    versions leave evaluate.video, .shape, .regions and .judge out too, so that editing them reruns only their own)."""
    return {
        key: value
        for key, value in stage_config("evaluate").items()
        if key not in ("video", "shape", "regions", "judge")
    }


def fmri_world_config():
    """data.synthetic without its EEG / sEEG / video / 3D sections, which have their own rules and versions."""
    return {k: v for k, v in stage_config("data", "synthetic").items() if k not in ("eeg", "seeg", "video", "shapes")}


def adapt_settings(*leave_out):
    """decode.adapt without its subject list (adding a subject must not rerun the others) and
    without the keys in ``leave_out``."""
    return {k: v for k, v in stage_config("decode", "adapt").items() if k not in ("subjects", *leave_out)}


# the imports of each src/ file, kept by content hash in the working folder's .snakemake/ across runs
CODE_HASHER = SourceHasher(Path(".snakemake") / "neurorecon" / "imports.json")


def script_code_hash(script):
    """Content hash of the src/ code a rule script reaches, so library edits rerun that rule."""
    return CODE_HASHER.hash(Path(workflow.basedir) / "workflow" / "scripts" / script)


def subject_data_files(subject):
    """The files whose existence means a subject's recordings are in place."""
    if LAYOUT.synthetic:
        return f"{GROUNDTRUTH}/sub-{subject}/manifest.json"
    return sorted(
        str(p)
        for p in Path(BIDS_ROOT, f"sub-{subject}", "func").glob(
            f"sub-{subject}_task-{config['preprocess']['fmri']['task']}_run-*_bold.nii.gz"
        )
    )


def subject_data_marker(wildcards):
    """Input function: a subject's recordings (``subject_data_files``)."""
    return subject_data_files(wildcards.subject)


# the subject benchmark_glm times (benchmark.glm.subject, else the first fMRI subject)
GLM_BENCHMARK_SUBJECT = str(config["benchmark"]["glm"]["subject"] or (SUBJECTS[0] if SUBJECTS else ""))
GLM_BENCHMARK = config["benchmark"]["glm"]["enabled"] and bool(SUBJECTS)


def bold_mb(wildcards, input):
    """In-memory size (MB) of one fMRI subject's BOLD runs: computed for the synthetic world; for a
    dataset, its gzipped NIfTI inputs, which are about 4x larger once read as float32.
    """
    if LAYOUT.synthetic:
        return synthetic_bold_mb(config["data"]["synthetic"])
    return 4 * input.size_mb


def memory_for_bold(base_mb, copies):
    """A mem_mb resource: ``base_mb`` plus ``copies`` of the subject's BOLD data."""
    return lambda wildcards, input: memory_mb(base_mb, bold_mb(wildcards, input), copies)


def memory_for_inputs(base_mb, copies):
    """A mem_mb resource: ``base_mb`` plus ``copies`` of the job's input files."""
    return lambda wildcards, input: memory_mb(base_mb, input.size_mb, copies)


def training_runtime(keys, items, seconds_per_item_epoch, floor_minutes):
    """The runtime (minutes) of a tiny model's training, from its config section's item count
    (``items``) and epochs; the seconds per item and epoch were measured on one CPU core."""
    cfg = stage_config(*keys)
    return training_minutes(cfg[items], cfg["epochs"], seconds_per_item_epoch, floor_minutes)


def folder_above(file, levels):
    """A param: the folder ``levels`` above the job's input or output named ``file`` ("output.truth").
    Derived from the job's own files, as Snakemake's linter asks, so it also holds where a cluster
    stages files elsewhere."""
    kind, name = file.split(".")

    def param(wildcards, input, output):
        return str(Path(getattr(input if kind == "input" else output, name)).parents[levels - 1])

    return param


def sensor_outputs(modality, stage):
    """The folder of one subject's outputs of a sensor stage."""
    return f"{LAYOUT.folders[f'{stage}_{modality}']}/sub-{{sensor_subject}}"


def sensor_preprocessed(modality, name):
    """A subject's preprocessed file: responses, trials or noise_free (preprocess_* or an ingestion rule)."""
    suffix = "trials.tsv" if name == "trials" else f"{name}.npz"
    return f"{sensor_outputs(modality, 'preprocess')}/{suffix}"


def sensor_truth(modality):
    """The path pattern of a synthetic EEG/sEEG subject's ground truth."""
    return f"{SENSOR_ROOTS[modality]}/derivatives/groundtruth/sub-{{sensor_subject}}/sub-{{sensor_subject}}_truth.npz"


def sensor_recording_input(modality):
    """Input function: what a sensor subject's preprocessing reads (synthetic: its ground truth,
    written with the recording; BIDS: the recording files in place)."""

    def inputs(wildcards):
        if LAYOUT.synthetic:
            return {"truth": sensor_truth(modality).format(sensor_subject=wildcards.sensor_subject)}
        folder = Path(
            SENSOR_ROOTS[modality],
            f"sub-{wildcards.sensor_subject}",
            "eeg" if modality == "eeg" else "ieeg",
        )
        return {"recording": sorted(str(p) for p in folder.glob(f"sub-{wildcards.sensor_subject}*_task-*"))}

    return inputs


def sensor_metrics(wildcards):
    """Every EEG / sEEG subject's metric table, for the summary and report."""
    return {
        f"{modality}_metrics": expand(
            f"{LAYOUT.folders[f'evaluate_{modality}']}/sub-{{s}}/metrics.tsv",
            s=subjects,
        )
        for modality, subjects in SENSOR_SUBJECTS.items()
        if subjects
    }


def sensor_figures(wildcards):
    """Every EEG / sEEG subject's per-condition averages and encoder loss curves, for the report."""
    inputs = {}
    for modality, subjects in SENSOR_SUBJECTS.items():
        if subjects:
            inputs[f"{modality}_conditions"] = expand(
                f"{LAYOUT.folders[f'preprocess_{modality}']}/sub-{{s}}/conditions.npz",
                s=subjects,
            )
            inputs[f"{modality}_histories"] = expand(
                f"{LAYOUT.folders[f'decode_{modality}']}/sub-{{s}}/training.tsv",
                s=subjects,
            )
        if subjects and modality in LAYOUT.sensor_images:
            for key, stage, name in (
                ("image_metrics", "evaluate_image", "metrics.tsv"),
                ("lowlevel", "lowlevel", "reconstructions.npz"),
                ("final", "reconstruct", "reconstructions.npz"),
            ):
                if key != "final" or DIFFUSION:
                    inputs[f"{modality}_{key}"] = expand(
                        f"{LAYOUT.folders[f'{stage}_{modality}']}/sub-{{s}}/{name}",
                        s=subjects,
                    )
    return inputs


def category_reports(wildcards):
    """The category decoding's metrics and drawn images (data.source muse), for the report."""
    if LAYOUT.source != "muse":
        return {}
    subject = config["data"]["muse"]["subject"]
    return {
        "category_metrics": f"{LAYOUT.folders['categories']}/sub-{subject}/metrics.tsv",
        "category_image_metrics": f"{LAYOUT.folders['reconstruct_categories']}/sub-{subject}/metrics.tsv",
        "category_images": f"{LAYOUT.folders['reconstruct_categories']}/sub-{subject}/reconstructions.npz",
    }


def groundtruth_input(wildcards):
    """The noise-free responses of a synthetic subject (none for real data)."""
    if LAYOUT.synthetic:
        return {"truth": TRUTH.format(subject=wildcards.subject)}
    return {}


def tiny_model_file(kind, file):
    """A file of a tiny model: in models/ when shipped (checked against the config first: settings
    and checksums, raised as an error naming the setting before any job runs), else in the folder
    this run trains it into."""
    if kind in SHIPPED:
        checked_shipped(kind)
    return f"{TINY_MODEL_DIRS[kind]}/{file}"


@functools.cache
def checked_shipped(kind):
    """Check a shipped model once per Snakemake start (its files are hashed)."""
    check_shipped(config, MODELS, kind)


def clip_model_input(wildcards):
    """The tiny CLIP's config file (shipped, or trained in this run) when the tiny model is used."""
    return {"clip_config": tiny_model_file("clip", "open_clip_config.json")} if TINY_CLIP else {}


def training_histories(wildcards):
    """Loss histories of the tiny models the run uses (trained in it, or shipped), for the report."""
    histories = {}
    for kind, used, trained_here in (
        ("clip", TINY_CLIP, f"{STIM}/model/training.tsv"),
        ("vae", TINY_VAE, f"{VAE}/training.tsv"),
        ("diffusion", TINY_DIFFUSION, f"{DIFF}/training.tsv"),
    ):
        if used:
            histories[f"{kind}_history"] = tiny_model_file(kind, "training.tsv") if kind in SHIPPED else trained_here
    return histories


def held_out_truths(wildcards):
    """The noise-free responses of the adapted (held-out) subjects, for the benchmark's ceilings."""
    if LAYOUT.synthetic:
        return {"truths": expand(TRUTH, subject=ADAPT_SUBJECTS)}
    return {}


def cross_subject_reports(wildcards):
    """What the report reads of the cross-subject decoder: metrics, loss curves, the benchmark."""
    inputs = {}
    if SHARED_SUBJECTS:
        inputs["shared_metrics"] = expand(f"{EVAL_SHARED}/sub-{{subject}}/metrics.tsv", subject=SHARED_SUBJECTS)
        inputs["shared_history"] = f"{SHARED}/training.tsv"
    if ADAPT_SUBJECTS:
        inputs["adapted_metrics"] = expand(f"{EVAL_ADAPT}/sub-{{subject}}/metrics.tsv", subject=ADAPT_SUBJECTS)
        inputs["adapted_histories"] = expand(f"{ADAPT}/sub-{{subject}}/training.tsv", subject=ADAPT_SUBJECTS)
    if DATA_EFFICIENCY:
        inputs["data_efficiency"] = "results/benchmarks/data_efficiency.tsv"
    return inputs


def embedding_decoder(wildcards):
    """The decoder (weights and its description) and predicted embeddings that condition the
    subject's generated images: ridge, or the cross-subject model or its adaptation."""
    subject = wildcards.subject
    if RECON["decoder"] == "ridge":
        folder = f"{DEC}/sub-{subject}"
        return {
            "decoder": f"{folder}/ridge.safetensors",
            "decoder_spec": f"{folder}/ridge.json",
            "predictions": f"{folder}/predictions.npz",
        }
    folder = f"{ADAPT}/sub-{subject}" if subject in ADAPT_SUBJECTS else SHARED
    return {
        "decoder": f"{folder}/model/model.safetensors",
        "decoder_spec": f"{folder}/model/model.json",
        "predictions": (
            f"{ADAPT}/sub-{subject}/predictions.npz"
            if subject in ADAPT_SUBJECTS
            else f"{SHARED}/sub-{subject}/predictions.npz"
        ),
    }


def tiny_training_stimuli(*keys):
    """Input function: the stimulus table, when a tiny model (config section ``keys``) trains on the stimuli."""
    return lambda wildcards: ({"stimuli": STIMULI_TSV} if stage_config(*keys)["training_images"] == "stimuli" else {})


def vae_input(wildcards):
    """The tiny VAE's config (shipped, or trained in this run) when the run uses it."""
    return {"vae_config": tiny_model_file("vae", "config.json")} if TINY_VAE else {}


def diffusion_input(wildcards):
    """The tiny generator's UNet config (shipped, or trained in this run) when the run uses it."""
    return {"diffusion_config": tiny_model_file("diffusion", "unet/config.json")} if TINY_DIFFUSION else {}


JUDGE = LAYOUT.folders.get("judge")
# the input ablation (rules/ablation.smk): its subjects, and its combinations named image+text, ...; the
# one equal to the sampling inputs is the final reconstruction, the others are drawn again
ABLATION = LAYOUT.folders["ablation"]
EVAL_ABLATION = LAYOUT.folders["evaluate_ablation"]
ABLATION_SUBJECTS = LAYOUT.ablation_subjects if DIFFUSION else []
ABLATION_FINAL = combination_name(RECON["sampling"]["inputs"])
ABLATION_REDRAWN = list(
    dict.fromkeys(
        combination_name(combination)
        for combination in RECON["ablation"]["combinations"]
        if combination_name(combination) != ABLATION_FINAL
    )
)


def judge_input(wildcards):
    """The synthetic world's scene judge, which scores image reconstructions."""
    return {"judge": f"{JUDGE}/model/config.json"} if JUDGE else {}


def decoded_inputs_input(wildcards):
    """The subject's decoded text embeddings and structure maps, when the generator takes them."""
    return {"inputs": f"{DEC_INPUTS}/sub-{wildcards.subject}/predictions.npz"} if SAMPLED_INPUTS else {}


def final_reconstructions(wildcards):
    """The subject's final (generated) reconstructions, when a generator is configured."""
    return {"final": f"{REC}/sub-{wildcards.subject}/reconstructions.npz"} if DIFFUSION else {}


# the video world (rules/video.smk): its folders, subjects and their fMRI files
VIDEO_DATA = LAYOUT.folders.get("data_video")
# the .pt files: written under VIDEO_DATA for the synthetic world, read in place for CC2017
VIDEO_ROOT = LAYOUT.video_root
VIDEO_FRAMES = {split: f"{VIDEO_ROOT}/GT_{split}_3fps.pt" for split in ("train", "test")}
VIDEO_CLIPS = f"{VIDEO_DATA}/clips.tsv"
VIDEO_TARGETS = LAYOUT.folders.get("video_targets")
VIDEO_DECODE = LAYOUT.folders.get("decode_video")
VIDEO_EVAL = LAYOUT.folders.get("evaluate_video")
VIDEO_MODEL = LAYOUT.folders.get("video_model")
VIDEO_RECON = LAYOUT.folders.get("reconstruct_video")
VIDEO_SUBJECTS = LAYOUT.video_subjects
VIDEO_GENERATOR = RECON["video"]["model"] if VIDEO_SUBJECTS else "none"


wildcard_constraints:
    video_subject="|".join(VIDEO_SUBJECTS) or "no-video-subject",


def video_fmri(split):
    """A video subject's fMRI file of one split (subj01_train_fmri.pt for video01)."""
    return lambda wildcards: f"{VIDEO_ROOT}/subj{wildcards.video_subject[len('video'):]}_{split}_fmri.pt"


def video_training_inputs(wildcards):
    """What the tiny video UNet is trained on: the tiny CLIP, VAE and image UNet (shipped or trained here)."""
    return {
        "clip_config": tiny_model_file("clip", "open_clip_config.json"),
        "vae_config": tiny_model_file("vae", "config.json"),
        "diffusion_config": tiny_model_file("diffusion", "unet/config.json"),
    }


def video_generator_inputs(wildcards):
    """What the video generator reads: the tiny video UNet and the tiny VAE it works in; for the
    sparsectrl pipeline, the image generator that draws its keyframes."""
    if VIDEO_GENERATOR == "tiny":
        return {
            "video_config": tiny_model_file("video", "unet/config.json"),
            "vae_config": tiny_model_file("vae", "config.json"),
        }
    if VIDEO_GENERATOR == "sparsectrl" and RECON["diffusion"]["model"] == "tiny":
        return {
            "diffusion_config": tiny_model_file("diffusion", "unet/config.json"),
            "vae_config": tiny_model_file("vae", "config.json"),
        }
    return {}


def video_reconstructions(wildcards):
    """A video subject's generated clips, when a video generator is configured."""
    if VIDEO_GENERATOR == "none":
        return {}
    return {"videos": f"{VIDEO_RECON}/{wildcards.video_subject}/videos.npz"}


def image_stimuli_reports(wildcards):
    """The image stimuli's table and caption retrieval, for the report (none where the data are movies or objects only)."""
    if LAYOUT.source in ("cc2017", "fmri-shape"):
        return {}
    return {"stimuli": STIMULI_TSV, "retrieval": rules.embed_stimuli.output.retrieval}


# the 3D branch (rules/shape.smk): its folders, subjects and their fMRI-Shape layout
SHAPE_DATA = LAYOUT.folders.get("data_shape")
# the npy files: written under SHAPE_DATA for the synthetic world, read in place for fMRI-Shape
SHAPE_ROOT = LAYOUT.shape_root
SHAPE_LISTS = [f"{SHAPE_ROOT}/core_{split}_list.txt" for split in ("train", "test")]
SHAPE_TARGETS = LAYOUT.folders.get("shape_targets")
SHAPE_DECODE = LAYOUT.folders.get("decode_shape")
SHAPE_MODEL = LAYOUT.folders.get("shape_model")
SHAPE_RECON = LAYOUT.folders.get("reconstruct_shape")
SHAPE_EVAL = LAYOUT.folders.get("evaluate_shape")
SHAPE_SUBJECTS = LAYOUT.shape_subjects
SHAPE_GENERATOR = RECON["shape"]["model"] if SHAPE_SUBJECTS else "none"
# where the views, meshes and points of the objects lie (the synthetic world writes all three)
SHAPE_FILES = (
    {
        "views": f"{SHAPE_ROOT}/views",
        "meshes": f"{SHAPE_ROOT}/derivatives/groundtruth/meshes",
        "points": f"{SHAPE_ROOT}/derivatives/groundtruth/points",
    }
    if LAYOUT.synthetic
    else (
        {key: config["data"]["fmri-shape"].get(key) for key in ("views", "meshes", "points")}
        if LAYOUT.source == "fmri-shape"
        else {}
    )
)
if LAYOUT.source == "fmri-shape" and not SHAPE_FILES["views"]:
    SHAPE_FILES["views"] = f"{SHAPE_ROOT}/views"


wildcard_constraints:
    shape_subject="|".join(SHAPE_SUBJECTS) or "no-shape-subject",


def shape_subject_number(wildcards):
    """The folder number of a 3D subject (sub-0001 for shape01)."""
    return int(wildcards.shape_subject[len("shape") :])


def shape_generator_inputs(wildcards):
    """What the 3D generator reads: the tiny shape model; for shap-e, the image generator that draws the pictures."""
    if SHAPE_GENERATOR == "tiny":
        return {"shape_config": tiny_model_file("shape", "config.json")}
    if SHAPE_GENERATOR == "shap-e" and RECON["diffusion"]["model"] == "tiny":
        return {
            "diffusion_config": tiny_model_file("diffusion", "unet/config.json"),
            "vae_config": tiny_model_file("vae", "config.json"),
        }
    return {}


def shape_basis_input(wildcards):
    """The tiny shape model, whose basis turns the objects' SDF grids into shape codes (tiny generator only)."""
    return {"shape_config": tiny_model_file("shape", "config.json")} if SHAPE_GENERATOR == "tiny" else {}


def shape_reconstructions(wildcards):
    """A 3D subject's meshes, when a 3D generator is configured."""
    if SHAPE_GENERATOR == "none":
        return {}
    return {"meshes": f"{SHAPE_RECON}/{wildcards.shape_subject}/meshes.npz"}


# region analysis (rules/regions.smk): decoders refitted per region, for each branch the config runs
REGIONS = config["evaluate"]["regions"]["enabled"]
REGIONS_IMAGE = LAYOUT.folders.get("regions_image")
REGIONS_VIDEO = LAYOUT.folders.get("regions_video")
REGIONS_SHAPE = LAYOUT.folders.get("regions_shape")
# the synthetic video world's voxel labels (in its ground truth) and the 3D flatmap's region map
VIDEO_ROI_LABELS = {1: "EVC", 2: "HVC", 3: "MT"}
SHAPE_REGION_MAP = (
    {"file": f"{SHAPE_ROOT}/derivatives/groundtruth/flatmap_rois.npy", "labels": {1: "EVC", 2: "LOC", 3: "HVC"}}
    if LAYOUT.synthetic and SHAPE_SUBJECTS
    else (
        {
            "file": config["data"]["fmri-shape"]["regions"],
            "labels": {int(k): v for k, v in config["data"]["fmri-shape"]["region_names"].items()},
        }
        if LAYOUT.source == "fmri-shape" and config["data"]["fmri-shape"]["regions"]
        else {}
    )
)


def region_tables(wildcards):
    """Every region-analysis table the config asks for, for the report."""
    tables = []
    if REGIONS and SUBJECTS:
        tables += expand(f"{REGIONS_IMAGE}/sub-{{subject}}/regions.tsv", subject=SUBJECTS)
    if REGIONS and VIDEO_SUBJECTS and LAYOUT.synthetic:
        tables += expand(f"{REGIONS_VIDEO}/{{video_subject}}/regions.tsv", video_subject=VIDEO_SUBJECTS)
    if REGIONS and SHAPE_SUBJECTS and SHAPE_REGION_MAP:
        tables += expand(f"{REGIONS_SHAPE}/{{shape_subject}}/regions.tsv", shape_subject=SHAPE_SUBJECTS)
    return tables
