"""Rule miyawaki_stimuli: export the Miyawaki patterns as stimulus PNGs with a stimulus table."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
import logging

from neurorecon.io.miyawaki import export_stimuli, load_miyawaki, repeated_test_patterns

cfg = snakemake.params.cfg
data = load_miyawaki(cfg["file"], cfg["image_size"], cfg["fields"], cfg["pixel_order"], cfg["value_range"])
tsv = export_stimuli(data, Path(snakemake.output.stimuli).parent.parent)
seen = repeated_test_patterns(data)
if seen:
    logging.getLogger("neurorecon").warning(
        "%d of %d test patterns also appear among the training patterns: test scores measure recognition "
        "of seen patterns, not generalisation", seen, len(data.test_patterns))
write_manifest(Path(snakemake.output.manifest).parent, stage="data", config=cfg, inputs=[cfg["file"]],
               outputs=[tsv], started=started, code_version=snakemake.params.code,
               extra={"n_train": len(data.train_patterns), "n_test": len(data.test_patterns),
                      "test_patterns_seen_in_training": seen})
