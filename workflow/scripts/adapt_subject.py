"""Rule adapt_subject: add one held-out subject to the cross-subject decoder from a fraction of
its training data, and predict its test embeddings."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import logging

import torch

from neurorecon.artifacts import file_sha256, write_manifest
from neurorecon.decode.ridge import save_predictions
from neurorecon.decode.shared import (Checkpoint, SharedDecoder, adapt, predict, subject_data, training_subset,
                                      write_history)
from neurorecon.responses import Responses
from neurorecon.reconstruct.models import best_device
from neurorecon.stimuli.embeddings import load_embeddings

shared_cfg, cfg = snakemake.params.shared, snakemake.params.cfg
subject, trained_on = snakemake.wildcards.subject, snakemake.params.trained_on
torch.set_num_threads(snakemake.threads)
embeddings = load_embeddings(Path(snakemake.input.embeddings))
model = SharedDecoder.load(Path(snakemake.input.model).parent)
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
train = subject_data(responses, embeddings, "train", shared_cfg["rois"])
subset = train.subset(training_subset(len(train.responses), cfg["fraction"], cfg["seed"]))
trained = {}
if cfg["init"] == "align":
    trained = {s: subject_data(Responses.load(Path(r), Path(t)), embeddings, "train", shared_cfg["rois"])
               for s, r, t in zip(trained_on, snakemake.input.trained_responses, snakemake.input.trained_trials)}
checkpoint = Checkpoint(Path(snakemake.params.checkpoint),
                        {"cfg": cfg, "subject": subject, "inputs": [file_sha256(p) for p in snakemake.input]})
logging.getLogger("neurorecon").info("adapting sub-%s on %d of %d training rows", subject, len(subset.responses),
                                     len(train.responses))
history, info = adapt(model, subject, subset, {**shared_cfg, **cfg}, trained=trained, checkpoint=checkpoint,
                      device=best_device(), progress=lambda epochs: progress(epochs, f"adapt sub-{subject} (epochs)"))
model.cpu().save(Path(snakemake.output.weights).parent,
                 {"rois": shared_cfg["rois"], "trained_on": trained_on, "adapted": subject})
write_history(Path(snakemake.output.history), history)
values, trials = responses.select("test", shared_cfg["rois"])
save_predictions(Path(snakemake.output.predictions), trials["stim_id"].astype(str).tolist(),
                 predict(model, subject, values)["clip"])
checkpoint.remove()
write_manifest(Path(snakemake.output.manifest).parent, stage="decode", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.weights, snakemake.output.predictions, snakemake.output.history],
               started=started, code_version=snakemake.params.code,
               extra={"subject": subject, "train_rows": len(subset.responses), **info})
