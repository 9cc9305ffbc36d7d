"""Rule decode_inputs: one subject's ridge decoders for the caption's text embedding and the
structure map, their test predictions (and those from noise-free responses) and metrics."""

from pathlib import Path

from _common import begin, subject_of

started = begin(snakemake)

import numpy as np
import pandas as pd

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.decode.inputs import caption_rows, decode_inputs, input_metrics
from neurorecon.decode.keyed import save_predictions
from neurorecon.evaluate.embedding import noise_free_rows
from neurorecon.io.inputs import InputDataError
from neurorecon.responses import Responses
from neurorecon.stimuli.embeddings import load_embeddings
from neurorecon.stimuli.images import read_stimulus_table
from neurorecon.stimuli.structure import load_structure

cfg = snakemake.params.cfg
subject = subject_of(snakemake)
embeddings = load_embeddings(Path(snakemake.input.embeddings))
if "text" in cfg["kinds"] and not np.any(embeddings["text"]):
    raise InputDataError(snakemake.input.embeddings, "the stimulus table has no captions, so there is no text "
                                                     "embedding to decode; drop text from decode.inputs.kinds")
stimuli = read_stimulus_table(snakemake.input.stimuli)
captions = dict(zip(stimuli["stim_id"], stimuli["caption"].astype(str))) if "caption" in stimuli.columns else None
if cfg["method"] == "retrieval" and captions is None:
    raise InputDataError(snakemake.input.stimuli, "retrieval decoding (decode.inputs.method) reads the captions' words, "
                                                  "and the stimulus table has no caption column; use method: ridge")
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
structure = load_structure(Path(snakemake.input.structure))
result = decode_inputs(responses, cfg["kinds"], embeddings, structure, cfg,
                       noise_free_rows(responses, cfg["rois"], snakemake.input), captions)
out_dir = Path(snakemake.output.manifest).parent
for name, decoder in result["decoders"].items():
    decoder.save(out_dir / name, {"rois": cfg["rois"], "target": name, "n_voxels": int(decoder.coef.shape[0]),
                                  **({"vocabulary": result["vocabulary"]} if name == "words" else {})})
extra = {key: np.asarray(result[key]) for key in ("captions", "ceiling_captions") if key in result}
if "structure" in cfg["kinds"]:
    extra["structure_kind"] = np.asarray(structure["kind"])
save_predictions(Path(snakemake.output.predictions), result["stim_ids"], result["predicted"], result["ceiling"],
                 **extra)
rows = [row for kind in cfg["kinds"] for row in input_metrics(kind, result["predicted"][kind], result["true"][kind],
                                                              None if result["ceiling"] is None else result["ceiling"][kind])]
if "captions" in result:
    rows += caption_rows(result["captions"], [captions[s] for s in result["stim_ids"]], result.get("ceiling_captions"))
table = pd.DataFrame(rows).assign(modality="fmri", subject=subject, method=cfg["method"], output="embedding")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_manifest(out_dir, stage="decode", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.predictions, snakemake.output.metrics,
                        *[out_dir / decoder / name for decoder in result["decoders"] for name in ("ridge.safetensors", "ridge.json")]],
               started=started, code_version=snakemake.params.code,
               extra={"subject": subject, "alphas": {kind: d.alpha for kind, d in result["decoders"].items()}})
