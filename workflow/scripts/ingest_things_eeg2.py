"""Rule ingest_things_eeg2: one subject's preprocessed THINGS-EEG2 epochs -> the responses contract."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import numpy as np

from neurorecon.artifacts import atomic_path, write_manifest
from neurorecon.evaluate.embedding import write_noise_free
from neurorecon.io.inputs import read_tsv
from neurorecon.io.things_eeg2 import subject_responses
from neurorecon.preprocess.sensors import condition_averages

cfg, preprocess = snakemake.params.cfg, snakemake.params.preprocess
subject = snakemake.wildcards.sensor_subject
stimuli = read_tsv(snakemake.input.stimuli)
responses = subject_responses(Path(cfg["root"]), int(subject), stimuli, preprocess["average_repeats"])
responses.save(Path(snakemake.output.responses), Path(snakemake.output.trials))
write_noise_free(Path(snakemake.output.noise_free), [], None, responses.values.shape[1])  # real data: no ceiling
with atomic_path(snakemake.output.conditions) as tmp, open(tmp, "wb") as handle:
    np.savez_compressed(handle, **condition_averages(responses, stimuli, preprocess["conditions"]))
write_manifest(Path(snakemake.output.manifest).parent, stage="preprocess", config=preprocess,
               inputs=[Path(cfg["root"]) / "preprocessed_data" / f"sub-{subject}"],
               outputs=[snakemake.output.responses, snakemake.output.trials], started=started,
               code_version=snakemake.params.code, extra={"subject": subject, "modality": "eeg", "source": "things-eeg2"})
