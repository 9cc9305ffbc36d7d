"""Rule reconstruct_video: a video subject's clips generated from its decoded keyframe embeddings,
motion and blurry videos (and the same from noise-free responses), as npz (final clips, start
clips, the generator's own frames), GIFs and PNG frames."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import torch

from neurorecon.artifacts import write_manifest
from neurorecon.decode.video import FPS, load_video_predictions
from neurorecon.reconstruct.io import save_reconstructions, write_frame_pngs, write_gifs
from neurorecon.reconstruct.models import best_device, vae_location
from neurorecon.reconstruct.vae import load_vae
from neurorecon.reconstruct.video import apply_motion, generate_clips, start_clips

video = snakemake.params.video
torch.set_num_threads(snakemake.threads)
device = best_device()
subject = snakemake.wildcards.video_subject
vae = None
if snakemake.input.get("vae_config"):
    vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=device)
stim_ids, predicted, ceiling = load_video_predictions(Path(snakemake.input.predictions))
sets = {"videos": predicted, **({"ceiling": ceiling} if ceiling is not None else {})}
arrays = {}
for name, decoded in sets.items():
    start = start_clips(decoded, video["sampling"]["start"])
    drawn, info = generate_clips(
        video, start, decoded["keyframe"], decoded["flow"], vae=vae, video_dir=snakemake.params.video_dir,
        image_generator={"diffusion": snakemake.params.diffusion, "dir": snakemake.params.diffusion_dir,
                         "sampling": snakemake.params.image_sampling},
        device=device, progress=lambda batches: progress(batches, f"generate {name} clips {subject}"))
    arrays[name] = apply_motion(drawn, decoded["flow"], video["sampling"]["motion"])
    arrays[f"{name}_start"] = start
    arrays[f"{name}_drawn"] = drawn
out = Path(snakemake.output.videos).parent
write_gifs(out / "gifs", stim_ids, arrays["videos"], FPS)
write_frame_pngs(out / "frames", stim_ids, arrays["videos"])
save_reconstructions(Path(snakemake.output.videos), stim_ids, arrays.pop("videos"), arrays.pop("ceiling", None),
                     **arrays)
write_manifest(out, stage="reconstruct", config=video, inputs=list(snakemake.input),
               outputs=[snakemake.output.videos, out / "gifs", out / "frames"], started=started,
               code_version=snakemake.params.code,
               extra={"subject": subject, "device": device, "clips": len(stim_ids), **info})
