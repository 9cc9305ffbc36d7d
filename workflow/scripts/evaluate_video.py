"""Rule evaluate_video: one video subject's keyframe, blurry-video and motion metrics."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import pandas as pd

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.decode.video import load_video_predictions, load_video_targets
from neurorecon.evaluate.video import video_metrics
from neurorecon.io.inputs import read_tsv

subject = snakemake.wildcards.video_subject
test_ids, predicted, ceiling = load_video_predictions(Path(snakemake.input.predictions))
true = load_video_targets(Path(snakemake.input.targets), test_ids)
clips = read_tsv(snakemake.input.clips, required=("stim_id", "direction")).set_index("stim_id")
directions = clips.loc[test_ids, "direction"].to_numpy(int)
rows = video_metrics(predicted, true, directions, ceiling)
table = pd.DataFrame(rows).assign(modality="fmri", subject=subject, method="ridge", output="video")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=snakemake.params.cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"subject": subject})
