"""Rules train_models, train_video_model and train_shape_model: copy freshly trained tiny models into
models/ and record them in its manifest (the last two: one model only, beside the shipped others)."""

from pathlib import Path

from _common import begin

begin(snakemake)

from neurorecon.artifacts import write_text_atomic
from neurorecon.shipped import ship

trained = {kind: Path(path).parent for kind, path in snakemake.input.items()}
manifest = ship(Path(snakemake.params.models_dir), trained, snakemake.params.configs)
if "stamp" in snakemake.output.keys():
    write_text_atomic(snakemake.output.stamp, f"shipped {', '.join(trained)} into {manifest}\n")
