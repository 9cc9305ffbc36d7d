"""Rule train_shared_decoder: the cross-subject decoder on its training subjects, and their
predicted test embeddings. Resumes from its checkpoint if a killed run left one."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import logging

import torch

from neurorecon.artifacts import file_sha256, write_manifest
from neurorecon.decode.ridge import save_predictions
from neurorecon.decode.shared import Checkpoint, predict, pretrain, subject_data, write_history
from neurorecon.responses import Responses
from neurorecon.reconstruct.models import best_device
from neurorecon.stimuli.embeddings import load_embeddings

cfg = snakemake.params.cfg
subjects = snakemake.params.subjects
torch.set_num_threads(snakemake.threads)
embeddings = load_embeddings(Path(snakemake.input.embeddings))
responses = {s: Responses.load(Path(r), Path(t))
             for s, r, t in zip(subjects, snakemake.input.responses, snakemake.input.trials)}
data = {s: subject_data(responses[s], embeddings, "train", cfg["rois"]) for s in subjects}
checkpoint = Checkpoint(Path(snakemake.params.checkpoint),
                        {"cfg": cfg, "subjects": subjects, "inputs": [file_sha256(p) for p in snakemake.input]})
device = best_device()
logging.getLogger("neurorecon").info("training on subjects %s (%s rows) on %s", subjects,
                                     [len(d.responses) for d in data.values()], device)
model, history = pretrain(data, cfg, embeddings["image"].shape[1], checkpoint, device=device,
                          progress=lambda epochs: progress(epochs, "cross-subject decoder (epochs)"))
model_dir = Path(snakemake.output.weights).parent
model.cpu().save(model_dir, {"rois": cfg["rois"], "trained_on": subjects})
write_history(Path(snakemake.output.history), history)
for subject, path in zip(subjects, snakemake.output.predictions):
    values, trials = responses[subject].select("test", cfg["rois"])
    save_predictions(Path(path), trials["stim_id"].astype(str).tolist(), predict(model, subject, values)["clip"])
checkpoint.remove()
write_manifest(Path(snakemake.output.manifest).parent, stage="decode", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.weights, snakemake.output.history, *snakemake.output.predictions],
               started=started, code_version=snakemake.params.code,
               extra={"subjects": subjects, "final_loss": history[-1]["loss"] if history else None})
