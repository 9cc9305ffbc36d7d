"""Rule synth_shapes: the 3D world's objects, views, meshes and subjects in fMRI-Shape's layout."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.synth.shapes import write_shape_world

root = Path(snakemake.output.objects).parent
table = write_shape_world({**snakemake.params.cfg, "seed": snakemake.params.seed}, root, progress)
write_manifest(root, stage="data", config=snakemake.params.cfg,
               outputs=[*snakemake.output.lists, snakemake.output.objects, root / "views", root / "derivatives",
                        *[root / f"sub-{number:04d}" for number in range(1, snakemake.params.cfg["n_subjects"] + 1)]],
               started=started, code_version=snakemake.params.code,
               extra={"objects": int(len(table)), "test_objects": int((table["split"] == "test").sum())})
