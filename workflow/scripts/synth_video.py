"""Rule synth_video: the video world's clips and subjects in NeuroClips' CC2017 layout."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.synth.video import write_video_world

root = Path(snakemake.output.clips).parent
table = write_video_world({**snakemake.params.cfg, "seed": snakemake.params.seed}, root)
write_manifest(root, stage="data", config=snakemake.params.cfg, outputs=[*snakemake.output.frames,
               *snakemake.output.fmri, snakemake.output.clips, root / "derivatives"], started=started,
               code_version=snakemake.params.code,
               extra={"segments": int(len(table)), "test_segments": int((table["split"] == "test").sum())})
