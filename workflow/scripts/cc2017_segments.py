"""Rule cc2017_segments: the clip table (stim_id, split) of a CC2017 folder's segments."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.io.cc2017 import segment_table

table = segment_table(Path(snakemake.params.root))
write_text_atomic(snakemake.output.clips, table.to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="data", config={"root": snakemake.params.root},
               inputs=list(snakemake.input), outputs=[snakemake.output.clips], started=started,
               code_version=snakemake.params.code,
               extra={split: int((table["split"] == split).sum()) for split in ("train", "test")})
