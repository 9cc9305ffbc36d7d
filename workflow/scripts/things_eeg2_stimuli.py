"""Rule things_eeg2_stimuli: export the THINGS-EEG2 images and their stimulus table."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.io.things_eeg2 import export_stimuli, stimulus_table

cfg = snakemake.params.cfg
root = Path(cfg["root"])
tsv = export_stimuli(root, stimulus_table(root), Path(snakemake.output.stimuli).parents[1], cfg["image_size"])
write_manifest(Path(snakemake.output.manifest).parent, stage="data", config=cfg,
               inputs=[root / "image_set" / "image_metadata.npy"], outputs=[tsv], started=started,
               code_version=snakemake.params.code)
