"""Rules regions_image, regions_video and regions_shape: one subject's decoders refitted on each
region alone and with it left out (evaluate/regions.py), for the image embedding, the video
targets or the 3D targets."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import numpy as np

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.evaluate.regions import per_item_scorers, region_rows

branch = snakemake.params.branch
cfg = snakemake.params.decoder
if branch == "image":
    from neurorecon.decode.ridge import embedding_rows
    from neurorecon.responses import Responses
    from neurorecon.stimuli.embeddings import load_embeddings

    subject = f"sub-{snakemake.wildcards.subject}"
    responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
    embeddings = load_embeddings(Path(snakemake.input.embeddings))
    wanted = cfg["rois"] or list(responses.roi_names.values())
    roi_names = {label: name for label, name in responses.roi_names.items() if name in wanted}
    columns = np.isin(responses.roi, list(roi_names))
    splits = {split: responses.select(split) for split in ("train", "test")}
    x = {split: values[:, columns] for split, (values, _) in splits.items()}
    targets = {split: {"embedding": embedding_rows(embeddings, rows["stim_id"], cfg["target"])}
               for split, (_, rows) in splits.items()}
    roi = responses.roi[columns]
elif branch == "video":
    from neurorecon.decode.video import load_video_targets
    from neurorecon.io.cc2017 import load_subject
    from neurorecon.io.inputs import read_tsv

    subject = snakemake.wildcards.video_subject
    number = int(subject[len("video"):])
    root = Path(snakemake.params.data_dir)
    responses = load_subject(root, number, read_tsv(snakemake.input.clips, required=("stim_id", "split")))
    # the synthetic world's voxel labels, written by synth_video beside its fMRI files
    with np.load(root / "derivatives" / "groundtruth" / f"subj{number:02d}_groundtruth.npz", allow_pickle=False) as truth:
        roi = truth["roi"]
    roi_names = {int(k): v for k, v in snakemake.params.roi_labels.items()}
    x, targets = {}, {}
    for split in ("train", "test"):
        x[split], rows = responses.select(split)
        targets[split] = load_video_targets(Path(snakemake.input.targets), rows["stim_id"])
else:
    from neurorecon.decode.shape import TARGETS, load_shape_targets
    from neurorecon.io.fmri_shape import load_subject, read_object_lists

    subject = snakemake.wildcards.shape_subject
    root = Path(snakemake.params.data_dir)
    rois = np.load(snakemake.input.rois, allow_pickle=False)
    named = {int(k): v for k, v in snakemake.params.roi_labels.items()}
    roi_names = {int(label): named.get(int(label), f"region-{int(label)}") for label in np.unique(rois) if label > 0}
    responses = load_subject(root, int(subject[len("shape"):]), read_object_lists(root), snakemake.params.frames,
                             rois, roi_names)
    x, targets = {}, {}
    for split in ("train", "test"):
        x[split], rows = responses.select(split)
        targets[split] = load_shape_targets(Path(snakemake.input.targets), rows["stim_id"], TARGETS)
    roi = responses.roi
table = region_rows(x["train"], targets["train"], x["test"], targets["test"], roi, roi_names,
                    per_item_scorers(sorted(targets["train"])), cfg["alphas"], cfg["cv"])
table = table.assign(branch=branch, subject=subject)
write_text_atomic(snakemake.output.table, table.to_csv(sep="\t", index=False, float_format="%.6g"))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=snakemake.params.cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.table], started=started,
               code_version=snakemake.params.code,
               extra={"branch": branch, "subject": subject, "regions": sorted(roi_names.values())})
