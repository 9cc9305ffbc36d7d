"""Rule evaluate_eeg / evaluate_seeg: zero-shot retrieval, identification and category metrics of one subject."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import pandas as pd

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.decode.ridge import RidgeDecoder
from neurorecon.decode.sensors import SensorEncoder
from neurorecon.evaluate.embedding import noise_free_rows
from neurorecon.evaluate.sensors import evaluate_sensor_subject
from neurorecon.io.inputs import read_tsv
from neurorecon.responses import Responses
from neurorecon.stimuli.embeddings import load_embeddings

subject, modality = snakemake.wildcards.sensor_subject, snakemake.params.modality
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
rows = evaluate_sensor_subject(responses, noise_free_rows(responses, None, snakemake.input), SensorEncoder.load(Path(snakemake.input.weights).parent),
                               RidgeDecoder.load(Path(snakemake.input.ridge).parent),
                               load_embeddings(Path(snakemake.input.embeddings)), read_tsv(snakemake.input.stimuli),
                               snakemake.params.category)
table = pd.DataFrame(rows).assign(modality=modality, subject=subject, output="embedding")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=snakemake.params.cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"subject": subject, "modality": modality})
