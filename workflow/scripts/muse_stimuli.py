"""Rule muse_stimuli: export a Muse category task's images and their stimulus table."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.io.muse import export_category_stimuli

cfg = snakemake.params.cfg
tsv = export_category_stimuli(Path(cfg["stimuli"]), cfg["categories"], Path(snakemake.output.stimuli).parents[1],
                              cfg["image_size"], cfg["test_every"])
write_manifest(Path(snakemake.output.manifest).parent, stage="data", config=cfg, outputs=[tsv], started=started,
               code_version=snakemake.params.code)
