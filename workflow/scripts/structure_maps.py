"""Rule structure_maps: the structure map (silhouette or edges) of every stimulus."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.stimuli.images import load_stimulus_images, read_stimulus_table
from neurorecon.stimuli.structure import resolved_kind, save_structure, scenes_from_table, structure_maps

cfg = snakemake.params.cfg
table = read_stimulus_table(snakemake.input.stimuli)
stim_ids = table["stim_id"].tolist()
kind = resolved_kind(cfg["kind"], table)
if kind == "silhouette":
    maps = structure_maps("silhouette", cfg["size"], scenes=scenes_from_table(table, snakemake.input.stimuli))
else:
    maps = structure_maps("edges", cfg["size"], images=load_stimulus_images(snakemake.input.stimuli, stim_ids))
save_structure(Path(snakemake.output.maps), stim_ids, maps, kind)
write_manifest(Path(snakemake.output.manifest).parent, stage="stimuli", config=cfg, inputs=[snakemake.input.stimuli],
               outputs=[snakemake.output.maps], started=started, code_version=snakemake.params.code,
               extra={"n_stimuli": len(stim_ids), "kind": kind, "mean_value": float(maps.mean())})
