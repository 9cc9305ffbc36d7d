"""Rule ingest_miyawaki: the Miyawaki responses -> the responses contract."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import derivatives_description, write_json_atomic, write_manifest
from neurorecon.io.miyawaki import load_miyawaki, miyawaki_responses

cfg = snakemake.params.cfg
responses = miyawaki_responses(load_miyawaki(cfg["file"], cfg["image_size"], cfg["fields"], cfg["pixel_order"], cfg["value_range"]))
responses.save(Path(snakemake.output.responses), Path(snakemake.output.trials))
out_dir = Path(snakemake.output.manifest).parent
write_json_atomic(out_dir.parent / "dataset_description.json",
                  derivatives_description("neurorecon fMRI responses", "Miyawaki et al. 2008 responses as given"))
write_manifest(out_dir, stage="preprocess", config=cfg, inputs=[cfg["file"]],
               outputs=[snakemake.output.responses, snakemake.output.trials], started=started,
               code_version=snakemake.params.code, extra={"subject": snakemake.wildcards.subject})
