"""Rule decode_ridge: fit one subject's ridge decoder and predict its test embeddings."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.decode.ridge import decode_subject, save_predictions
from neurorecon.responses import Responses
from neurorecon.stimuli.embeddings import load_embeddings

cfg = snakemake.params.cfg
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
decoder, test_ids, predicted = decode_subject(responses, load_embeddings(Path(snakemake.input.embeddings)), cfg)
out_dir = Path(snakemake.output.manifest).parent
decoder.save(out_dir, {"rois": cfg["rois"], "target": cfg["target"], "n_voxels": int(decoder.coef.shape[0])})
save_predictions(Path(snakemake.output.predictions), test_ids, predicted)
write_manifest(out_dir, stage="decode", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.weights, snakemake.output.info, snakemake.output.predictions],
               started=started, code_version=snakemake.params.code,
               extra={"subject": snakemake.wildcards.subject, "alpha": decoder.alpha})
