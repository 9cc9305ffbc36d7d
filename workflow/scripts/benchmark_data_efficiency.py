"""Rule benchmark_data_efficiency: decoding quality against the share of a held-out subject's
training data, for per-subject ridge, the same model from scratch, and the adapted shared model."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import pandas as pd
import torch

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.decode.shared import SharedDecoder, subject_data
from neurorecon.evaluate.data_efficiency import data_efficiency, summarise
from neurorecon.evaluate.embedding import noise_free_test_responses
from neurorecon.responses import Responses
from neurorecon.stimuli.embeddings import load_embeddings

cfg, shared_cfg, adapt_cfg = snakemake.params.cfg, snakemake.params.shared, snakemake.params.adapt
rois = shared_cfg["rois"]
torch.set_num_threads(snakemake.threads)
embeddings = load_embeddings(Path(snakemake.input.embeddings))
pretrained = SharedDecoder.load(Path(snakemake.input.model).parent)
trained = {s: subject_data(Responses.load(Path(r), Path(t)), embeddings, "train", rois)
           for s, r, t in zip(snakemake.params.trained_on, snakemake.input.trained_responses,
                              snakemake.input.trained_trials)}
truths = list(snakemake.input.truths) if "truths" in snakemake.input.keys() else []
tables = []
for index, subject in enumerate(snakemake.params.held_out):
    responses = Responses.load(Path(snakemake.input.responses[index]), Path(snakemake.input.trials[index]))
    clean = noise_free_test_responses(responses, Path(truths[index]), rois) if truths else None
    tables.append(data_efficiency(
        subject, subject_data(responses, embeddings, "train", rois), subject_data(responses, embeddings, "test", rois),
        clean, pretrained, trained, shared_cfg, adapt_cfg, snakemake.params.ridge_alphas, cfg["fractions"],
        cfg["repeats"], progress=lambda jobs: progress(jobs, f"data efficiency sub-{subject}")))
table = pd.concat(tables, ignore_index=True)
write_text_atomic(snakemake.output.subjects, table.to_csv(sep="\t", index=False, float_format="%.4f"))
write_text_atomic(snakemake.output.table, summarise(table).to_csv(sep="\t", index=False, float_format="%.4f",
                                                                  na_rep=""))
write_manifest(Path(snakemake.output.manifest).parent, stage="benchmark", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.table, snakemake.output.subjects], started=started,
               code_version=snakemake.params.code, extra={"held_out": snakemake.params.held_out})
