"""The workflow end to end through Snakemake on the tiny config, and its rerun semantics."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, SHARED_DATA
from workflow_runs import SNAKEMAKE, artifact_digests, differing, edited_config, planned_jobs, snakemake

pytestmark = pytest.mark.slow


def test_run_writes_summary_report_and_manifests(finished_run):
    summary = pd.read_csv(finished_run / "results" / "summary.tsv", sep="\t", dtype={"subject": str})
    assert list(summary.columns) == ["modality", "subject", "method", "output", "metric", "value", "chance", "ceiling", "n"]
    assert set(summary["subject"]) == {"01", "02", "03", "eeg01", "seeg01", "video01", "shape01", "all"}
    assert set(summary["modality"]) == {"fmri", "eeg", "seeg"}
    video = summary[summary["output"] == "video"]
    assert set(video.loc[video["method"] == "ridge", "metric"]) == {"keyframe_clip_2way", "blurry_pixcorr", "flow_epe",
                                                                    "motion_direction_acc"}
    assert set(video["method"]) == {"ridge", "generated", "start", "generator_frames", "true_clips"}
    assert set(video.loc[video["method"] == "generated", "metric"]) == {
        "ssim_grey_gaussian", "ssim_rgb_255", "psnr", "frame_clip_2way_top1", "frame_clip_50way_top1",
        "video_clip_2way_top1", "video_clip_50way_top1", "clip_pcc", "generated_flow_epe", "generated_direction_acc"}
    assert set(video["subject"]) == {"video01", "all"}
    assert video.loc[video["method"] != "true_clips", "ceiling"].notna().all()
    meshes = summary[summary["output"] == "mesh"]
    assert set(meshes.loc[meshes["method"] == "ridge", "metric"]) == {"embedding_clip_2way", "shape_code_corr",
                                                                      "colour_abs_error", "view_pixcorr"}
    assert set(meshes.loc[meshes["method"] == "generated", "metric"]) == {
        "chamfer_distance", "emd", "fscore", "voxel_iou", "category_accuracy", "semantic_clip_2way_top1",
        "semantic_clip_10way_top1"}
    assert set(meshes["subject"]) == {"shape01", "all"}
    sensors = summary[summary["modality"].isin(["eeg", "seeg"]) & (summary["output"] == "embedding")]
    assert set(sensors["method"]) == {"ridge", "encoder"}
    assert set(sensors.loc[sensors["modality"] == "seeg", "metric"]) >= {"image_retrieval_top5", "category_accuracy"}
    embedding = summary[(summary["output"] == "embedding") & (summary["modality"] == "fmri")]
    decoded = embedding[embedding["method"] != "retrieval"]
    assert set(decoded["metric"]) == {"image_retrieval_top1", "image_retrieval_top5", "brain_retrieval_top1", "clip_2way"}
    assert set(embedding.loc[embedding["method"] == "retrieval", "metric"]) == {
        "text_retrieval_top1", "text_2way", "structure_corr", "structure_2way", "caption_words"}
    # ridge and the decoded inputs for everyone; the cross-subject model for its training subject and the adapted one
    assert {m: sorted(set(embedding[embedding["method"] == m]["subject"]) - {"all"})
            for m in set(embedding["method"])} == {"ridge": ["01", "02", "03"], "retrieval": ["01", "02", "03"],
                                                    "shared": ["01"], "shared-adapted": ["02"]}
    images = summary[(summary["output"] == "image") & (summary["modality"] == "fmri")]
    assert set(images["method"]) == {"ridge-lowlevel", "ridge-diffusion"}
    sensor_images = summary[(summary["output"] == "image") & (summary["modality"] != "fmri")]
    assert set(sensor_images["method"]) == {"ridge-lowlevel", "encoder-diffusion"}
    assert set(sensor_images["subject"]) == {"eeg01", "seeg01", "all"}
    assert set(images["metric"]) == {"pixcorr", "ssim", "clip_2way", "shape_acc", "colour_acc",  # no backbone weights here
                                     "shape_judge_acc", "colour_judge_acc", "brain_score", "brain_score_EVC",
                                     "brain_score_HVC"}
    encoding = summary[summary["output"] == "responses"]
    assert set(encoding["method"]) == {"linear-encoder", "transformer-encoder"}
    assert {"encoding_r_EVC", "encoding_r_HVC", "explained"} <= set(encoding["metric"])
    assert (encoding.loc[encoding["metric"].str.startswith("encoding_r"), "ceiling"] > 0.5).all()
    assert {"caption_hit", "caption_hit_colour"} <= set(summary.loc[summary["output"] == "captions", "metric"])
    synthesis = summary[summary["output"] == "synthesis"]
    assert set(synthesis["subject"]) == {"01", "all"}   # tiny.yaml synthesises for sub-01 only
    assert {"activation_EVC", "activation_HVC", "activation_colour", "feature_hit_colour",
            "feature_hit_shape"} <= set(synthesis["metric"])
    assert summary.loc[summary["method"] != "true_clips", "ceiling"].notna().all()
    fmri = summary[summary["modality"] == "fmri"]
    two_way = fmri[(fmri["metric"] == "clip_2way") & (fmri["subject"] == "all")].iloc[0]
    assert two_way["value"] > 0.6 and two_way["ceiling"] >= two_way["value"] - 0.05
    html = (finished_run / "results" / "report.html").read_text()
    assert "neurorecon report" in html and "data:image/png;base64" in html
    provenance = json.loads((finished_run / "results" / "summary.provenance.json").read_text())
    assert f"Config <b>{provenance['extra']['config_hash']}</b>" in html
    assert provenance["config"]["data"]["synthetic"]["n_subjects"] == 3 and "compute" not in provenance["config"]
    assert any(entry["path"].endswith("metrics.tsv") and len(entry["sha256"]) == 64 for entry in provenance["inputs"])
    assert "Image reconstruction" in html and "alexnet2_2way, alexnet5_2way skipped" in html
    assert "Data efficiency" in html and "cross-subject decoder" in html and "adaptation to sub-02" in html
    assert "EEG: encoder" in html and "sEEG: region encoder" in html and "responses per condition" in html
    assert "Video: decoding per 2-s segment" in html and "true and decoded motion per segment" in html
    assert "Video: generated clips" in html and "generated clips, animated" in html and "image/gif;base64" in html
    assert "3D: objects decoded into meshes" in html and "Which regions carry each target" in html
    assert "what each decoded input is worth" in html and "input ablation" in html
    assert "Encoding models: from the image to the brain" in html and "encoding models per ROI" in html
    assert "Voxel captions" in html and "ROI-driven synthesis" in html and "images drawn for each target" in html
    assert "encoding accuracy per voxel" in html   # the synthetic BIDS data have a voxel grid
    for stage, kinds in (("data", ["shapes", "synthetic", "synthetic-eeg", "synthetic-seeg", "video"]),
                         ("preprocess", ["eeg", "fmri", "seeg"]), ("stimuli", ["clip", "shapes", "video"])):
        folders = sorted((finished_run / "results" / stage).iterdir())
        assert [p.name.rsplit("-", 1)[0] for p in folders] == kinds
        assert all(list(folder.rglob("manifest.json")) for folder in folders), stage
    decode = sorted(p for p in (finished_run / "results" / "decode").iterdir() if "eeg" not in p.name)
    assert [p.name.split("-")[0] for p in decode] == ["adapted", "inputs", "ridge", "shapes", "shared", "video"]
    assert all(list(folder.rglob("manifest.json")) for folder in decode)
    assert (decode[0] / "sub-02" / "model" / "model.safetensors").is_file()
    assert sorted(p.name for p in decode[4].iterdir()) == ["manifest.json", "model", "sub-01", "training.tsv"]
    assert (decode[1] / "sub-03" / "words" / "ridge.safetensors").is_file()
    # checkpoints are removed once the models are saved
    assert not [p for p in (finished_run / "results").rglob("checkpoints/**/*") if p.is_file()]
    assert sorted(p.name.rsplit("-", 1)[0] for p in (finished_run / "results" / "evaluate").iterdir()) == [
        "ablation", "adapted", "brain-score", "eeg", "embedding", "image", "image-eeg", "image-seeg", "regions-image",
        "regions-shapes", "regions-video", "seeg", "shapes", "shared", "video"]
    assert sorted(p.name.rsplit("-", 1)[0] for p in (finished_run / "results" / "reconstruct").iterdir()) == [
        "ablation", "images", "images-eeg", "images-seeg", "lowlevel", "lowlevel-eeg", "lowlevel-seeg", "shapes",
        "video"]
    assert sorted(p.name.split("-")[0] for p in (finished_run / "results" / "models").iterdir()) == [
        "diffusion", "judge", "shape", "vae", "video"]
    ablation = pd.read_csv(next((finished_run / "results" / "evaluate").glob("ablation-*")) / "ablation_mean.tsv",
                           sep="\t")
    assert list(dict.fromkeys(ablation["inputs"])) == ["image", "image+text", "image+structure",
                                                       "image+text+structure"]
    assert {"shape_acc", "shape_judge_acc", "colour_acc", "colour_judge_acc", "clip_2way"} <= set(ablation["metric"])
    assert ablation["ceiling"].notna().all() and (ablation["subjects"] == 1).all()
    encoders = next((finished_run / "results" / "encode").glob("encoders-*"))
    assert sorted(p.name.rsplit("-", 1)[0] for p in (finished_run / "results" / "encode").iterdir()) == [
        "encoders", "synthesis"]
    assert (encoders / "sub-03" / "transformer" / "transformer.safetensors").is_file()
    captions = pd.read_csv(encoders / "sub-01" / "captions.tsv", sep="\t")
    assert captions["caption"].notna().all() and {"preferred_attribute", "hit"} <= set(captions.columns)
    drawn = next((finished_run / "results" / "encode").glob("synthesis-*")) / "sub-01"
    assert len(list((drawn / "images").glob("unguided_*.png"))) == 4
    meshes = next((finished_run / "results" / "reconstruct").glob("shapes-*")) / "shape01"
    assert len(list((meshes / "meshes").glob("*.ply"))) == 8 and len(list((meshes / "turntables").glob("*.gif"))) == 8
    generated = next((finished_run / "results" / "reconstruct").glob("video-*")) / "video01"
    assert len(list((generated / "gifs").glob("*.gif"))) == 12 and len(list((generated / "frames").iterdir())) == 12
    lowlevel, final = (next(p for p in (finished_run / "results" / "reconstruct").glob(f"{kind}-*")
                            if "eeg" not in p.name) / "sub-01" for kind in ("lowlevel", "images"))
    assert len(list((lowlevel / "images").glob("*.png"))) == 12
    assert len(list((final / "images").glob("*.png"))) == 12
    assert len(list((final / "samples").glob("*_sample-*.png"))) == 24
    assert (next((finished_run / "results" / "preprocess").glob("fmri-*")) / "dataset_description.json").is_file()


def test_data_efficiency_benchmark_table(finished_run):
    table = pd.read_csv(finished_run / "results" / "benchmarks" / "data_efficiency.tsv", sep="\t")
    assert list(table.columns) == ["method", "fraction", "metric", "value", "chance", "ceiling"]
    assert set(table["method"]) == {"ridge", "scratch", "shared-adapted"}
    assert sorted(set(table["fraction"])) == [0.25, 1.0]
    assert set(table["metric"]) == {"image_retrieval_top1", "image_retrieval_top5", "brain_retrieval_top1", "clip_2way"}
    assert len(table) == 3 * 2 * 4 and table["ceiling"].notna().all()
    assert (table.loc[table["metric"] == "clip_2way", "chance"] == 0.5).all()
    per_subject = pd.read_csv(finished_run / "results" / "benchmarks" / "data_efficiency_subjects.tsv", sep="\t",
                              dtype={"subject": str})
    assert set(per_subject["subject"]) == {"02"} and set(per_subject["n_train"]) == {18, 72}


def test_second_run_has_nothing_to_do(finished_run):
    result = snakemake(finished_run, "--dry-run")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


CROSS_SUBJECT = {"train_shared_decoder": 1, "evaluate_shared": 1, "adapt_subject": 1, "evaluate_adapted": 1,
                 "benchmark_data_efficiency": 1}
SENSOR_DECODERS = {"decode_eeg": 1, "evaluate_eeg": 1, "decode_seeg": 1, "evaluate_seeg": 1}
SENSOR_IMAGES = {"reconstruct_images_eeg": 1, "evaluate_images_eeg": 1, "reconstruct_images_seeg": 1,
                 "evaluate_images_seeg": 1}
SENSOR_LOWLEVEL = {"reconstruct_lowlevel_eeg": 1, "reconstruct_lowlevel_seeg": 1}
VIDEO_BELOW_TARGETS = {"video_targets": 1, "decode_video": 1, "reconstruct_video": 1, "evaluate_video": 1}
VIDEO_GENERATION = {"train_tiny_video": 1, "reconstruct_video": 1, "evaluate_video": 1}
SHAPE_BRANCH = {"train_tiny_shape": 1, "shape_targets": 1, "decode_shape": 1, "reconstruct_shape": 1, "evaluate_shape": 1,
                "regions_shape": 1}
REGIONS_IMAGE = {"regions_image": 3}
ABLATION = {"reconstruct_ablation": 1, "evaluate_ablation": 1}   # tiny.yaml ablates sub-01 only
INPUTS = {"decode_inputs": 3}
BRAIN_SCORE = {"brain_score": 3}
ENCODE = {"encode": 3, **BRAIN_SCORE, "synthesise_roi": 1}   # tiny.yaml synthesises for sub-01 only


@pytest.mark.parametrize("section, value, expected", [
    (("decode", "ridge", "alphas"), [1, 10, 1000],
     {"decode_ridge": 3, "evaluate_embeddings": 3, "reconstruct_images": 3, "evaluate_images": 3,
      "benchmark_data_efficiency": 1, **REGIONS_IMAGE, **ABLATION, **BRAIN_SCORE, "report": 1, "all": 1}),
    (("preprocess", "fmri", "high_pass_hz"), 0.02,
     {"preprocess_fmri": 3, "decode_ridge": 3, "evaluate_embeddings": 3, "reconstruct_lowlevel": 3,
      "reconstruct_images": 3, "evaluate_images": 3, **CROSS_SUBJECT, **REGIONS_IMAGE, **INPUTS, **ABLATION,
      **ENCODE, "report": 1, "all": 1}),
    (("stimuli", "clip", "tiny", "epochs"), 2,
     {"train_tiny_clip": 1, "embed_stimuli": 1, "decode_ridge": 3, "evaluate_embeddings": 3, "train_tiny_diffusion": 1,
      "reconstruct_images": 3, "evaluate_images": 3, **CROSS_SUBJECT, **SENSOR_DECODERS, **SENSOR_IMAGES,
      "structure_maps": 1, **INPUTS, **ABLATION, **ENCODE,
      **VIDEO_BELOW_TARGETS, **VIDEO_GENERATION, **SHAPE_BRANCH, **REGIONS_IMAGE, "regions_video": 1,
      "report": 1, "all": 1}),
    (("reconstruct", "sampling", "steps"), 3,
     {"reconstruct_images": 3, "evaluate_images": 3, **SENSOR_IMAGES, **ABLATION, **BRAIN_SCORE, "report": 1,
      "all": 1}),
    # the combinations redraw only the ablation; the inputs' decoders rerun what samples with them
    (("reconstruct", "ablation", "combinations"), [["image"]], {**ABLATION, "report": 1, "all": 1}),
    (("decode", "inputs", "method"), "ridge",
     {**INPUTS, "reconstruct_images": 3, "evaluate_images": 3, **ABLATION, **BRAIN_SCORE, "report": 1, "all": 1}),
    (("evaluate", "judge", "epochs"), 1,
     {"train_judge": 1, "evaluate_images": 3, "evaluate_images_eeg": 1, "evaluate_images_seeg": 1,
      "evaluate_ablation": 1, "synthesise_roi": 1, "report": 1, "all": 1}),
    (("reconstruct", "diffusion", "tiny", "epochs"), 1,
     {"train_tiny_diffusion": 1, "reconstruct_images": 3, "evaluate_images": 3, **SENSOR_IMAGES, **VIDEO_GENERATION,
      **ABLATION, **BRAIN_SCORE, "synthesise_roi": 1, "report": 1, "all": 1}),
    (("reconstruct", "vae", "tiny", "epochs"), 1,
     {"train_tiny_vae": 1, "train_tiny_diffusion": 1, "reconstruct_lowlevel": 3, "reconstruct_images": 3,
      "evaluate_images": 3, **SENSOR_LOWLEVEL, **SENSOR_IMAGES, **VIDEO_GENERATION, **ABLATION, **BRAIN_SCORE,
      "synthesise_roi": 1, "report": 1, "all": 1}),
    # the encoders rerun what reads them; the brain score's and the synthesis' settings only themselves
    (("encode", "transformer", "epochs"), 2, {**ENCODE, "report": 1, "all": 1}),
    (("encode", "brain_score", "model"), "linear", {**BRAIN_SCORE, "report": 1, "all": 1}),
    (("encode", "synthesis", "guidance_scale"), 5.0, {"synthesise_roi": 1, "report": 1, "all": 1}),
    (("evaluate", "image", "size"), 16,
     {"evaluate_embeddings": 3, "evaluate_shared": 1, "evaluate_adapted": 1, "evaluate_images": 3, "evaluate_eeg": 1,
      "evaluate_seeg": 1, "evaluate_images_eeg": 1, "evaluate_images_seeg": 1, "evaluate_ablation": 1, "report": 1,
      "all": 1}),
    # each sensor modality is its own branch: editing one never reruns the other or the fMRI stages
    (("preprocess", "eeg", "h_freq"), 30.0,
     {"preprocess_eeg": 1, "decode_eeg": 1, "evaluate_eeg": 1, "reconstruct_lowlevel_eeg": 1, "reconstruct_images_eeg": 1,
      "evaluate_images_eeg": 1, "report": 1, "all": 1}),
    (("data", "synthetic", "seeg", "gamma_signal"), 0.4,
     {"synth_seeg_dataset": 1, "synth_seeg_subject": 1, "preprocess_seeg": 1, "decode_seeg": 1, "evaluate_seeg": 1,
      "reconstruct_lowlevel_seeg": 1, "reconstruct_images_seeg": 1, "evaluate_images_seeg": 1, "report": 1, "all": 1}),
    (("decode", "seeg", "category_weight"), 0.0,
     {"decode_seeg": 1, "evaluate_seeg": 1, "reconstruct_images_seeg": 1, "evaluate_images_seeg": 1, "report": 1,
      "all": 1}),
    # the cross-subject stages: adaptation settings rerun adaptation only; a new adapted subject
    # adds its own jobs (and the benchmark over adapted subjects); the shared model's settings
    # rerun it and everything adapted to it, never the per-subject ridge
    (("decode", "adapt", "fraction"), 0.25, {"adapt_subject": 1, "evaluate_adapted": 1, "report": 1, "all": 1}),
    (("decode", "adapt", "subjects"), ["02", "03"],
     {"adapt_subject": 1, "evaluate_adapted": 1, "benchmark_data_efficiency": 1, "report": 1, "all": 1}),
    (("decode", "shared", "epochs"), 2, {**CROSS_SUBJECT, "report": 1, "all": 1}),
    (("benchmark", "data_efficiency", "fractions"), [0.5, 1.0], {"benchmark_data_efficiency": 1, "report": 1, "all": 1}),
    # the video world is its own branch: its data reruns only its targets, decoders and metrics
    (("data", "synthetic", "video", "ar_coef"), 0.3,
     {"synth_video": 1, **VIDEO_BELOW_TARGETS, "regions_video": 1, "report": 1, "all": 1}),
    (("decode", "video", "alphas"), [1, 100],
     {"decode_video": 1, "reconstruct_video": 1, "evaluate_video": 1, "regions_video": 1, "report": 1, "all": 1}),
    # sampling settings redraw the clips without retraining the video model; video metric settings rescore only
    (("reconstruct", "video", "sampling", "steps"), 2, {"reconstruct_video": 1, "evaluate_video": 1, "report": 1, "all": 1}),
    (("evaluate", "video", "num_trials"), 10, {"evaluate_video": 1, "report": 1, "all": 1}),
    # the 3D world is its own branch too; sampling-free generator settings redraw only the meshes
    (("data", "synthetic", "shapes", "ar_coef"), 0.3,
     {"synth_shapes": 1, **{k: v for k, v in SHAPE_BRANCH.items() if k != "train_tiny_shape"}, "report": 1, "all": 1}),
    (("reconstruct", "shape", "turntable_frames"), 3, {"reconstruct_shape": 1, "evaluate_shape": 1, "report": 1, "all": 1}),
    (("evaluate", "shape", "num_trials"), 10, {"evaluate_shape": 1, "report": 1, "all": 1}),
    (("evaluate", "regions", "enabled"), False, {"report": 1, "all": 1}),
    # a setting no stage reads still changes the config the summary states it comes from
    (("benchmark", "glm", "runs"), 1, {"report": 1, "all": 1}),
])
def test_config_edit_reruns_the_stage_and_below_only(finished_run, section, value, expected):
    result = snakemake(finished_run, "--dry-run", configfile=edited_config(finished_run, section, value))
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned_jobs(result.stdout) == expected


def test_editing_a_src_module_reruns_the_rules_whose_scripts_use_it(finished_run, tmp_path):
    """Each rule passes the hash of the src/ code its script reaches: a library edit reruns exactly
    those rules and what depends on their outputs."""
    from neurorecon.artifacts import source_closure

    code = tmp_path / "code"
    code.mkdir()
    for name in ("Snakefile", "rules", "workflow", "src", "config", "profiles"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, code / name)
    module = Path("src") / "neurorecon" / "evaluate" / "sensors.py"
    scripts = (REPO / "workflow" / "scripts").glob("*.py")
    assert sorted(s.stem for s in scripts if REPO / module in source_closure(s)) == ["evaluate_sensors"]
    (code / module).write_text((code / module).read_text() + "\n# an edit\n")
    result = snakemake(finished_run, "--dry-run", snakefile=code / "Snakefile")
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned_jobs(result.stdout) == {"evaluate_eeg": 1, "evaluate_seeg": 1, "report": 1, "all": 1}


def test_killed_run_completes_with_rerun_incomplete_and_byte_identical_artifacts(finished_run, tmp_path):
    """SIGKILL the whole run while the tiny CLIP is training (a crashed node, the OOM killer):
    nothing half-written looks complete, and after `--unlock` the rerun finishes with the same
    bytes as the uninterrupted run of the same seed."""
    shutil.copy(finished_run / "tiny.yaml", tmp_path / "tiny.yaml")
    command = [*SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--configfile", "tiny.yaml", "--cores", "2",
               "--until", "embed_stimuli"]
    run = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.monotonic() + 600
    while not list((tmp_path / "logs").glob("stimuli/*/train_tiny_clip.log")):
        assert run.poll() is None and time.monotonic() < deadline, "the run never reached train_tiny_clip"
        time.sleep(0.5)
    time.sleep(1)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert not list(tmp_path.glob("results/**/open_clip_model.safetensors"))
    assert list((tmp_path / ".snakemake" / "incomplete").iterdir()), "Snakemake did not mark the killed job incomplete"

    assert snakemake(tmp_path, "--unlock").returncode == 0     # a killed run leaves its lock behind
    rerun = snakemake(tmp_path, "--rerun-incomplete", "--until", "embed_stimuli")
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    digests = artifact_digests(tmp_path)
    assert any(path.endswith("embeddings.npz") for path in digests) and len(digests) > 20
    assert differing(digests, json.loads((finished_run / "digests.json").read_text())) == []


def test_typo_in_config_fails_before_any_job(finished_run):
    result = snakemake(finished_run, "--dry-run", configfile=edited_config(finished_run, ("decode", "ridge", "alpah"), [1]))
    assert result.returncode != 0
    assert "unknown config key 'decode.ridge.alpah'; did you mean decode.ridge.'alphas'?" in result.stderr + result.stdout


def test_verify_artifacts_lists_a_file_changed_on_disk(finished_run):
    result = snakemake(finished_run, "verify_artifacts")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 changed or missing" in result.stderr
    embeddings = next((finished_run / "results" / "stimuli").glob("clip-*/embeddings.npz"))
    original, times = embeddings.read_bytes(), embeddings.stat()
    try:
        embeddings.write_bytes(original[:-10] + bytes(10))
        result = snakemake(finished_run, "verify_artifacts")
        assert result.returncode != 0
        assert f"changed: {embeddings.relative_to(finished_run)}" in result.stderr
        assert "1 changed or missing" in result.stderr
    finally:
        embeddings.write_bytes(original)
        os.utime(embeddings, ns=(times.st_atime_ns, times.st_mtime_ns))


def test_config_naming_absent_data_fails_before_any_job_over_an_earlier_run(finished_run, tmp_path):
    """Over an earlier run's results, a config whose data are not there must not answer "Nothing to
    be done": it stops at once, naming the setting and the path, and the earlier summary stays."""
    summary = (finished_run / "results" / "summary.tsv").read_bytes()
    config = yaml.safe_load((finished_run / "tiny.yaml").read_text())
    config["data"] = {"source": "bids", "bids": {"root": str(tmp_path / "not-there"), "subjects": ["01"]}}
    config["decode"]["adapt"]["subjects"] = []
    config["reconstruct"]["sensors"] = []
    configfile = tmp_path / "absent.yaml"
    configfile.write_text(yaml.safe_dump(config))
    result = snakemake(finished_run, configfile=configfile)
    assert result.returncode != 0
    assert f"data.bids.root: {tmp_path / 'not-there'} does not exist" in result.stderr + result.stdout
    assert (finished_run / "results" / "summary.tsv").read_bytes() == summary


def only_measured_ceilings(summary: pd.DataFrame) -> bool:
    """Without ground truth the only ceilings are those the data themselves give: the encoders' NSD
    ncsnr ceiling from the test repeats (and 1 for the explained fraction), and the brain score of
    the seen images; every other ceiling is empty."""
    measured = summary["output"].eq("responses") | summary["metric"].str.startswith("brain_score")
    encoding = summary["metric"].str.startswith("encoding_r")
    return (bool(summary.loc[~measured, "ceiling"].isna().all()) and bool(encoding.any())
            and bool((summary.loc[encoding, "ceiling"] > 0).all()))


def test_bids_source_runs_on_a_dataset_in_place_without_ceilings(finished_run, tmp_path):
    """The synthetic world written by the first run is a BIDS dataset: read it as a user's own data,
    with an EEG subject's recording added to the same dataset."""
    data = finished_run / "results" / "data"
    bids_root = tmp_path / "bids"
    shutil.copytree(next(p for p in data.iterdir() if (p / "stimuli").is_dir()), bids_root)
    shutil.copytree(next(data.glob("synthetic-eeg-*")) / "sub-eeg01", bids_root / "sub-eeg01")
    config = yaml.safe_load((finished_run / "tiny.yaml").read_text())
    config["data"] = {"source": "bids", "bids": {"root": str(bids_root), "subjects": ["01"], "eeg_subjects": ["eeg01"]}}
    config["decode"]["adapt"]["subjects"] = []
    config["reconstruct"]["sensors"] = []
    config["reconstruct"]["diffusion"]["model"] = "none"   # the generator reads embeddings only; tested above
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = pd.read_csv(tmp_path / "results" / "summary.tsv", sep="\t", dtype={"subject": str})
    assert set(summary["subject"]) == {"01", "eeg01", "all"}
    assert set(summary.loc[summary["subject"] == "eeg01", "modality"]) == {"eeg"}
    assert only_measured_ceilings(summary)          # no ground truth in a user's dataset
    assert "ridge-lowlevel" in set(summary["method"])
    assert not (tmp_path / "results" / "data").exists()


def test_nsd_source_runs_from_nsd_layout(tmp_path):
    """NSD's own layout (a miniature) through ingestion, embeddings, decoding and the report."""
    from nsd_fixture import SESSIONS, build_mini_nsd

    root = build_mini_nsd(tmp_path / "nsd")[0]
    config = yaml.safe_load((REPO / "config" / "examples" / "tiny.yaml").read_text())
    config["data"] = {"source": "nsd", "nsd": {"root": str(root), "subjects": [1], "sessions": SESSIONS, "image_size": 32}}
    config["decode"]["ridge"]["rois"] = ["nsdgeneral"]
    config["decode"]["shared"]["rois"] = ["nsdgeneral"]
    config["decode"]["adapt"]["subjects"] = []
    config["reconstruct"]["sensors"] = []
    config["reconstruct"]["lowlevel"]["rois"] = ["nsdgeneral"]
    config["reconstruct"]["diffusion"]["model"] = "none"
    config["decode"]["inputs"] = {"kinds": ["structure"], "method": "ridge", "rois": ["nsdgeneral"]}   # no captions
    config["encode"]["rois"] = ["nsdgeneral"]
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = pd.read_csv(tmp_path / "results" / "summary.tsv", sep="\t", dtype={"subject": str})
    assert set(summary["subject"]) == {"01", "all"} and only_measured_ceilings(summary)
    stimuli = pd.read_csv(next((tmp_path / "results" / "data").iterdir()) / "stimuli" / "stimuli.tsv", sep="\t")
    assert set(stimuli["split"]) == {"train", "test"}
    assert "has no captions" in (tmp_path / "results" / "report.html").read_text()


def test_things_eeg2_source_decodes_eeg_only(tmp_path):
    """A miniature THINGS-EEG2 release through stimulus export, ingestion, the EEG encoder and the
    report; no fMRI stage and no generative model runs."""
    from things_eeg2_fixture import build_mini_things

    root = build_mini_things(tmp_path / "things")
    config = yaml.safe_load((REPO / "config" / "examples" / "tiny.yaml").read_text())
    config["data"] = {"source": "things-eeg2", "things-eeg2": {"root": str(root), "subjects": [1], "image_size": 32}}
    config["decode"]["shared"].update(enabled=False, subjects=None)
    config["decode"]["adapt"]["subjects"] = []
    config["reconstruct"]["sensors"] = []
    config["preprocess"] = {"fmri": {}, "eeg": {"conditions": None}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = pd.read_csv(tmp_path / "results" / "summary.tsv", sep="\t", dtype={"subject": str})
    assert set(summary["modality"]) == {"eeg"} and set(summary["subject"]) == {"01", "all"}
    assert set(summary["method"]) == {"ridge", "encoder"} and summary["ceiling"].isna().all()
    assert np.allclose(summary.loc[summary["metric"] == "image_retrieval_top1", "chance"], 1 / 6, atol=1e-4)
    assert not (tmp_path / "results" / "models").exists()


def test_cc2017_source_runs_from_neuroclips_layout(tmp_path):
    """A miniature CC2017 release (NeuroClips' .pt files only) through config/examples/cc2017.yaml:
    segment table, targets, decoders, generated clips, metrics and report; no image stage runs."""
    from cc2017_fixture import build_mini_cc2017

    root = build_mini_cc2017(tmp_path / "cc2017")
    example = yaml.safe_load((REPO / "config" / "examples" / "cc2017.yaml").read_text())
    config = yaml.safe_load((REPO / "config" / "examples" / "tiny.yaml").read_text())   # tiny models, trained here
    config["data"] = {**example["data"], "cc2017": {"root": str(root), "subjects": [1]}}
    config["decode"].update(example["decode"])
    config["reconstruct"]["sensors"] = []
    config["evaluate"]["video"] = {**example["evaluate"]["video"], "num_trials": 20}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = pd.read_csv(tmp_path / "results" / "summary.tsv", sep="\t", dtype={"subject": str})
    assert set(summary["subject"]) == {"video01", "all"} and set(summary["output"]) == {"video"}
    assert summary["ceiling"].isna().all() and "motion_direction_acc" not in set(summary["metric"])
    assert {"ssim_rgb_255", "frame_clip_50way_top1", "clip_pcc", "generated_flow_epe"} <= set(summary["metric"])
    html = (tmp_path / "results" / "report.html").read_text()
    assert "Video: generated clips" in html and "Stimulus embeddings" not in html and "image/gif;base64" in html
    clips = pd.read_csv(next((tmp_path / "results" / "data").glob("cc2017-*")) / "clips.tsv", sep="\t")
    assert (clips["split"] == "test").sum() == 12 and clips["stim_id"].iloc[0] == "train0000"
    assert not list((tmp_path / "results").glob("preprocess/fmri-*"))
    assert not list((tmp_path / "results").glob("reconstruct/images-*"))
    gifs = list((tmp_path / "results").glob("reconstruct/video-*/video01/gifs/*.gif"))
    assert len(gifs) == 12


def test_fmri_shape_source_runs_from_the_release_layout(tmp_path):
    """A miniature fMRI-Shape release (npy flatmaps and split lists) with views and a region map but no
    meshes, through config/examples/fmri-shape.yaml with the tiny models: targets, decoders, meshes,
    the semantic metrics only (the report says why), region analysis; no image or video stage runs."""
    from fmri_shape_fixture import build_mini_fmri_shape

    folders = build_mini_fmri_shape(tmp_path / "fmri-shape")
    example = yaml.safe_load((REPO / "config" / "examples" / "fmri-shape.yaml").read_text())
    config = yaml.safe_load((REPO / "config" / "examples" / "tiny.yaml").read_text())   # tiny models, trained here
    config["data"] = {**example["data"]}
    config["data"]["fmri-shape"] = {**example["data"]["fmri-shape"], "root": str(folders["root"]),
                                    "views": str(folders["views"]), "regions": str(folders["regions"]),
                                    "region_names": {1: "EVC", 2: "LOC", 3: "HVC"}}
    config["decode"].update({key: example["decode"][key] for key in ("shared", "adapt")})
    config["reconstruct"]["sensors"] = []
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = pd.read_csv(tmp_path / "results" / "summary.tsv", sep="\t", dtype={"subject": str})
    assert set(summary["subject"]) == {"shape01", "all"} and set(summary["output"]) == {"mesh"}
    assert summary["ceiling"].isna().all()
    assert {"embedding_clip_2way", "colour_abs_error", "semantic_clip_2way_top1"} <= set(summary["metric"])
    assert not {"chamfer_distance", "shape_code_corr", "category_accuracy"} & set(summary["metric"])
    html = (tmp_path / "results" / "report.html").read_text()
    assert "3D: objects decoded into meshes" in html and "geometric metrics skipped" in html
    assert "Which regions carry each target" in html and "Stimulus embeddings" not in html
    regions = pd.read_csv(next((tmp_path / "results").glob("evaluate/regions-shapes-*/shape01/regions.tsv")), sep="\t")
    assert set(regions["region"]) == {"all", "EVC", "LOC", "HVC"}
    assert len(list((tmp_path / "results").glob("reconstruct/shapes-*/shape01/meshes/*.ply"))) == 8
    assert not list((tmp_path / "results").glob("preprocess/fmri-*"))
    assert not list((tmp_path / "results").glob("reconstruct/video-*"))


@pytest.mark.realdata
@pytest.mark.skipif(not (SHARED_DATA / "fmri" / "miyawaki2008-subset").exists(), reason="shared Miyawaki data not present")
def test_miyawaki_config_reconstructs_real_patterns_above_chance(tmp_path):
    """config/examples/miyawaki.yaml as a workflow target: real fMRI to pixels, 12 test patterns."""
    config = yaml.safe_load((REPO / "config" / "examples" / "miyawaki.yaml").read_text())
    config["data"]["miyawaki"]["file"] = str(REPO / config["data"]["miyawaki"]["file"])
    config["stimuli"]["clip"]["tiny"].update(n_pairs=128, epochs=2)
    (tmp_path / "miyawaki.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, configfile=tmp_path / "miyawaki.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    summary = pd.read_csv(tmp_path / "results" / "summary.tsv", sep="\t", dtype={"subject": str})
    images = summary[(summary["output"] == "image") & (summary["subject"] == "01")].set_index("metric")
    assert set(images["method"]) == {"ridge-lowlevel"} and (images["n"] == 12).all()
    assert images.loc["pixcorr", "value"] > images.loc["pixcorr", "chance"] + 0.1
    assert images.loc["ssim", "value"] > images.loc["ssim", "chance"]
    assert not (tmp_path / "results" / "models").exists()   # pixels target, no generator: nothing trained


@pytest.mark.realdata
@pytest.mark.skipif(not (SHARED_DATA / "eeg" / "n170-muse").exists(), reason="shared N170 recording not present")
def test_n170_config_decodes_faces_and_houses_and_draws_them(tmp_path):
    """config/examples/n170.yaml as a workflow target (tiny models made smaller for the test): the
    Riemannian decoder beats the plain logistic baseline on the same folds, and the images drawn
    from the decoded categories are judged above chance."""
    config = yaml.safe_load((REPO / "config" / "examples" / "n170.yaml").read_text())
    for key in ("recordings", "stimuli"):
        config["data"]["muse"][key] = str(REPO / config["data"]["muse"][key])
    config["data"]["muse"]["image_size"] = 32
    config["stimuli"]["clip"]["tiny"].update(n_pairs=400, image_size=32, epochs=3)
    config["reconstruct"]["vae"]["tiny"].update(n_images=400, image_size=32, epochs=2)
    config["reconstruct"]["diffusion"]["tiny"].update(n_images=400, epochs=4)
    (tmp_path / "n170.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, configfile=tmp_path / "n170.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    summary = pd.read_csv(tmp_path / "results" / "summary.tsv", sep="\t", dtype={"subject": str})
    auc = summary[(summary["metric"] == "auc") & (summary["subject"] == "01")].set_index("method")["value"]
    assert auc["xdawn-riemann"] > 0.71 and auc["xdawn-riemann"] > auc["logistic"] + 0.03
    drawn = summary[(summary["output"] == "image") & (summary["subject"] == "01")].iloc[0]
    assert drawn["metric"] == "category_acc" and drawn["n"] == 16
    assert "Category decoding" in (tmp_path / "results" / "report.html").read_text()


def test_cross_subject_embeddings_can_condition_the_generator(finished_run):
    """reconstruct.decoder: cross-subject redraws the images from the shared model's (and the
    adapted models') embeddings; nothing upstream of the generator is refitted. Runs last: it
    rewrites the finished run's summary and report."""
    config = yaml.safe_load((finished_run / "tiny.yaml").read_text())
    config["reconstruct"]["decoder"] = "cross-subject"
    config["decode"]["adapt"]["subjects"] = ["02", "03"]
    path = finished_run / "cross-subject.yaml"
    path.write_text(yaml.safe_dump(config))
    planned = planned_jobs(snakemake(finished_run, "--dry-run", configfile=path).stdout)
    assert planned == {"adapt_subject": 1, "evaluate_adapted": 1, "benchmark_data_efficiency": 1,
                       "reconstruct_images": 3, "evaluate_images": 3, **ABLATION, **BRAIN_SCORE, "report": 1, "all": 1}
    result = snakemake(finished_run, configfile=path)
    assert result.returncode == 0, result.stderr[-4000:]
    summary = pd.read_csv(finished_run / "results" / "summary.tsv", sep="\t", dtype={"subject": str})
    final = summary[summary["method"] == "cross-subject-diffusion"]
    assert set(final["subject"]) == {"01", "02", "03", "all"} and final["ceiling"].notna().all()
    assert "ridge-diffusion" not in set(summary["method"]) and "ridge-lowlevel" in set(summary["method"])
