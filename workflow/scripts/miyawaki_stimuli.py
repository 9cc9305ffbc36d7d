"""Rule miyawaki_stimuli: export the Miyawaki patterns as stimulus PNGs with a stimulus table."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.io.miyawaki import export_stimuli, load_miyawaki

cfg = snakemake.params.cfg
data = load_miyawaki(cfg["file"], cfg["image_size"])
tsv = export_stimuli(data, Path(snakemake.output.stimuli).parent.parent)
write_manifest(Path(snakemake.output.manifest).parent, stage="data", config=cfg, inputs=[cfg["file"]],
               outputs=[tsv], started=started, code_version=snakemake.params.code,
               extra={"n_train": len(data.train_patterns), "n_test": len(data.test_patterns)})
