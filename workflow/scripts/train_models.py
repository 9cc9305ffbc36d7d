"""Rule train_models: copy the freshly trained tiny models into models/ with their manifest."""

from pathlib import Path

from _common import begin

begin(snakemake)

from neurorecon.shipped import ship

trained = {kind: Path(getattr(snakemake.input, kind)).parent for kind in ("clip", "vae", "diffusion")}
ship(Path(snakemake.output.manifest).parent, trained, snakemake.params.configs)
