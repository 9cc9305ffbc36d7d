"""Rule report: results/summary.tsv and results/report.html for the current config's versions."""

import json
from pathlib import Path

from _common import begin

started = begin(snakemake)

import numpy as np
import pandas as pd

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.report.costs import job_benchmarks, rule_costs
from neurorecon.decode.video import (
    FPS, blurry_frames, load_test_frames, load_video_predictions, load_video_targets, mean_motion,
)
from neurorecon.report.html import (
    clip_strips, condition_figure, encoding_brain_map, loss_figure, motion_figure, reconstruction_grid, region_figure,
    render_report,
)
from neurorecon.io.fmri_shape import true_views
from neurorecon.report.summary import build_summary, summary_tsv
from neurorecon.reconstruct.io import load_reconstructions
from neurorecon.stimuli.images import load_stimulus_images

GRID_COLUMNS = 10
cross_subject = [*snakemake.input.get("shared_metrics", []), *snakemake.input.get("adapted_metrics", [])]
sensors = [path for modality in ("eeg", "seeg") for kind in ("metrics", "image_metrics")
           for path in snakemake.input.get(f"{modality}_{kind}", [])]
sensors += [snakemake.input[key] for key in ("category_metrics", "category_image_metrics") if key in snakemake.input.keys()]
tables = [pd.read_csv(p, sep="\t", dtype={"subject": str})
          for p in [*snakemake.input.metrics, *snakemake.input.input_metrics, *snakemake.input.encode_metrics,
                    *snakemake.input.brain_scores, *snakemake.input.synthesis_metrics,
                    *cross_subject, *sensors, *snakemake.input.image_metrics,
                    *snakemake.input.video_metrics, *snakemake.input.shape_metrics]]
summary = build_summary(tables)
write_text_atomic(snakemake.output.summary, summary_tsv(summary))

shipped = set(snakemake.params.shipped)
titles = {f"{kind}_history": f"tiny {name}" + (" (shipped in models/)" if kind in shipped else " (trained in this run)")
          for kind, name in (("clip", "CLIP, contrastive loss"), ("vae", "VAE"), ("diffusion", "diffusion UNet and control branch"))}
histories = {title: pd.read_csv(snakemake.input[key], sep="\t") for key, title in titles.items()
             if key in snakemake.input.keys()}
if "shared_history" in snakemake.input.keys():
    histories["cross-subject decoder"] = pd.read_csv(snakemake.input.shared_history, sep="\t")
for subject, path in zip(snakemake.params.adapt_subjects, snakemake.input.get("adapted_histories", [])):
    history = pd.read_csv(path, sep="\t")
    if len(history):
        histories[f"adaptation to sub-{subject}"] = history
benchmark = (pd.read_csv(snakemake.input.data_efficiency, sep="\t")
             if "data_efficiency" in snakemake.input.keys() else None)

def subject_grid(lowlevel_path, final_path, title: str) -> str:
    """Stimulus / low-level / final (/ final from noise-free responses) for the first test images."""
    lowlevel = load_reconstructions(Path(lowlevel_path))
    stim_ids = [str(s) for s in lowlevel["stim_ids"][:GRID_COLUMNS]]
    rows = {"stimulus": load_stimulus_images(snakemake.input.stimuli, stim_ids), "low-level": lowlevel["images"]}
    if final_path:
        final = load_reconstructions(Path(final_path))
        rows["final"] = final["images"]
        if "ceiling" in final:
            rows["final, noise-free"] = final["ceiling"]
    return reconstruction_grid({k: v[:GRID_COLUMNS] for k, v in rows.items()}, stim_ids, title)


finals = snakemake.input.final or [None] * len(snakemake.params.subjects)
grids = [subject_grid(low, final, f"sub-{subject}")
         for subject, low, final in zip(snakemake.params.subjects, snakemake.input.lowlevel, finals)]
sensor_figures = {}
for modality, unit in (("eeg", "microvolts"), ("seeg", "high gamma, log10 ratio to baseline")):
    figures = []
    subjects = snakemake.params.sensor_subjects[modality]
    for subject, conditions, history in zip(subjects, snakemake.input.get(f"{modality}_conditions", []),
                                            snakemake.input.get(f"{modality}_histories", [])):
        with np.load(conditions, allow_pickle=False) as data:
            figures.append(condition_figure(dict(data), f"sub-{subject}: training trials by condition", unit))
        figures.append(loss_figure(pd.read_csv(history, sep="\t"), f"{modality} encoder, sub-{subject}"))
    lowlevels = snakemake.input.get(f"{modality}_lowlevel", [])
    finals = snakemake.input.get(f"{modality}_final", []) or [None] * len(lowlevels)
    figures += [subject_grid(low, final, f"{modality} sub-{subject}") for subject, low, final in zip(subjects, lowlevels, finals)]
    if figures:
        sensor_figures[modality] = figures
if "category_images" in snakemake.input.keys():
    drawn = load_reconstructions(Path(snakemake.input.category_images))
    trial_ids = [str(s) for s in drawn["stim_ids"]]
    grids.append(reconstruction_grid({"from decoded EEG": drawn["images"], "from the true category": drawn["ceiling"]},
                                     trial_ids, "images drawn from held-out trials' decoded categories"))
video_figures = []
for subject, path in zip(snakemake.params.video_subjects, snakemake.input.video_predictions):
    test_ids, predicted, _ = load_video_predictions(Path(path))
    shown = test_ids[:GRID_COLUMNS]
    frames = load_test_frames(Path(snakemake.input.video_frames[0]), shown)
    true = load_video_targets(Path(snakemake.input.video_targets[0]), shown)
    blurry = blurry_frames(predicted["blurry"][:GRID_COLUMNS], frames.shape[1])
    first, last = 0, frames.shape[1] - 1
    video_figures.append(reconstruction_grid(
        {"true, first frame": frames[:, first], "true, last frame": frames[:, last],
         "decoded, first": blurry[:, first], "decoded, last": blurry[:, last]}, shown, f"{subject}: frames"))
    video_figures.append(motion_figure(mean_motion(true["flow"]), mean_motion(predicted["flow"][:GRID_COLUMNS]),
                                       shown, f"{subject}: motion"))
generated_video_figures = []
videos = snakemake.input.get("videos", [])
for subject, path in zip(snakemake.params.video_subjects, videos):
    generated = load_reconstructions(Path(path))
    shown = [str(s) for s in generated["stim_ids"][:GRID_COLUMNS]]
    rows = {"true": load_test_frames(Path(snakemake.input.video_frames[0]), shown),
            "start": generated["videos_start"][:GRID_COLUMNS], "generated": generated["images"][:GRID_COLUMNS]}
    if "ceiling" in generated:
        rows["generated, noise-free"] = generated["ceiling"][:GRID_COLUMNS]
    generated_video_figures.append(
        clip_strips(rows, shown, f"{subject}: true, start and generated clips (animated, {FPS} fps)", FPS))
shape_figures = []
for subject, path in zip(snakemake.params.shape_subjects, snakemake.input.get("meshes", [])):
    meshes = load_reconstructions(Path(path))
    shown = [str(s) for s in meshes["stim_ids"][:GRID_COLUMNS]]
    rows = {"true": true_views(snakemake.params.shape_files["views"], shown, meshes["images"].shape[2]),
            "reconstructed": meshes["images"][:GRID_COLUMNS]}
    if "ceiling" in meshes:
        rows["reconstructed, noise-free"] = meshes["ceiling"][:GRID_COLUMNS]
    shape_figures.append(clip_strips(rows, shown, f"{subject}: the six scored views of true and reconstructed objects "
                                                  "(animated)", 2))
region_figures = []
for path in snakemake.input.regions:
    table = pd.read_csv(path, sep="\t", dtype={"subject": str})
    if (table["region"] == "all").all():   # one region only (e.g. NSD's nsdgeneral): nothing to compare
        continue
    region_figures.append(region_figure(table, f"{table['branch'].iloc[0]} decoders, {table['subject'].iloc[0]}"))
notes = sorted({note for path in snakemake.input.image_manifests
                for note in json.loads(Path(path).read_text()).get("extra", {}).get("skipped", [])})
shape_notes = sorted({note for path in snakemake.input.shape_metrics
                      for note in json.loads((Path(path).parent / "manifest.json").read_text())["extra"].get("notes", [])})
retrieval = json.loads(Path(snakemake.input.retrieval).read_text()) if "retrieval" in snakemake.input.keys() else None
encoding = {"roi_tables": pd.concat([pd.read_csv(path, sep="\t") for path in snakemake.input.encode_roi_tables]
                                     or [pd.DataFrame()], ignore_index=True),
            "captions": pd.concat([pd.read_csv(path, sep="\t") for path in snakemake.input.encode_captions]
                                  or [pd.DataFrame()], ignore_index=True)}
for subject, path in zip(snakemake.params.subjects, snakemake.input.encode_voxels[:1]):
    with np.load(path, allow_pickle=False) as data:
        if "affine" in data and len(data["voxel_ijk"]):
            encoding["brain_maps"] = [encoding_brain_map(dict(data), f"sub-{subject}: encoding accuracy per voxel")]
for subject, targets, drawn in zip(snakemake.params.synthesis_subjects, snakemake.input.synthesis_targets,
                                  snakemake.input.synthesis_images):
    with np.load(drawn, allow_pickle=False) as data:
        rows = {**{f"for {name}": images for name, images in zip(data["targets"].astype(str), data["guided"])},
                "unguided": data["unguided"]}
    encoding.setdefault("synthesis_tables", []).append(pd.read_csv(targets, sep="\t").assign(subject=subject))
    encoding.setdefault("synthesis_grids", []).append(reconstruction_grid(
        rows, [f"seed {k}" for k in range(len(rows["unguided"]))], f"sub-{subject}: images drawn for each target"))
costs = rule_costs(job_benchmarks(snakemake.params.job_benchmarks, snakemake.params.versions.values(),
                                  snakemake.params.unversioned_rules))
write_text_atomic(snakemake.output.costs, costs.to_csv(sep="\t", index=False, float_format="%.2f"))
config_hash = snakemake.params.config_hash
provenance = {"config_hash": config_hash, "source": snakemake.params.run_config["data"]["source"], "made": started}
write_text_atomic(snakemake.output.html, render_report(summary, retrieval, snakemake.params.folders,
                                                       snakemake.params.versions, histories, grids, notes,
                                                       data_efficiency=benchmark, sensor_figures=sensor_figures,
                                                       costs=costs, provenance=provenance, video_figures=video_figures,
                                                       generated_video_figures=generated_video_figures,
                                                       shape_figures=shape_figures, shape_notes=shape_notes,
                                                       region_figures=region_figures,
                                                       ablation=(pd.read_csv(snakemake.input.ablation, sep="\t")
                                                                 if "ablation" in snakemake.input.keys() else None),
                                                       encoding=encoding))
# written last: the summary and report are this config's only when this sidecar names its hash
write_manifest(Path(snakemake.output.provenance).parent, stage="report", config=snakemake.params.run_config,
               inputs=[path for path in snakemake.input], outputs=[snakemake.output.summary, snakemake.output.html],
               started=started, code_version=snakemake.params.code, filename=Path(snakemake.output.provenance).name,
               extra={"config_hash": config_hash, "versions": snakemake.params.versions,
                      "folders": snakemake.params.folders})
