"""Rule reconstruct_lowlevel: one subject's low-level reconstructions of its test stimuli."""

from pathlib import Path

from _common import begin, subject_of

started = begin(snakemake)

import torch

from neurorecon.artifacts import write_manifest
from neurorecon.evaluate.embedding import noise_free_rows
from neurorecon.responses import Responses
from neurorecon.reconstruct.lowlevel import LowLevelSpace
from neurorecon.reconstruct.models import best_device, vae_location
from neurorecon.reconstruct.io import save_reconstructions, write_pngs
from neurorecon.reconstruct.subject import lowlevel_subject
from neurorecon.reconstruct.vae import load_vae

cfg = snakemake.params.cfg
torch.set_num_threads(snakemake.threads)
vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=best_device()) \
    if cfg["target"] == "vae" else None
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
result = lowlevel_subject(responses, Path(snakemake.input.stimuli), cfg,
                          LowLevelSpace(cfg["target"], cfg["pixel_size"], vae),
                          noise_free_rows(responses, cfg["rois"], snakemake.input))
out_dir = Path(snakemake.output.manifest).parent
result["decoder"].save(out_dir, {"rois": cfg["rois"], "target": cfg["target"]})
write_pngs(out_dir / "images", result["stim_ids"], result["images"])
save_reconstructions(Path(snakemake.output.reconstructions), result["stim_ids"], result["images"], result["ceiling"])
write_manifest(out_dir, stage="reconstruct", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.reconstructions, snakemake.output.weights], started=started,
               code_version=snakemake.params.code,
               extra={"subject": subject_of(snakemake), "alpha": result["decoder"].alpha})
