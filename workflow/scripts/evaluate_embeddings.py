"""Rule evaluate_embeddings: one subject's retrieval and identification metrics."""

import json
from pathlib import Path

from _common import begin

started = begin(snakemake)

import pandas as pd

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.decode.ridge import RidgeDecoder, load_predictions
from neurorecon.evaluate.embedding import evaluate_subject
from neurorecon.preprocess.fmri import Responses
from neurorecon.stimuli.clip import load_embeddings

decode_cfg = json.loads(Path(snakemake.input.info).read_text())
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
decoder = RidgeDecoder.load(Path(snakemake.input.weights).parent)
test_ids, predicted = load_predictions(Path(snakemake.input.predictions))
truth = Path(snakemake.input.truth) if "truth" in snakemake.input.keys() else None
rows = evaluate_subject(responses, decoder, test_ids, predicted, load_embeddings(Path(snakemake.input.embeddings)),
                        decode_cfg, truth)
table = pd.DataFrame(rows).assign(modality="fmri", subject=snakemake.wildcards.subject,
                                  method=snakemake.params.method, output="embedding")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=snakemake.params.cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"subject": snakemake.wildcards.subject})
