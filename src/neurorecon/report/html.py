"""A self-contained HTML report of a run: what was made, by which versions, and how well it decodes."""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}code{background:#f6f6f6;padding:1px 4px}
.note{color:#555;font-size:0.9em}img{max-width:100%;height:auto}
"""


METRIC_PANELS_PER_ROW = 4   # wider figures are wrapped into rows, so they fit the page


SENSOR_TITLES = {"eeg": "EEG: encoder into the CLIP image space", "seeg": "sEEG: region encoder into the CLIP image space"}


def figure_to_img(fig, alt: str = "figure") -> str:
    """A matplotlib figure as an inline PNG <img> with ``alt`` text."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def metrics_figure(summary: pd.DataFrame) -> str:
    """Per-subject bars for each metric, with chance (dashed) and noise ceiling (dots)."""
    per_subject = summary[summary["subject"] != "all"]
    metrics = list(dict.fromkeys(per_subject["metric"]))
    columns = min(len(metrics), METRIC_PANELS_PER_ROW)
    grid_rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(grid_rows, columns, figsize=(4 * columns, 3.2 * grid_rows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, metric in zip(axes.flat, metrics):
        rows = per_subject[per_subject["metric"] == metric]
        labels = [f"{m}\nsub-{s}" for m, s in zip(rows["method"], rows["subject"])]
        x = range(len(rows))
        ax.bar(x, rows["value"], color="#4c72b0", label="decoded")
        if rows["ceiling"].notna().any():
            ax.scatter(x, rows["ceiling"], color="#dd8452", zorder=3, label="noise ceiling")
        ax.axhline(rows["chance"].mean(), color="k", ls="--", lw=1, label="chance")
        ax.set_xticks(list(x), labels, fontsize=7)
        ax.set_ylim(min(0.0, float(rows["value"].min()) - 0.05), 1.05)
        ax.set_title(metric)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return figure_to_img(fig)


def region_figure(table: pd.DataFrame, title: str) -> str:
    """One panel per metric: the change from the full decoder when refitted on each region alone and
    with it left out, with +-1.96 standard errors across test items (for an error metric, up is worse)."""
    regions = table[table["region"] != "all"]
    metrics = list(dict.fromkeys(regions["metric"]))
    names = list(dict.fromkeys(regions["region"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 2.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        rows = regions[regions["metric"] == metric].set_index(["region", "mode"])
        for offset, mode, colour in ((-0.2, "alone", "#4c72b0"), (0.2, "left_out", "#dd8452")):
            changes = [rows.loc[(name, mode), "change"] if (name, mode) in rows.index else np.nan for name in names]
            errors = [1.96 * rows.loc[(name, mode), "se"] if (name, mode) in rows.index else np.nan for name in names]
            ax.bar(np.arange(len(names)) + offset, changes, width=0.4, yerr=errors, color=colour, capsize=2,
                   label=mode.replace("_", " "))
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(names)), names, fontsize=8)
        ax.set_title(metric, fontsize=9)
    axes[0][0].set_ylabel(f"{title}\nchange from all regions", fontsize=8)
    axes[0][0].legend(fontsize=7)
    return figure_to_img(fig, f"region analysis, {title}")


def loss_figure(history: pd.DataFrame, title: str) -> str:
    """Training curves: every column of ``history`` but ``epoch`` against epoch; a history of several
    models trained in turn (a ``model`` column, e.g. the UNet, then its control branch) gets one
    curve per model and column."""
    fig, ax = plt.subplots(figsize=(4, 2.6))
    parts = history.groupby("model", sort=False) if "model" in history.columns else [(None, history)]
    for model, part in parts:
        for column in part.columns.drop(["epoch", "model"], errors="ignore"):
            label = column if model is None else f"{model} {column}"
            ax.plot(part["epoch"], part[column], marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.set_title(title)
    return figure_to_img(fig, f"training curves: {title}")


def condition_figure(conditions: dict[str, np.ndarray], title: str, unit: str) -> str:
    """Mean response per condition over time, one panel per region (channels of a region averaged)."""
    regions = sorted(set(conditions["regions"].tolist()))
    fig, axes = plt.subplots(1, len(regions), figsize=(3.2 * len(regions), 2.6), squeeze=False, sharey=True)
    times_ms = 1000 * np.asarray(conditions["times"])
    for ax, region in zip(axes[0], regions):
        in_region = conditions["regions"] == region
        for name, data in zip(conditions["conditions"], conditions["data"]):
            ax.plot(times_ms, data[in_region].mean(axis=0), lw=1.2, label=str(name))
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(f"{region} ({int(in_region.sum())} ch)", fontsize=9)
        ax.set_xlabel("ms from onset")
    axes[0][0].set_ylabel(unit)
    axes[0][-1].legend(fontsize=6, loc="upper right")
    fig.suptitle(title, fontsize=10)
    return figure_to_img(fig, f"responses per condition: {title}")


def reconstruction_grid(rows: dict[str, np.ndarray], stim_ids: list[str], title: str) -> str:
    """A grid figure: one row per image set (stimulus, low-level, final, ...), one column per stimulus."""
    n_cols = len(stim_ids)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(1.1 * n_cols, 1.2 * len(rows)), squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.imshow(images[c])
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
            if r == 0:
                ax.set_title(stim_ids[c], fontsize=6)
    height = 1.2 * len(rows)
    fig.subplots_adjust(top=1 - 0.45 / height)   # room for the titles, however many rows
    fig.suptitle(title, fontsize=9, y=1 - 0.08 / height, va="top")
    return figure_to_img(fig, title)


def motion_figure(true: np.ndarray, decoded: np.ndarray, stim_ids: list[str], title: str) -> str:
    """Per test segment, the true (black) and decoded (orange) motion vectors from the clip's flow."""
    n_cols = len(stim_ids)
    fig, axes = plt.subplots(1, n_cols, figsize=(1.1 * n_cols, 1.6), squeeze=False)
    reach = 1.2 * max(np.abs(true).max(), np.abs(decoded).max(), 1e-9)
    for ax, t, d, name in zip(axes[0], true, decoded, stim_ids):
        for vector, colour in ((t, "black"), (d, "#dd8452")):
            ax.annotate("", xy=(vector[0], -vector[1]), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": colour})
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-reach, reach)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, fontsize=6)
    fig.suptitle(title, fontsize=9, y=1.0)
    fig.tight_layout()
    return figure_to_img(fig, "true and decoded motion per segment")


def clip_strips(rows: dict[str, np.ndarray], stim_ids: list[str], title: str, fps: float, side: int = 64) -> str:
    """Animated clips side by side: one looping GIF strip per row (true, start, generated, ...), the
    row's clips (n, F, H, W, 3 uint8) resized to ``side`` and laid left to right, in a labelled table."""
    import imageio.v3 as iio
    from PIL import Image

    cells = []
    for label, clips in rows.items():
        frames = [np.concatenate([np.asarray(Image.fromarray(clip[k]).resize((side, side), Image.Resampling.NEAREST))
                                  for clip in clips], axis=1) for k in range(clips.shape[1])]
        gif = iio.imwrite("<bytes>", np.stack(frames), extension=".gif", duration=1000.0 / fps, loop=0)
        cells.append(f"<tr><th>{html.escape(label)}</th><td><img alt='{html.escape(label)} clips, animated' "
                     f"src='data:image/gif;base64,{base64.b64encode(gif).decode()}'></td></tr>")
    header = "".join(f"<span style='display:inline-block;width:{side}px;font-size:0.6em'>{html.escape(s)}</span>"
                     for s in stim_ids)
    return (f"<figure><figcaption>{html.escape(title)}</figcaption><table><tr><th></th><td>{header}</td></tr>"
            f"{''.join(cells)}</table></figure>")


def data_efficiency_figure(table: pd.DataFrame) -> str:
    """Each metric against the held-out subject's share of training data, one line per method,
    with chance (dashed) and each method's noise ceiling (dotted)."""
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        rows = table[table["metric"] == metric]
        for index, (method, line) in enumerate(rows.groupby("method", sort=False)):
            colour = f"C{index}"
            ax.plot(line["fraction"], line["value"], marker="o", color=colour, label=method)
            if line["ceiling"].notna().any():
                ax.plot(line["fraction"], line["ceiling"], ls=":", color=colour, lw=1)
        ax.axhline(rows["chance"].mean(), color="k", ls="--", lw=1, label="chance")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("share of the subject's training data")
        ax.set_title(metric)
    axes[0][0].legend(fontsize=7, loc="lower right")
    return figure_to_img(fig, "data efficiency: score against the share of training data")


ABLATION_METRICS = ("shape_acc", "shape_judge_acc", "colour_acc", "colour_judge_acc", "clip_2way")


def ablation_figure(mean: pd.DataFrame) -> str:
    """One panel per attribute metric: a bar per combination of decoded inputs (mean over subjects),
    its noise ceiling (dots) and chance (dashed)."""
    metrics = [m for m in ABLATION_METRICS if m in set(mean["metric"])]
    combinations = list(dict.fromkeys(mean["inputs"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.3 * len(metrics), 3.0), squeeze=False, sharey=True)
    for ax, metric in zip(axes[0], metrics):
        rows = mean[mean["metric"] == metric].set_index("inputs").loc[combinations]
        x = np.arange(len(combinations))
        ax.bar(x, rows["value"], color="#4c72b0", label="decoded")
        ax.scatter(x, rows["ceiling"], color="#dd8452", zorder=3, label="noise ceiling")
        ax.axhline(rows["chance"].mean(), color="k", ls="--", lw=1, label="chance")
        ax.set_xticks(x, [c.replace("+", "\n+") for c in combinations], fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_title(metric, fontsize=9)
    axes[0][0].legend(fontsize=7, loc="upper left")
    return figure_to_img(fig, "input ablation")


def ablation_table(mean: pd.DataFrame) -> pd.DataFrame:
    """Combination x metric: the mean value and, in brackets, its noise ceiling; a last row of chance."""
    def cell(row):
        return f"{row['value']:.3f}" + ("" if pd.isna(row["ceiling"]) else f" ({row['ceiling']:.3f})")

    shown = mean.assign(cell=mean.apply(cell, axis=1))
    wide = shown.pivot_table(index="inputs", columns="metric", values="cell", aggfunc="first", sort=False)
    chance = shown.groupby("metric", sort=False)["chance"].mean().map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    wide.loc["chance"] = chance
    wide.columns.name = None
    return wide.reset_index().rename(columns={"inputs": "decoded inputs"})


def encoding_figure(roi_tables: pd.DataFrame) -> str:
    """Per ROI, the mean test-image correlation of each encoder (bars, mean over subjects) and the
    mean noise ceiling (dots)."""
    rows = roi_tables[roi_tables["roi"] != "all"]
    rois = list(dict.fromkeys(rows["roi"]))
    models = list(dict.fromkeys(rows["model"]))
    means = rows.groupby(["model", "roi", "metric"], sort=False)["value"].mean()
    fig, ax = plt.subplots(figsize=(1.6 * len(rois) + 2.5, 3.0))
    width = 0.8 / len(models)
    x = np.arange(len(rois))
    for k, model in enumerate(models):
        ax.bar(x + (k - (len(models) - 1) / 2) * width, [means.get((model, roi, "test_r"), np.nan) for roi in rois],
               width, label=f"{model} encoder", color=("#4c72b0", "#55a868", "#c44e52")[k % 3])
    ceilings = [next((v for (m, r, metric), v in means.items() if r == roi and metric.startswith("ceiling_r_")), np.nan)
                for roi in rois]
    ax.scatter(x, ceilings, color="#dd8452", zorder=3, label="noise ceiling")
    ax.set_xticks(x, rois)
    ax.set_ylabel("test-image correlation")
    ax.set_ylim(0, 1.0)
    ax.legend(fontsize=7, loc="upper left")
    return figure_to_img(fig, "encoding models per ROI")


def encoding_brain_map(voxels: dict[str, np.ndarray], title: str) -> str:
    """The transformer and linear encoders' test-image correlation per voxel on the subject's own grid
    (axial slices, nilearn's stat map over the encoded voxels), where the data have an affine."""
    import nibabel as nib
    from nilearn import plotting

    ijk = voxels["voxel_ijk"]
    shape = tuple(int(v) for v in ijk.max(axis=0) + 1)
    fig, axes = plt.subplots(2, 1, figsize=(9, 4.2))
    for ax, model in zip(axes, ("transformer", "linear")):
        volume = np.zeros(shape, np.float32)
        volume[tuple(ijk.T)] = voxels[f"r_{model}"]
        inside = np.zeros(shape, np.float32)
        inside[tuple(ijk.T)] = 1.0
        plotting.plot_stat_map(nib.Nifti1Image(volume, voxels["affine"]), bg_img=nib.Nifti1Image(inside, voxels["affine"]),
                               display_mode="z", cut_coords=6, vmax=1.0, threshold=0.05, colorbar=True, axes=ax,
                               title=f"{model} encoder: test r", draw_cross=False, annotate=False, black_bg=False)
    fig.suptitle(title, fontsize=9)
    return figure_to_img(fig, title)


def caption_examples(captions: pd.DataFrame, per_roi: int = 4) -> pd.DataFrame:
    """The captions most voxels of each ROI received (over subjects), with their share and similarity."""
    counts = (captions.groupby(["roi", "caption"]).agg(voxels=("voxel", "size"), similarity=("similarity", "mean"))
              .reset_index())
    counts["share"] = counts["voxels"] / counts.groupby("roi")["voxels"].transform("sum")
    top = counts.sort_values(["roi", "voxels"], ascending=[True, False]).groupby("roi").head(per_roi)
    return top[["roi", "caption", "share", "similarity"]]


def table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="", border=0, escape=True)


def mean_table(summary: pd.DataFrame, output: str) -> pd.DataFrame:
    """Method x metric means over subjects (with chance, ceiling and n) for one output kind."""
    rows = summary[(summary["subject"] == "all") & (summary["output"] == output)]
    return rows[["modality", "method", "metric", "value", "chance", "ceiling", "n"]]


def generated_video_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Generated-clip metrics (subject = all) as metric rows: the final clips' value, chance and
    ceiling, then the value of every other set of clips (start, generator frames, true clips)."""
    rows = summary[summary["subject"] == "all"]
    final = rows[rows["method"] == "generated"].set_index("metric")[["value", "chance", "ceiling", "n"]]
    others = rows[rows["method"] != "generated"].pivot_table(index="metric", columns="method", values="value")
    return final.join(others, how="outer").reset_index()


def cost_figure(costs: pd.DataFrame) -> str:
    """Wall time per rule (all its jobs together) and its jobs' peak memory, costliest at the top."""
    rows = costs.iloc[::-1]
    fig, (time_ax, memory_ax) = plt.subplots(1, 2, figsize=(9, 0.22 * len(rows) + 1.2), sharey=True)
    time_ax.barh(rows["rule"], rows["seconds_total"], color="#4c72b0")
    time_ax.set_xlabel("wall time, all jobs (s)")
    memory_ax.barh(rows["rule"], rows["max_rss_mb"], color="#dd8452")
    memory_ax.set_xlabel("peak memory of one job (MB)")
    time_ax.tick_params(axis="y", labelsize=7)
    return figure_to_img(fig, "wall time and peak memory per rule")


def provenance_html(provenance: dict) -> str:
    """The line at the top of the report: which config made it, from which data, when."""
    return (f"<p class='provenance'>Config <b>{html.escape(provenance['config_hash'])}</b> "
            f"(data source: {html.escape(provenance['source'])}), made {html.escape(provenance['made'])}; "
            "the config in full and the checksum of every input are in results/summary.provenance.json, "
            "the artifact folders under <a href='#artifacts'>Artifacts</a>.</p>")


def render_report(summary: pd.DataFrame, caption_retrieval: dict | None, folders: dict[str, str],
                  versions: dict[str, str], histories: dict[str, pd.DataFrame],
                  grids: list[str] = (), notes: list[str] = (), data_efficiency: pd.DataFrame | None = None,
                  sensor_figures: dict[str, list[str]] | None = None, costs: pd.DataFrame | None = None,
                  provenance: dict | None = None, video_figures: list[str] = (),
                  generated_video_figures: list[str] = (), shape_figures: list[str] = (),
                  shape_notes: list[str] = (), region_figures: list[str] = (),
                  ablation: pd.DataFrame | None = None, encoding: dict[str, pd.DataFrame] | None = None) -> str:
    """The report as one HTML string (figures inline, no external files). ``caption_retrieval``: the
    stimulus CLIP's caption retrieval (None where the stimuli are movies only); ``histories``: training
    curves by title; ``grids``: reconstruction grid figures; ``notes``: what was skipped and why;
    ``data_efficiency``: the benchmark table, if it was run; ``sensor_figures``: EEG / sEEG figures by
    modality; ``costs``: wall time and peak memory per rule (``neurorecon.report.costs.rule_costs``);
    ``provenance``: the config hash, data source and time the report states at its top;
    ``video_figures``: true and decoded frames and motion of the video subjects;
    ``generated_video_figures``: their true, start and generated clips, animated;
    ``shape_figures``: true against reconstructed objects of the 3D subjects, ``shape_notes`` what their
    evaluation skipped and why; ``region_figures``:
    the region analysis of each branch and subject; ``ablation``: the input ablation's mean table;
    ``encoding``: the encoders' ROI tables (``roi_tables``) and voxel captions (``captions``)."""
    embedding = summary[summary["output"] == "embedding"]
    images = summary[summary["output"] == "image"]
    stages = pd.DataFrame({"stage": list(folders), "version": [versions[s] for s in folders],
                           "folder": list(folders.values())})
    if caption_retrieval is None:
        clip_section = ""
    elif "image_to_text_top1" in caption_retrieval:
        clip_section = table_html(pd.DataFrame([{
            "model": caption_retrieval["model"], "image to caption top-1": caption_retrieval["image_to_text_top1"],
            "caption to image top-1": caption_retrieval["text_to_image_top1"], "chance": caption_retrieval["chance"],
            "n": caption_retrieval["n"],
        }]))
    else:
        clip_section = f"<p>{html.escape(caption_retrieval.get('note', 'no caption retrieval'))}</p>"
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>neurorecon report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>neurorecon report</h1>",
        provenance_html(provenance) if provenance else "",
    ]
    if len(embedding):
        wide = embedding.pivot_table(index=["modality", "method", "subject"], columns="metric",
                                     values="value").reset_index()
        parts += [
            "<h2>Decoding: brain responses to CLIP image embeddings</h2>",
            "<p class='note'>Mean over subjects, with chance and the noise ceiling (the same decoder applied to "
            "noise-free responses; empty for real data). Retrieval is top-1 among all test stimuli; "
            "2-way identification as in MindEye2. The generator's further decoded inputs (method <b>retrieval</b> "
            "or <b>ridge</b>): <b>text_*</b> score the decoded caption embeddings among the test captions', "
            "<b>structure_corr</b> is the mean correlation of decoded and true structure maps, "
            "<b>caption_words</b> the share of each true caption's words the decoded caption has.</p>",
            table_html(mean_table(summary, "embedding")),
            metrics_figure(embedding[embedding["modality"] == "fmri"]) if (embedding["modality"] == "fmri").any() else "",
            "<h3>Per subject</h3>", table_html(wide),
        ]
    if (summary["output"] == "category").any():
        parts += [
            "<h2>Category decoding</h2>",
            "<p class='note'>Cross-validated on the same stratified folds for every method: area under the ROC "
            "curve and accuracy (chance: the largest category's share). <b>logistic</b>: logistic regression on every "
            "sample, the plain baseline; <b>shrinkage-lda</b>: shrinkage LDA on time bins; <b>xdawn-riemann</b>: xDAWN "
            "covariances in the Riemannian tangent space.</p>",
            table_html(mean_table(summary, "category")),
        ]
    for modality, figures in (sensor_figures or {}).items():
        rows = embedding[embedding["modality"] == modality]
        parts += [
            f"<h2>{SENSOR_TITLES[modality]}</h2>",
            "<p class='note'>Zero-shot: no test image's concept was shown in training (as in THINGS-EEG). "
            "<b>encoder</b>: the trained network; <b>ridge</b>: a linear baseline on the same features. Top-1 and "
            "top-5 among all test images; category accuracy where the encoder classifies.</p>",
            metrics_figure(rows) if len(rows) else "", *figures,
        ]
    if (summary["output"] == "video").any():
        parts += [
            "<h2>Video: decoding per 2-s segment</h2>",
            "<p class='note'>Ridge decoders from a segment's responses to its keyframe's CLIP embedding (2-way "
            "identification), a blurry 8x8 video (pixel correlation with the true frames at that size) and its "
            "optical flow (OpenCV Farneback, 4x4 cells): end-point error in image sides per second (lower is better) "
            "and the accuracy of the motion direction read from the decoded flow (eight directions). Chance: the test "
            "segments shuffled; ceiling: the decoders on the noise-free samples. Below: true frames and decoded blurry "
            "frames, and true (black) against decoded (orange) motion.</p>",
            table_html(mean_table(summary[summary["method"] == "ridge"], "video")), *video_figures,
        ]
        generated = summary[(summary["output"] == "video") & (summary["method"] != "ridge")]
        if len(generated):
            parts += [
                "<h2>Video: generated clips</h2>",
                "<p class='note'><b>generated</b>: the final clips. The video generator draws a clip conditioned on "
                "the decoded keyframe embedding and motion, started from <b>start</b> (the decoded blurry video, or its "
                "keyframe moved by the decoded flow); with <code>motion: flow_warp</code> the drawn keyframe is then "
                "moved along the decoded flow (the CVPR 2025 design), and <b>generator_frames</b> scores the drawn "
                "frames themselves. Pixel metrics at the true frames' size, per frame and averaged: "
                "<b>ssim_grey_gaussian</b> is MindEye's SSIM as NeuroClips' evaluation computes it (grey, Gaussian "
                "window), <b>ssim_rgb_255</b> MinD-Video's (RGB uint8, 7x7 window); <b>psnr</b> on uint8. N-way top-1 "
                "follows MinD-Video's n_way_top_k_acc (100 trials; the true item's top 3 classes, so chance is "
                "3/(N+2)) with the project's CLIP as a zero-shot classifier over the synthetic objects, per frame and "
                "per clip (mean frame embedding). <b>clip_pcc</b>: mean CLIP similarity between a clip's frames "
                "(NeuroClips; <b>true_clips</b>: the true clips' own). <b>generated_*</b>: the clips' own optical flow "
                "against the true flow and motion direction. Chance: mismatched segments; ceiling: the same decoders "
                "and generator on noise-free samples.</p>",
                table_html(generated_video_table(generated)), *generated_video_figures,
            ]
    if (summary["output"] == "mesh").any():
        parts += [
            "<h2>3D: objects decoded into meshes</h2>",
            "<p class='note'><b>ridge</b>: decoders from an object's responses (frames 2-7 averaged) to the CLIP "
            "embedding of its six views (2-way identification), its shape code (correlation with the truth), its "
            "colour (mean absolute RGB error, lower is better) and a blurry front view. <b>generated</b>: the meshes, "
            "scored as MinD-3D does: <b>chamfer_distance</b> (squared, both directions summed) and <b>emd</b> on "
            "surface points after centring, principal-axis alignment and scaling into a radius-0.5 sphere (lower is "
            "better), <b>fscore</b> at the configured threshold, <b>voxel_iou</b>, <b>semantic_*_Nway_top1</b> on six "
            "rendered views (the true view's top-1 class; chance 1/N) and <b>category_accuracy</b> by a judge "
            "trained on the training objects' true voxels. Chance: each reconstruction against another test object; "
            "ceiling: the same decoders and generator on noise-free responses. Below: the six views of true and "
            "reconstructed objects (animated), where ground truth is known.</p>",
            table_html(mean_table(summary, "mesh")), *shape_figures,
        ]
        if shape_notes:
            parts.append("<ul class='note'>" + "".join(f"<li>{html.escape(n)}</li>" for n in shape_notes) + "</ul>")
    if region_figures:
        parts += [
            "<h2>Which regions carry each target</h2>",
            "<p class='note'>Every decoder refitted on one region's voxels <b>alone</b> and on all voxels with the "
            "region <b>left out</b> (same ridge and penalty grid), scored per test item: the bars are the mean change "
            "from the decoder on all regions, with 95% intervals (1.96 standard errors across test items). A region a "
            "target needs loses most when left out; one that carries it alone keeps most. Tables: "
            "results/evaluate/regions-*/&lt;subject&gt;/regions.tsv.</p>",
            *region_figures,
        ]
    if data_efficiency is not None:
        wide_benchmark = data_efficiency.pivot_table(index=["metric", "method"], columns="fraction",
                                                     values="value", sort=False).reset_index()
        parts += [
            "<h3>Data efficiency: a new subject with little data</h3>",
            "<p class='note'>The held-out (adapted) subjects' test scores against the share of their training "
            "trials each method was fitted on: per-subject <b>ridge</b>; <b>scratch</b>, the cross-subject "
            "architecture trained on this subject alone; <b>shared-adapted</b>, the model trained on the other "
            "subjects with this subject's adapter aligned and fine-tuned. Dotted: each method's noise ceiling; "
            "dashed: chance. Table: results/benchmarks/data_efficiency.tsv.</p>",
            data_efficiency_figure(data_efficiency), table_html(wide_benchmark.rename(columns=str)),
        ]
    if len(images):
        parts += [
            "<h2>Image reconstruction</h2>",
            "<p class='note'><b>-lowlevel</b>: ridge to VAE latents (or pixels), decoded; <b>-diffusion</b>: the "
            "generator started from the low-level image and conditioned on the decoded CLIP embedding and the "
            "further decoded inputs of <code>reconstruct.sampling.inputs</code> (fMRI). <b>*_judge_acc</b>: the "
            "independent scene judge's shape and colour verdicts (synthetic world). PixCorr and "
            "SSIM (grayscale) at a fixed size; 2-way identification on network features as in brain-diffuser and "
            "MindEye (chance 0.5); *_dist are correlation distances (lower is better). Chance for PixCorr, SSIM and "
            "distances is the score of mismatched pairs; the ceiling is the same pipeline run on noise-free "
            "responses.</p>",
            table_html(mean_table(summary, "image")),
            metrics_figure(images),
            *grids,
        ]
        if notes:
            parts.append("<ul class='note'>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    if ablation is not None and len(ablation):
        parts += [
            "<h2>Image reconstruction: what each decoded input is worth</h2>",
            "<p class='note'>The same test images drawn with each combination of decoded inputs (same start "
            "images, sampling settings and seeds): <b>image</b>, the decoded CLIP image embedding; <b>text</b>, the "
            "decoded caption's CLIP text embedding, guided on top of the image (nested guidance); <b>structure</b>, "
            "the decoded structure map through the generator's control branch. Mean over subjects, noise ceiling in "
            "brackets (the same decoders and generator on noise-free responses). <b>shape_acc</b> and "
            "<b>colour_acc</b> read the attribute of the nearest training image in CLIP space; "
            "<b>*_judge_acc</b> are an independent judge's verdicts, a CNN trained on fresh scenes' pixels (never on "
            "CLIP). Tables: results/evaluate/ablation-*/ablation.tsv (per subject) and ablation_mean.tsv.</p>",
            table_html(ablation_table(ablation)), ablation_figure(ablation),
        ]
    if encoding is not None and len(encoding["roi_tables"]):
        parts += [
            "<h2>Encoding models: from the image to the brain</h2>",
            "<p class='note'>Both encoders are fitted on the training trials and predict each voxel's response to the "
            "test images. <b>linear-encoder</b>: ridge from the CLIP image embedding, a penalty per voxel; "
            "<b>transformer-encoder</b>: one learned query per group of neighbouring voxels attends to the image "
            "tower's spatial tokens, and each voxel reads its group's output. <b>encoding_r</b>: the mean test-image "
            "correlation per ROI, against the noise ceiling (the noise-free responses' correlation with the measured "
            "ones on synthetic data, else NSD's ncsnr ceiling); <b>explained</b>: the fraction of explainable variance "
            "explained, sum r&sup2; / sum ceiling&sup2;. The brain score of every image method is in the image table "
            "above (<b>brain_score_*</b>). Tables: results/encode/encoders-*/&lt;subject&gt;/roi_metrics.tsv; per-voxel "
            "correlations in voxels.npz.</p>",
            table_html(mean_table(summary, "responses")), encoding_figure(encoding["roi_tables"]),
            *encoding.get("brain_maps", []),
        ]
        if len(encoding["captions"]):
            parts += [
                "<h3>Voxel captions</h3>",
                "<p class='note'>BrainSCUBA: each voxel's linear-encoder weights, a direction in CLIP space, projected "
                "onto the training images' embeddings (softmax at the configured temperature) and named by the corpus "
                "caption nearest it. <b>caption_hit_*</b> (synthetic world): how often the caption names the attribute "
                "value each voxel is known to prefer, for voxels whose preference explains enough of their variance; "
                "chance is how often corpus captions name it. Per voxel: results/encode/encoders-*/&lt;subject&gt;/"
                "captions.tsv.</p>",
                table_html(mean_table(summary, "captions")), table_html(caption_examples(encoding["captions"])),
            ]
        if encoding.get("synthesis_tables"):
            parts += [
                "<h3>ROI-driven synthesis</h3>",
                "<p class='note'>BrainDiVE: the generator samples while the linear encoder's gradient pushes each "
                "step toward a higher predicted response of the target's voxels, conditioned (unless "
                "<code>condition_guidance</code> is 0) on the target's preferred CLIP embedding; <b>unguided</b>: "
                "unconditional samples from the same noise. <b>activation_*</b>: the images' mean predicted response "
                "(in voxel standard deviations), against the unguided images (chance) and the training images that "
                "drive the target most (ceiling). On the synthetic world each colour and shape has a population of "
                "voxels that prefer it; <b>feature_hit_*</b> is how often the scene judge reads that value in the "
                "population's images (chance: in the unguided ones). Per target: results/encode/synthesis-*/"
                "&lt;subject&gt;/targets.tsv.</p>",
                table_html(mean_table(summary, "synthesis")),
                table_html(pd.concat(encoding["synthesis_tables"], ignore_index=True)),
                *encoding["synthesis_grids"],
            ]
    if caption_retrieval is not None:
        parts += [
            "<h2>Stimulus embeddings</h2>",
            "<p class='note'>Caption retrieval on held-out (test) stimuli whose captions the CLIP model never "
            "saw in training; a hit is any stimulus with the same caption.</p>",
            clip_section,
        ]
    if histories:
        parts.append("<h2>Tiny models: training curves</h2>")
        parts += [loss_figure(history, title) for title, history in histories.items()]
    if costs is not None and len(costs):
        parts += [
            "<h2>Cost per rule</h2>",
            "<p class='note'>From Snakemake's benchmark file of every job (results/benchmarks/jobs/); jobs that "
            "did not rerun keep the numbers of the run that made their artifact. Peak memory (resident set) and "
            "CPU time are Snakemake's samples, taken every 0.5 s for a job's first 15 s and every 30 s after, so "
            "for longer jobs they are lower bounds; each job's log ends with its exact wall time and peak memory. "
            "Table: results/benchmarks/rules.tsv.</p>",
            cost_figure(costs), table_html(costs.round(1)),
        ]
    parts += ["<h2 id='artifacts'>Artifacts</h2>", "<p class='note'>Each folder under results/ holds a manifest.json saying how it was made; "
              "the shipped models' (models/) is models/manifest.json.</p>",
              table_html(stages), "</body></html>"]
    return "\n".join(parts)
