"""Rule reconstruct_shape: a 3D subject's meshes from its decoded targets (and the same from
noise-free responses), as PLY files, six rendered views and a turntable GIF per object."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import numpy as np
import torch

from neurorecon.artifacts import write_manifest
from neurorecon.decode.keyed import load_predictions
from neurorecon.decode.shape import TARGETS
from neurorecon.meshes import save_mesh
from neurorecon.reconstruct.io import save_reconstructions, write_gifs
from neurorecon.reconstruct.models import best_device, vae_location
from neurorecon.reconstruct.shape import generate_meshes
from neurorecon.reconstruct.vae import load_vae
from neurorecon.render import EVAL_VIEWS, Renderer, turntable

shape = snakemake.params.shape
torch.set_num_threads(snakemake.threads)
device = best_device()
subject = snakemake.wildcards.shape_subject
vae = None
if snakemake.input.get("vae_config"):
    vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=device)
uids, predicted, ceiling = load_predictions(Path(snakemake.input.predictions), TARGETS)
out = Path(snakemake.output.meshes).parent
arrays, info = {}, {}
frames = turntable(shape["turntable_frames"])
with Renderer(snakemake.params.image_size) as renderer:
    for name, decoded in {"meshes": predicted, **({"ceiling": ceiling} if ceiling is not None else {})}.items():
        meshes, info[name] = generate_meshes(
            shape, decoded, uids, model_dir=snakemake.params.shape_dir, vae=vae, device=device,
            image_generator={"diffusion": snakemake.params.diffusion, "dir": snakemake.params.diffusion_dir,
                             "sampling": snakemake.params.image_sampling})
        views, spins = [], []
        for uid, mesh in zip(progress(uids, f"render {name} {subject}"), meshes):
            save_mesh(mesh, out / name / f"{uid}.ply")
            views.append(renderer.render(mesh, EVAL_VIEWS))
            spins.append(renderer.render(mesh, frames))
        arrays[name], arrays[f"{name}_turntable"] = np.stack(views), np.stack(spins)
write_gifs(out / "turntables", uids, arrays["meshes_turntable"], fps=4)
save_reconstructions(Path(snakemake.output.meshes), uids, arrays.pop("meshes"), arrays.pop("ceiling", None),
                     **arrays)
write_manifest(out, stage="reconstruct", config=shape, inputs=list(snakemake.input),
               outputs=[snakemake.output.meshes, out / "meshes", out / "turntables",
                        *([out / "ceiling"] if ceiling is not None else [])],
               started=started, code_version=snakemake.params.code,
               extra={"subject": subject, "device": device, "objects": len(uids), **info["meshes"],
                      "views": [list(view) for view in EVAL_VIEWS]})
