"""Rule evaluate_embeddings / evaluate_shared / evaluate_adapted: one subject's retrieval and
identification metrics for the ridge or the cross-subject decoder."""

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

subject = snakemake.wildcards.subject
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
if "model" in snakemake.input.keys():
    from neurorecon.decode.shared import SharedDecoder, predict

    model = SharedDecoder.load(Path(snakemake.input.model).parent)
    decode_cfg = {"rois": snakemake.params.rois, "target": "image"}
    decoder = lambda values: predict(model, subject, values)["clip"]  # noqa: E731
else:
    decode_cfg = json.loads(Path(snakemake.input.info).read_text())
    decoder = RidgeDecoder.load(Path(snakemake.input.weights).parent).predict
test_ids, predicted = load_predictions(Path(snakemake.input.predictions))
truth = Path(snakemake.input.truth) if "truth" in snakemake.input.keys() else None
rows = evaluate_subject(responses, decoder, test_ids, predicted, load_embeddings(Path(snakemake.input.embeddings)),
                        decode_cfg, truth)
table = pd.DataFrame(rows).assign(modality="fmri", subject=subject, method=snakemake.params.method, output="embedding")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=snakemake.params.cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"subject": subject, "method": snakemake.params.method})
