"""Rule brain_score: the encoder's predicted responses to each of a subject's reconstructions,
correlated with the responses measured to the seen images, per ROI, for every image method."""

from pathlib import Path

from _common import begin, subject_of

started = begin(snakemake)

import pandas as pd
import torch
from PIL import Image

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.encode.brain_score import brain_score_rows
from neurorecon.encode.features import image_tokens
from neurorecon.encode.linear import LinearEncoder
from neurorecon.encode.transformer import TransformerEncoder
from neurorecon.reconstruct.io import load_reconstructions
from neurorecon.reconstruct.models import best_device, clip_location
from neurorecon.responses import Responses
from neurorecon.stimuli.clip import embed_images, load_clip
from neurorecon.stimuli.images import load_stimulus_images

cfg = snakemake.params.cfg
subject = subject_of(snakemake)
torch.set_num_threads(snakemake.threads)
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
train_x, _ = responses.select("train", cfg["rois"])
test_x, test_trials = responses.select("test", cfg["rois"])
roi = responses.roi[responses.columns(cfg["rois"])]
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=best_device())
encoder_dir = Path(snakemake.input.linear).parent.parent
if cfg["brain_score"]["model"] == "linear":
    encoder = LinearEncoder.load(encoder_dir / "linear")
    predict = lambda images: encoder.predict(embed_images(clip, [Image.fromarray(i) for i in images]))
else:
    encoder = TransformerEncoder.load(encoder_dir / "transformer")
    stage = cfg["transformer"]["token_stage"]
    predict = lambda images: encoder.predict(image_tokens(clip, [Image.fromarray(i) for i in images], stage))

test_ids = test_trials["stim_id"].astype(str).tolist()
seen = predict(load_stimulus_images(snakemake.input.stimuli, test_ids))
tables = []
for kind, method in snakemake.params.methods.items():
    if kind not in snakemake.input.keys():
        continue
    reconstructions = load_reconstructions(Path(snakemake.input[kind]))
    if [str(s) for s in reconstructions["stim_ids"]] != test_ids:
        raise ValueError(f"{snakemake.input[kind]} lists other test stimuli, or another order, than "
                         f"{snakemake.input.trials}; rerun its reconstruction")
    rows = brain_score_rows(predict(reconstructions["images"]), seen, test_x, train_x.mean(axis=0), roi,
                            responses.roi_names)
    tables.append(pd.DataFrame(rows).assign(method=method))
table = pd.concat(tables, ignore_index=True).assign(modality="fmri", subject=subject, output="image")
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=cfg["brain_score"],
               inputs=list(snakemake.input), outputs=[snakemake.output.metrics], started=started,
               code_version=snakemake.params.code, extra={"subject": subject, "encoder": cfg["brain_score"]["model"]})
