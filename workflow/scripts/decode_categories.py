"""Rule decode_categories: cross-validated category decoding from Muse EEG, and the decoded
embeddings (category probabilities mapped into the CLIP image space)."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import numpy as np
import pandas as pd

from neurorecon.artifacts import atomic_path, write_manifest, write_text_atomic
from neurorecon.decode.categories import category_centroids, category_epochs, cross_validate, decoded_embeddings
from neurorecon.io.inputs import read_tsv
from neurorecon.io.muse import read_muse_csv, recording_files
from neurorecon.stimuli.embeddings import load_embeddings

cfg, data = snakemake.params.cfg, snakemake.params.data
files = recording_files(Path(data["recordings"]))
raw, events = read_muse_csv(files, data["sfreq"])
epochs, labels, times = category_epochs(raw, events, data["categories"], cfg)
rows, probabilities = cross_validate(epochs, labels, times, cfg)
table = pd.DataFrame(rows).assign(modality="eeg", subject=data["subject"], output="category")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
centroids = category_centroids(load_embeddings(Path(snakemake.input.embeddings)), read_tsv(snakemake.input.stimuli),
                               data["categories"])
with atomic_path(snakemake.output.predictions) as tmp, open(tmp, "wb") as handle:
    np.savez(handle, labels=labels, centroids=centroids, method=cfg["reconstruct_with"],
             probabilities=probabilities[cfg["reconstruct_with"]].astype(np.float32),
             predicted=decoded_embeddings(probabilities[cfg["reconstruct_with"]], centroids).astype(np.float32))
write_manifest(Path(snakemake.output.manifest).parent, stage="decode", config=cfg, inputs=[str(f) for f in files],
               outputs=[snakemake.output.metrics, snakemake.output.predictions], started=started,
               code_version=snakemake.params.code,
               extra={"n_epochs": int(len(labels)), "per_category": np.bincount(labels).tolist()})
