"""Where each stage's artifacts live, derived from the config alone.

``results/<stage>/<name>-<version>/``: the version hashes the stage's own config section and the
versions of the stages it reads, so editing a stage's section moves that stage and every stage
below it to new folders while the folders above are reused. Used by the Snakefile at parse
time, so it imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurorecon.artifacts import stage_version

RESULTS = "results"
SENSOR_MODALITIES = ("eeg", "seeg")
VIDEO_STAGES = ("data_video", "video_targets", "decode_video", "video_model", "reconstruct_video", "evaluate_video")
GENERATOR_INPUTS = ("image", "text", "structure")   # what the image generator can be steered by
SHAPE_STAGES = ("data_shape", "shape_targets", "decode_shape", "shape_model", "reconstruct_shape", "evaluate_shape")


@dataclass(frozen=True)
class Layout:
    """Versioned folders of every stage, plus the subject list."""

    versions: dict[str, str]
    folders: dict[str, str]
    subjects: list[str]
    shared_subjects: list[str]   # the cross-subject decoder's training subjects ([] when it is off)
    adapt_subjects: list[str]    # subjects adapted to it
    bids_root: str
    source: str
    sensor_subjects: dict[str, list[str]]  # EEG / sEEG subject labels per modality ([] when none)
    sensor_roots: dict[str, str]           # the BIDS root each sensor modality is read from
    sensor_images: list[str]               # sensor modalities whose images are reconstructed
    shipped: dict[str, str]                # kinds of shipped tiny model the config loads -> their version
    video_subjects: list[str]              # subjects of the video world (video01, ...; [] when none)
    video_root: str                        # where their subjNN_*_fmri.pt and GT_*_3fps.pt files are read
    shape_subjects: list[str]              # subjects of the 3D data (shape01, ...: sub-0001, ...; [] when none)
    shape_root: str                        # where their sub-00NN/npy_data files and split lists are read
    ablation_subjects: list[str]           # fMRI subjects reconstructed with every combination of decoded inputs
    encode_subjects: list[str]             # fMRI subjects with encoding models ([] when encode.enabled is off)
    synthesis_subjects: list[str]          # fMRI subjects with ROI-driven synthesis (tiny generator only)

    def sensor_stages(self, modality: str) -> list[str]:
        """The stage names of one sensor modality's branch."""
        stages = [f"preprocess_{modality}", f"decode_{modality}", f"evaluate_{modality}"]
        return ([f"data_{modality}"] if self.synthetic else []) + stages + self.sensor_image_stages(modality)

    @staticmethod
    def sensor_image_stages(modality: str) -> list[str]:
        """The stage names of one sensor modality's image reconstruction."""
        return [f"lowlevel_{modality}", f"reconstruct_{modality}", f"evaluate_image_{modality}"]

    @property
    def folders_in_use(self) -> dict[str, str]:
        """The folders of the stages this config runs (the cross-subject ones only when enabled); a
        generative model the config loads from models/ is shown there, as no run writes its folder."""
        unused = set()
        if not self.shared_subjects:
            unused |= {"shared", "evaluate_shared"}
        if not self.adapt_subjects:
            unused |= {"adapt", "evaluate_adapt"}
        if not self.video_subjects:
            unused |= set(VIDEO_STAGES)
        if not self.shape_subjects:
            unused |= set(SHAPE_STAGES) | {"regions_shape"}
        if not self.video_subjects:
            unused.add("regions_video")
        if not self.subjects:
            unused |= {"regions_image", "decode_inputs"}
        if not self.ablation_subjects:
            unused |= {"ablation", "evaluate_ablation"}
        if not self.encode_subjects:
            unused |= {"encode", "brain_score"}
        if not self.synthesis_subjects:
            unused.add("synthesis")
        for modality in SENSOR_MODALITIES:
            if not self.sensor_subjects[modality]:
                unused |= set(self.sensor_stages(modality))
            elif modality not in self.sensor_images:
                unused |= set(self.sensor_image_stages(modality))
        in_use = {stage: folder for stage, folder in self.folders.items() if stage not in unused}
        shown = {"vae": "vae", "diffusion": "diffusion", "video_model": "video", "shape_model": "shape"}
        return {**in_use, **{stage: f"models/{kind}" for stage, kind in shown.items()
                             if kind in self.shipped and stage in in_use}}

    @property
    def synthetic(self) -> bool:
        """Whether the data stage generates the synthetic world (and its ground truth)."""
        return self.source == "synthetic"


def subjects_from_config(data: dict) -> list[str]:
    """Subject labels: numbered for the synthetic world, listed by the user otherwise."""
    if data["source"] == "synthetic":
        return [f"{i + 1:02d}" for i in range(data["synthetic"]["n_subjects"])]
    if data["source"] == "miyawaki":
        return [data["miyawaki"]["subject"]]
    if data["source"] == "nsd":
        return [f"{s:02d}" for s in data["nsd"]["subjects"]]
    if data["source"] in ("things-eeg2", "muse", "cc2017", "fmri-shape"):
        return []  # EEG, video or 3D only
    return [str(s) for s in data[data["source"]]["subjects"]]


def sensor_subjects_from_config(data: dict) -> dict[str, list[str]]:
    """EEG and sEEG subject labels: eeg01, ..., seeg01, ... for the synthetic world; listed by the
    user for a BIDS dataset; none for NSD and Miyawaki."""
    if data["source"] == "synthetic":
        return {m: [f"{m}{i + 1:02d}" for i in range(data["synthetic"][m]["n_subjects"])] for m in SENSOR_MODALITIES}
    if data["source"] == "bids":
        return {m: [str(s) for s in data["bids"][f"{m}_subjects"]] for m in SENSOR_MODALITIES}
    if data["source"] == "things-eeg2":
        return {"eeg": [f"{s:02d}" for s in data["things-eeg2"]["subjects"]], "seeg": []}
    return {m: [] for m in SENSOR_MODALITIES}


def video_subjects_from_config(data: dict) -> list[str]:
    """Subjects of the video data: video01, ... (files subj01, ...), numbered for the synthetic
    world, listed by the user for CC2017."""
    if data["source"] == "synthetic":
        return [f"video{i + 1:02d}" for i in range(data["synthetic"]["video"]["n_subjects"])]
    if data["source"] == "cc2017":
        return [f"video{s:02d}" for s in data["cc2017"]["subjects"]]
    return []


def shape_subjects_from_config(data: dict) -> list[str]:
    """Subjects of the 3D data: shape01, ... (folders sub-0001, ...), numbered for the synthetic
    world, listed by the user for fMRI-Shape."""
    if data["source"] == "synthetic":
        return [f"shape{i + 1:02d}" for i in range(data["synthetic"]["shapes"]["n_subjects"])]
    if data["source"] == "fmri-shape":
        return [f"shape{s:02d}" for s in data["fmri-shape"]["subjects"]]
    return []


def _without(section: dict, keys: tuple[str, ...]) -> dict:
    return {k: v for k, v in section.items() if k not in keys}


def shared_subjects(config: dict) -> list[str]:
    """The subjects the cross-subject decoder is trained on (all but the adapted ones by default)."""
    shared, adapt = config["decode"]["shared"], config["decode"]["adapt"]
    if shared["subjects"] is not None:
        return [str(s) for s in shared["subjects"]]
    return [s for s in subjects_from_config(config["data"]) if s not in set(map(str, adapt["subjects"]))]


def combination_name(kinds) -> str:
    """A combination of the generator's decoded inputs as one name, in a fixed order:
    ``image+text+structure``."""
    unknown = sorted(set(kinds) - set(GENERATOR_INPUTS))
    if unknown:
        raise ValueError(f"unknown decoded inputs {unknown}; expected some of {GENERATOR_INPUTS}")
    return "+".join(kind for kind in GENERATOR_INPUTS if kind in kinds)


def decoded_inputs(config: dict) -> list[str]:
    """The fMRI image generator's decoded inputs beside the image embedding (text, structure)."""
    return [kind for kind in config["reconstruct"]["sampling"]["inputs"] if kind != "image"]


def _listed_subjects(config: dict, listed, runs: bool) -> list[str]:
    """The fMRI subjects a per-subject extra stage runs on: all (``listed`` null), the first n (an
    integer) or those listed; [] when it does not run (``runs`` false) or there are no fMRI subjects."""
    subjects = subjects_from_config(config["data"])
    if not runs or not subjects:
        return []
    if listed is None:
        return subjects
    return subjects[:listed] if isinstance(listed, int) else [str(s) for s in listed]


def ablation_subjects(config: dict) -> list[str]:
    """The fMRI subjects of the input ablation (tiny generator only)."""
    return _listed_subjects(config, config["reconstruct"]["ablation"]["subjects"],
                            config["reconstruct"]["diffusion"]["model"] == "tiny")


def synthesis_subjects(config: dict) -> list[str]:
    """The fMRI subjects of ROI-driven synthesis (encoders on, tiny generator only)."""
    return _listed_subjects(config, config["encode"]["synthesis"]["subjects"],
                            config["encode"]["enabled"] and config["reconstruct"]["diffusion"]["model"] == "tiny")


def build_layout(config: dict, shipped: dict[str, str] | None = None) -> Layout:
    """Versions and folders of every stage for a validated config. ``shipped`` maps the kinds of
    shipped tiny model the config loads (clip, vae, diffusion) to their versions, which become
    parents of the stages that read them."""
    shipped_parents = {kind: [f"shipped-{kind}-{version}"] for kind, version in (shipped or {}).items()}
    source = config["data"]["source"]
    data = dict(config["data"])
    if "synthetic" in data:  # the EEG / sEEG recordings and the video world are versioned on their own
        data["synthetic"] = _without(data["synthetic"], (*SENSOR_MODALITIES, "video", "shapes"))
    data_v = stage_version(data)
    versions = {"data": data_v}
    evaluate = _without(config["evaluate"], ("video", "shape", "regions", "judge"))   # the image and embedding metrics' settings
    # the scene judge (synthetic world only) is a model of its own, a parent of the image metrics
    judge = [stage_version(config["evaluate"]["judge"])] if source == "synthetic" else []
    if judge:
        versions["judge"] = judge[0]
    versions["preprocess"] = stage_version(_without(config["preprocess"], SENSOR_MODALITIES), [data_v])
    versions["stimuli"] = stage_version(config["stimuli"], [data_v, *shipped_parents.get("clip", [])])
    decode = config["decode"]
    inputs = [versions["preprocess"], versions["stimuli"]]
    versions["decode"] = stage_version(decode["ridge"], inputs)
    versions["decode_inputs"] = stage_version(decode["inputs"], inputs)
    versions["evaluate"] = stage_version(evaluate, [versions["decode"]])
    # the cross-subject model is versioned by its training subjects, not by the adapted ones, and
    # adaptation by its settings, not by its subject list: adding a subject to adapt adds jobs only
    cross = shared_subjects(config) if decode["shared"]["enabled"] else []
    versions["shared"] = stage_version({**decode["shared"], "subjects": cross}, inputs)
    versions["adapt"] = stage_version({k: v for k, v in decode["adapt"].items() if k != "subjects"},
                                      [versions["shared"]])
    versions["evaluate_shared"] = stage_version(evaluate, [versions["shared"]])
    versions["evaluate_adapt"] = stage_version(evaluate, [versions["adapt"]])
    recon = config["reconstruct"]
    # the generative models are versioned on their own, so sampling edits do not retrain them
    versions["vae"] = stage_version(recon["vae"], shipped_parents.get("vae", []))
    versions["diffusion"] = stage_version(recon["diffusion"], [versions["stimuli"], versions["vae"],
                                                               *shipped_parents.get("diffusion", [])])
    versions["lowlevel"] = stage_version(recon["lowlevel"], [versions["preprocess"], versions["vae"]])
    embedding_decoders = ([versions["shared"], versions["adapt"]] if recon["decoder"] == "cross-subject"
                          else [versions["decode"]])
    input_decoders = [versions["decode_inputs"]] if decoded_inputs(config) else []
    versions["reconstruct"] = stage_version(
        recon["sampling"], [versions["lowlevel"], *embedding_decoders, *input_decoders, versions["diffusion"]])
    versions["evaluate_image"] = stage_version(evaluate, [versions["reconstruct"], *judge])
    # the ablation: the same sampling with every listed combination of decoded inputs (its subject
    # list is left out of the version, so adding a subject adds jobs only)
    versions["ablation"] = stage_version(recon["ablation"]["combinations"], [versions["reconstruct"],
                                                                              versions["decode_inputs"]])
    versions["evaluate_ablation"] = stage_version(evaluate, [versions["ablation"], *judge])
    # encoding models read the responses and the CLIP; the brain score reads them and the reconstructions
    versions["encode"] = stage_version(_without(config["encode"], ("brain_score", "synthesis")), inputs)
    # synthesis draws with the generator guided by the encoder (its subject list is left out of the version)
    versions["synthesis"] = stage_version(_without(config["encode"]["synthesis"], ("subjects",)),
                                          [versions["encode"], versions["diffusion"], *judge])
    versions["brain_score"] = stage_version(config["encode"]["brain_score"], [versions["encode"],
                                                                              versions["reconstruct"]])
    sensor_folders, sensor_roots = {}, {}
    for modality in SENSOR_MODALITIES:
        if source == "synthetic":
            versions[f"data_{modality}"] = stage_version(config["data"]["synthetic"][modality], [data_v])
            sensor_folders[f"data_{modality}"] = f"{RESULTS}/data/synthetic-{modality}-{versions[f'data_{modality}']}"
            sensor_roots[modality] = sensor_folders[f"data_{modality}"]
        else:
            versions[f"data_{modality}"] = data_v
            sensor_roots[modality] = {"bids": str(config["data"].get("bids", {}).get("root", "")),
                                      "things-eeg2": str(config["data"].get("things-eeg2", {}).get("root", ""))}.get(source, "")
        for stage, section, parents in (
                ("preprocess", config["preprocess"][modality], [f"data_{modality}"]),
                ("decode", decode[modality], [f"preprocess_{modality}", "stimuli"]),
                ("evaluate", evaluate, [f"decode_{modality}"])):
            name = f"{stage}_{modality}"
            versions[name] = stage_version(section, [versions[p] for p in parents])
            sensor_folders[name] = f"{RESULTS}/{stage}/{modality}-{versions[name]}"
        # images from this modality: the fMRI reconstruction stages, on its responses and encoder
        for stage, section, parents, folder in (
                ("lowlevel", recon["lowlevel"], [f"preprocess_{modality}", "vae"], "reconstruct/lowlevel"),
                ("reconstruct", recon["sampling"], [f"lowlevel_{modality}", f"decode_{modality}", "diffusion"],
                 "reconstruct/images"),
                ("evaluate_image", evaluate, [f"reconstruct_{modality}"], "evaluate/image")):
            name = f"{stage}_{modality}"
            versions[name] = stage_version(section, [versions[p] for p in parents] + (judge if stage == "evaluate_image" else []))
            sensor_folders[name] = f"{RESULTS}/{folder}-{modality}-{versions[name]}"
    if source == "muse":  # category decoding of eeg-notebooks recordings, and the images drawn from it
        versions["categories"] = stage_version(decode["categories"], [data_v, versions["stimuli"]])
        versions["reconstruct_categories"] = stage_version(
            {**recon["categories"], "sampling": recon["sampling"]}, [versions["categories"], versions["diffusion"]])
        sensor_folders["categories"] = f"{RESULTS}/decode/categories-{versions['categories']}"
        sensor_folders["reconstruct_categories"] = f"{RESULTS}/reconstruct/categories-{versions['reconstruct_categories']}"
    # what the video and 3D generators build on: the CLIP's embedding space and the image UNet (which
    # draws the keyframes and the pictures Shap-E lifts), each by its own settings and shipped checksums
    clip_space = stage_version(config["stimuli"], shipped_parents.get("clip", []))
    image_unet = ([stage_version(recon["diffusion"], shipped_parents["diffusion"])] if "diffusion" in shipped_parents
                  else [versions["diffusion"]])
    video_folders, video_root = {}, ""
    if source in ("synthetic", "cc2017"):  # movie clips: their segments, targets, decoders, generated clips, metrics
        if source == "synthetic":
            synthetic = config["data"]["synthetic"]
            versions["data_video"] = stage_version({**synthetic["video"], "seed": synthetic["seed"]})
        else:
            versions["data_video"] = stage_version(config["data"]["cc2017"])
        versions["video_targets"] = stage_version(config["stimuli"], [versions["data_video"],
                                                                      *shipped_parents.get("clip", [])])
        versions["decode_video"] = stage_version(decode["video"], [versions["data_video"], versions["video_targets"]])
        # the video UNet is trained in the CLIP's and VAE's spaces, starting from the image UNet's layers
        video = recon["video"]
        spaces = [clip_space, versions["vae"]]
        versions["video_model"] = stage_version(video["tiny"], [*spaces, *shipped_parents["video"]] if "video" in shipped_parents
                                                else [*spaces, *image_unet])
        keyframe_images = [stage_version(recon["sampling"], image_unet)] if video["model"] == "sparsectrl" else []
        versions["reconstruct_video"] = stage_version(
            {key: video[key] for key in ("model", "sparsectrl", "sampling")},
            [versions["decode_video"], versions["video_model"], *keyframe_images])
        versions["evaluate_video"] = stage_version(config["evaluate"]["video"], [versions["decode_video"],
                                                                        versions["reconstruct_video"]])
        video_folders = {"data_video": f"{RESULTS}/data/{'video' if source == 'synthetic' else source}-"
                                       f"{versions['data_video']}",
                         "video_targets": f"{RESULTS}/stimuli/video-{versions['video_targets']}",
                         "decode_video": f"{RESULTS}/decode/video-{versions['decode_video']}",
                         "video_model": f"{RESULTS}/models/video-{versions['video_model']}",
                         "reconstruct_video": f"{RESULTS}/reconstruct/video-{versions['reconstruct_video']}",
                         "evaluate_video": f"{RESULTS}/evaluate/video-{versions['evaluate_video']}"}
    shape_folders, shape_root = {}, ""
    if source in ("synthetic", "fmri-shape"):  # objects: their targets, decoders, generator, meshes, metrics
        if source == "synthetic":
            synthetic = config["data"]["synthetic"]
            versions["data_shape"] = stage_version({**synthetic["shapes"], "seed": synthetic["seed"]})
        else:
            versions["data_shape"] = stage_version(config["data"]["fmri-shape"])
        shape = recon["shape"]
        # the tiny generator (and its shape-code basis) is trained in the CLIP's embedding space
        versions["shape_model"] = stage_version(shape["tiny"], [clip_space, *shipped_parents.get("shape", [])])
        code_basis = [versions["shape_model"]] if shape["model"] == "tiny" else []
        versions["shape_targets"] = stage_version(config["stimuli"], [versions["data_shape"], *code_basis,
                                                                      *shipped_parents.get("clip", [])])
        versions["decode_shape"] = stage_version(decode["shape"], [versions["data_shape"], versions["shape_targets"]])
        pictures = [stage_version(recon["sampling"], image_unet)] if shape["model"] == "shap-e" else []
        versions["reconstruct_shape"] = stage_version(
            {key: shape[key] for key in ("model", "shap_e", "turntable_frames")},
            [versions["decode_shape"], versions["shape_model"], *pictures])
        versions["evaluate_shape"] = stage_version(config["evaluate"]["shape"], [versions["decode_shape"],
                                                                        versions["reconstruct_shape"]])
        shape_folders = {"data_shape": f"{RESULTS}/data/{'shapes' if source == 'synthetic' else source}-"
                                       f"{versions['data_shape']}",
                         "shape_targets": f"{RESULTS}/stimuli/shapes-{versions['shape_targets']}",
                         "decode_shape": f"{RESULTS}/decode/shapes-{versions['decode_shape']}",
                         "shape_model": f"{RESULTS}/models/shape-{versions['shape_model']}",
                         "reconstruct_shape": f"{RESULTS}/reconstruct/shapes-{versions['reconstruct_shape']}",
                         "evaluate_shape": f"{RESULTS}/evaluate/shapes-{versions['evaluate_shape']}"}
        shape_root = (shape_folders["data_shape"] if source == "synthetic"
                      else str(config["data"]["fmri-shape"]["root"]))
    region_folders = {}
    # region analysis where regions are known: the atlas ROIs, the synthetic worlds' populations, a flatmap map
    mapped = {"decode": True, "decode_video": source == "synthetic",
              "decode_shape": source == "synthetic" or bool(config["data"].get("fmri-shape", {}).get("regions"))}
    for stage, parent, name in (("regions_image", "decode", "image"), ("regions_video", "decode_video", "video"),
                                ("regions_shape", "decode_shape", "shapes")):
        if parent in versions and mapped[parent] and config["evaluate"]["regions"]["enabled"]:
            versions[stage] = stage_version(config["evaluate"]["regions"], [versions[parent]])
            region_folders[stage] = f"{RESULTS}/evaluate/regions-{name}-{versions[stage]}"
    folders = {
        **sensor_folders,
        **video_folders,
        **shape_folders,
        **region_folders,
        "data": f"{RESULTS}/data/{source}-{data_v}",
        "preprocess": f"{RESULTS}/preprocess/fmri-{versions['preprocess']}",
        "stimuli": f"{RESULTS}/stimuli/clip-{versions['stimuli']}",
        "decode": f"{RESULTS}/decode/ridge-{versions['decode']}",
        "decode_inputs": f"{RESULTS}/decode/inputs-{versions['decode_inputs']}",
        "evaluate": f"{RESULTS}/evaluate/embedding-{versions['evaluate']}",
        "shared": f"{RESULTS}/decode/shared-{versions['shared']}",
        "adapt": f"{RESULTS}/decode/adapted-{versions['adapt']}",
        "evaluate_shared": f"{RESULTS}/evaluate/shared-{versions['evaluate_shared']}",
        "evaluate_adapt": f"{RESULTS}/evaluate/adapted-{versions['evaluate_adapt']}",
        "vae": f"{RESULTS}/models/vae-{versions['vae']}",
        "diffusion": f"{RESULTS}/models/diffusion-{versions['diffusion']}",
        "lowlevel": f"{RESULTS}/reconstruct/lowlevel-{versions['lowlevel']}",
        "reconstruct": f"{RESULTS}/reconstruct/images-{versions['reconstruct']}",
        "evaluate_image": f"{RESULTS}/evaluate/image-{versions['evaluate_image']}",
        "ablation": f"{RESULTS}/reconstruct/ablation-{versions['ablation']}",
        "evaluate_ablation": f"{RESULTS}/evaluate/ablation-{versions['evaluate_ablation']}",
        "encode": f"{RESULTS}/encode/encoders-{versions['encode']}",
        "brain_score": f"{RESULTS}/evaluate/brain-score-{versions['brain_score']}",
        "synthesis": f"{RESULTS}/encode/synthesis-{versions['synthesis']}",
        **({"judge": f"{RESULTS}/models/judge-{judge[0]}"} if judge else {}),
    }
    # the synthetic video world is written under results/data; CC2017's files are read in place
    if video_folders:
        video_root = video_folders["data_video"] if source == "synthetic" else str(config["data"]["cc2017"]["root"])
    # the synthetic world and NSD's exported stimuli are written under results/data; BIDS is read in place
    bids_root = str(config["data"]["bids"]["root"]) if source == "bids" else folders["data"]
    return Layout(versions=versions, folders=folders, subjects=subjects_from_config(config["data"]),
                  shared_subjects=cross, adapt_subjects=[str(s) for s in decode["adapt"]["subjects"]] if cross else [],
                  bids_root=bids_root, source=source, sensor_subjects=sensor_subjects_from_config(config["data"]),
                  sensor_roots=sensor_roots, sensor_images=[str(m) for m in recon["sensors"]],
                  shipped=dict(shipped or {}), video_subjects=video_subjects_from_config(config["data"]),
                  video_root=video_root, shape_subjects=shape_subjects_from_config(config["data"]),
                  shape_root=shape_root, ablation_subjects=ablation_subjects(config),
                  encode_subjects=subjects_from_config(config["data"]) if config["encode"]["enabled"] else [],
                  synthesis_subjects=synthesis_subjects(config))
