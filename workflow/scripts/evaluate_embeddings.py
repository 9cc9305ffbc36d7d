"""Rule evaluate_embeddings / evaluate_shared / evaluate_adapted: one subject's retrieval and
identification metrics for the ridge or the cross-subject decoder."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import pandas as pd

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.decode.ridge import load_predictions
from neurorecon.decode.saved import load_saved_decoder
from neurorecon.evaluate.embedding import evaluate_subject
from neurorecon.responses import Responses
from neurorecon.stimuli.embeddings import load_embeddings

subject = snakemake.wildcards.subject
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
decoder = load_saved_decoder(Path(snakemake.input.decoder), subject)
test_ids, predicted = load_predictions(Path(snakemake.input.predictions))
truth = Path(snakemake.input.truth) if "truth" in snakemake.input.keys() else None
rows = evaluate_subject(responses, decoder.predict, test_ids, predicted, load_embeddings(Path(snakemake.input.embeddings)),
                        {"rois": decoder.rois, "target": decoder.target}, truth)
table = pd.DataFrame(rows).assign(modality="fmri", subject=subject, method=snakemake.params.method, output="embedding")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=snakemake.params.cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"subject": subject, "method": snakemake.params.method})
