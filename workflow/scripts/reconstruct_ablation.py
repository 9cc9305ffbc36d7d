"""Rule reconstruct_ablation: one subject's test images drawn again with each combination of decoded
inputs that the final reconstruction does not use (same start images, sampling and seeds)."""

from pathlib import Path

from _common import begin, progress, subject_of

started = begin(snakemake)

import torch

from neurorecon.artifacts import write_manifest
from neurorecon.decode.ridge import load_predictions
from neurorecon.decode.saved import load_saved_decoder
from neurorecon.evaluate.embedding import noise_free_rows
from neurorecon.responses import Responses
from neurorecon.reconstruct.diffusion import load_tiny_generator
from neurorecon.reconstruct.models import best_device, clip_location, vae_location
from neurorecon.reconstruct.io import load_reconstructions, save_reconstructions
from neurorecon.reconstruct.subject import brain_guided_images, sampled_inputs, sampling_sets
from neurorecon.reconstruct.vae import load_vae
from neurorecon.stimuli.clip import load_clip

torch.set_num_threads(snakemake.threads)
device = best_device()
vae = load_vae(*vae_location(snakemake.params.vae, snakemake.params.vae_dir), device=device)
generator = load_tiny_generator(Path(snakemake.params.diffusion_dir), vae, device=device)
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=device)
subject = subject_of(snakemake)
lowlevel = load_reconstructions(Path(snakemake.input.lowlevel))
stim_ids, decoded = load_predictions(Path(snakemake.input.predictions))
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
decoder = load_saved_decoder(Path(snakemake.input.decoder), subject)
clean = noise_free_rows(responses, decoder.rois, snakemake.input)
ceiling_decoded = None if clean is None else decoder.predict(clean)
for name, path in zip(snakemake.params.combinations, snakemake.output.reconstructions):
    sampling = {**snakemake.params.sampling, "inputs": name.split("+")}
    inputs = sampled_inputs(Path(snakemake.input.inputs), stim_ids, sampling["inputs"], follows=generator.structure)
    sets = sampling_sets(stim_ids, lowlevel, decoded, ceiling_decoded, inputs,
                         f"{snakemake.input.predictions} and {snakemake.input.lowlevel}")
    arrays = brain_guided_images(generator, clip, sets, sampling,
                                 progress=lambda batches, kind: progress(batches, f"sample {name} {kind} sub-{subject}"))
    save_reconstructions(Path(path), stim_ids, arrays["images"], arrays.get("ceiling"))
write_manifest(Path(snakemake.output.manifest).parent, stage="reconstruct",
               config={"sampling": snakemake.params.sampling, "combinations": snakemake.params.combinations},
               inputs=list(snakemake.input), outputs=list(snakemake.output.reconstructions), started=started,
               code_version=snakemake.params.code, extra={"subject": subject, "generator": generator.name, "device": device})
