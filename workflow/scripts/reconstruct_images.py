"""Rule reconstruct_images: final images from the generator, started from the low-level ones and
conditioned on the decoded CLIP embeddings, text embeddings and structure maps (and the same from
noise-free responses)."""

from pathlib import Path

from _common import begin, progress, subject_of

started = begin(snakemake)

import torch

from neurorecon.artifacts import write_manifest
from neurorecon.decode.ridge import load_predictions
from neurorecon.decode.saved import load_saved_decoder
from neurorecon.evaluate.embedding import noise_free_rows
from neurorecon.responses import Responses
from neurorecon.reconstruct.diffusion import load_tiny_generator, load_unclip_generator
from neurorecon.reconstruct.models import best_device, clip_location, vae_location
from neurorecon.reconstruct.io import load_reconstructions, save_reconstructions, write_pngs
from neurorecon.reconstruct.subject import brain_guided_images, sampled_inputs, sampling_sets
from neurorecon.reconstruct.vae import load_vae
from neurorecon.stimuli.clip import load_clip

sampling = snakemake.params.sampling
torch.set_num_threads(snakemake.threads)
device = best_device()
if snakemake.params.diffusion["model"] == "tiny":
    vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=device)
    generator = load_tiny_generator(Path(snakemake.params.diffusion_dir), vae, device=device)
else:
    generator = load_unclip_generator(snakemake.params.diffusion["model"], sampling["noise_level"], device=device,
                                      controlnet=snakemake.params.diffusion["controlnet"])
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=device)

lowlevel = load_reconstructions(Path(snakemake.input.lowlevel))
stim_ids, decoded = load_predictions(Path(snakemake.input.predictions))
subject = subject_of(snakemake)
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
decoder = load_saved_decoder(Path(snakemake.input.decoder), subject)
clean = noise_free_rows(responses, decoder.rois, snakemake.input)
inputs = (sampled_inputs(Path(snakemake.input.inputs), stim_ids, sampling["inputs"], generator.text_input,
                         generator.structure)
          if "inputs" in snakemake.input.keys() else {"images": {}, "ceiling": {}})
sets = sampling_sets(stim_ids, lowlevel, decoded, None if clean is None else decoder.predict(clean), inputs,
                     f"{snakemake.input.predictions} and {snakemake.input.lowlevel}")

out_dir = Path(snakemake.output.manifest).parent
arrays = brain_guided_images(generator, clip, sets, sampling,
                             progress=lambda batches, name: progress(batches, f"sample {name} sub-{subject}"))
for k in range(sampling["samples"]):
    write_pngs(out_dir / "samples", stim_ids, arrays["images_samples"][:, k], suffix=f"_sample-{k}")
write_pngs(out_dir / "images", stim_ids, arrays["images"])
save_reconstructions(Path(snakemake.output.reconstructions), stim_ids, arrays.pop("images"), arrays.pop("ceiling", None),
                     **arrays)
write_manifest(out_dir, stage="reconstruct", config={"sampling": sampling, "diffusion": snakemake.params.diffusion},
               inputs=list(snakemake.input), outputs=[snakemake.output.reconstructions], started=started,
               code_version=snakemake.params.code,
               extra={"subject": subject, "generator": generator.name, "device": device})
