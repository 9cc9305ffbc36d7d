"""Rule synth_world: draw the stimulus set and write the BIDS skeleton."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.synth.fmri import write_dataset_description
from neurorecon.synth.world import build_world, write_stimuli

cfg = snakemake.params.cfg
root = Path(snakemake.output.description).parent
world, scenes = build_world(cfg)
write_stimuli(world, scenes, root)
write_dataset_description(root, cfg)
world.save(Path(snakemake.output.world))
write_manifest(root, stage="data", config=cfg, outputs=[snakemake.output.world, snakemake.output.stimuli],
               started=started, code_version=snakemake.params.code)
