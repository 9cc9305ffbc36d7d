"""Rule decode_eeg / decode_seeg: one subject's encoder and ridge baseline into the CLIP image space."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import torch

from neurorecon.artifacts import write_manifest
from neurorecon.decode.ridge import save_predictions
from neurorecon.decode.sensors import fit_sensor_decoders
from neurorecon.decode.shared import write_history
from neurorecon.io.inputs import read_tsv
from neurorecon.reconstruct.models import best_device
from neurorecon.responses import Responses
from neurorecon.stimuli.embeddings import load_embeddings

torch.set_num_threads(snakemake.threads)
subject, modality, cfg = snakemake.wildcards.sensor_subject, snakemake.params.modality, snakemake.params.cfg
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
fitted = fit_sensor_decoders(responses, load_embeddings(Path(snakemake.input.embeddings)), read_tsv(snakemake.input.stimuli),
                             cfg, by_region=modality == "seeg",
                             progress=lambda epochs: progress(epochs, f"{modality} encoder sub-{subject}"),
                             device=best_device())
out_dir = Path(snakemake.output.manifest).parent
fitted["encoder"].save(out_dir / "model", {"modality": modality, "subject": subject, "group_names": fitted["groups"],
                                           "channels": responses.channels, "times": responses.times.tolist()})
fitted["ridge"].save(out_dir / "ridge", {"rois": None, "target": "image"})
save_predictions(Path(snakemake.output.predictions), fitted["test_ids"], fitted["encoder_predictions"])
save_predictions(Path(snakemake.output.ridge_predictions), fitted["test_ids"], fitted["ridge_predictions"])
write_history(Path(snakemake.output.history), fitted["history"])
write_manifest(out_dir, stage="decode", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.weights, snakemake.output.ridge, snakemake.output.predictions],
               started=started, code_version=snakemake.params.code,
               extra={"subject": subject, "modality": modality, "ridge_alpha": fitted["ridge"].alpha,
                      "groups": fitted["groups"]})
