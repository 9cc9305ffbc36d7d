"""Rule preprocess_eeg / preprocess_seeg: one subject's recording -> responses contract (+ noise-free test rows)."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import numpy as np

from neurorecon.artifacts import atomic_path, write_manifest
from neurorecon.evaluate.embedding import write_noise_free
from neurorecon.io.inputs import read_tsv
from neurorecon.preprocess.sensors import preprocess_subject

subject = snakemake.wildcards.sensor_subject
truth = Path(snakemake.input.truth) if "truth" in snakemake.input.keys() else None
result = preprocess_subject(snakemake.params.modality, Path(snakemake.params.bids_root), subject,
                            read_tsv(snakemake.input.stimuli), snakemake.params.cfg, truth)
result["responses"].save(Path(snakemake.output.responses), Path(snakemake.output.trials))
trials = result["responses"].trials
write_noise_free(Path(snakemake.output.noise_free), trials.loc[trials["split"] == "test", "stim_id"].astype(str).tolist(),
                 result["noise_free"], result["responses"].values.shape[1])
with atomic_path(snakemake.output.conditions) as tmp, open(tmp, "wb") as handle:
    np.savez_compressed(handle, **result["conditions"])
write_manifest(Path(snakemake.output.manifest).parent, stage="preprocess", config=snakemake.params.cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.responses, snakemake.output.trials],
               started=started, code_version=snakemake.params.code,
               extra={"subject": subject, "modality": snakemake.params.modality, **result["report"]})
