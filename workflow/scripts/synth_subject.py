"""Rule synth_subject: simulate one subject's fMRI runs and ground truth."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.synth.fmri import simulate_subject, subject_labels
from neurorecon.synth.world import World

cfg = snakemake.params.cfg
root = Path(snakemake.params.bids_root)
index = subject_labels(cfg["n_subjects"]).index(snakemake.wildcards.subject)
world = World.load(Path(snakemake.input.world))  # latents only: subjects never need the pixels
paths = simulate_subject(world, cfg, index, root)
write_manifest(Path(snakemake.output.manifest).parent, stage="data", config=cfg,
               inputs=[snakemake.input.world], outputs=[snakemake.output.truth, paths["mask"], paths["atlas"]],
               started=started, code_version=snakemake.params.code, extra={"subject": snakemake.wildcards.subject})
