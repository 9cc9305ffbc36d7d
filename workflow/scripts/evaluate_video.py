"""Rule evaluate_video: one video subject's metrics of the decoded targets (keyframe, blurry video,
motion) and, where a generator ran, of the generated clips (pixels, N-way identification,
CLIP-pcc, motion), with the start clips and the generator's own frames scored beside the final clips."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import pandas as pd
import torch
from PIL import Image

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.decode.video import load_test_frames, load_video_predictions, load_video_targets
from neurorecon.evaluate.video import generated_video_metrics, video_metrics
from neurorecon.io.inputs import read_tsv
from neurorecon.reconstruct.io import load_reconstructions
from neurorecon.reconstruct.models import best_device, clip_location
from neurorecon.stimuli.clip import embed_images, embed_texts, load_clip

cfg = snakemake.params.cfg
torch.set_num_threads(snakemake.threads)
subject = snakemake.wildcards.video_subject
test_ids, predicted, ceiling = load_video_predictions(Path(snakemake.input.predictions))
true = load_video_targets(Path(snakemake.input.targets), test_ids)
clips = read_tsv(snakemake.input.clips, required=("stim_id",)).set_index("stim_id")
directions = clips.loc[test_ids, "direction"].to_numpy(int) if "direction" in clips.columns else None
table = pd.DataFrame(video_metrics(predicted, true, directions, ceiling)).assign(method="ridge")
notes = []
if snakemake.input.get("videos"):
    clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=best_device())

    def embed_frames(clips_array):
        n, frames = clips_array.shape[:2]
        flat = clips_array.reshape(n * frames, *clips_array.shape[2:])
        return embed_images(clip, [Image.fromarray(frame) for frame in flat]).reshape(n, frames, -1)

    videos = load_reconstructions(Path(snakemake.input.videos))
    if [str(s) for s in videos["stim_ids"]] != list(test_ids):
        raise ValueError(f"{snakemake.input.videos} and {snakemake.input.predictions} list different test segments")
    true_frames = load_test_frames(Path(snakemake.input.test_frames), test_ids)
    rows, notes = generated_video_metrics(
        {"generated": (videos["images"], videos.get("ceiling")),
         "start": (videos["videos_start"], videos.get("ceiling_start")),
         "generator_frames": (videos["videos_drawn"], videos.get("ceiling_drawn"))},
        true_frames, true["flow"], directions, embed_frames, lambda texts: embed_texts(clip, texts),
        float(clip.model.logit_scale.exp()), cfg)
    table = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
table = table.assign(modality="fmri", subject=subject, output="video")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"subject": subject, "notes": notes})
