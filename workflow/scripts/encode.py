"""Rule encode: one subject's linear and transformer encoders, their test-image correlations against
the noise ceiling, and a caption per voxel (BrainSCUBA)."""

from pathlib import Path

from _common import begin, progress, subject_of

started = begin(snakemake)

import numpy as np
import pandas as pd
import torch
from PIL import Image

from neurorecon.artifacts import atomic_path, write_manifest, write_text_atomic
from neurorecon.encode.captions import caption_hits, hit_summary, known_preferences, read_caption_file, voxel_captions
from neurorecon.encode.features import image_tokens
from neurorecon.encode.subject import fit_subject_encoders, summary_rows
from neurorecon.evaluate.embedding import noise_free_rows
from neurorecon.io.inputs import InputDataError
from neurorecon.reconstruct.models import best_device, clip_location
from neurorecon.responses import Responses
from neurorecon.stimuli.clip import embed_texts, load_clip
from neurorecon.stimuli.embeddings import load_embeddings
from neurorecon.stimuli.images import load_stimulus_images, read_stimulus_table
from neurorecon.synth.scenes import SCENE_ATTRIBUTES

cfg = snakemake.params.cfg
subject = subject_of(snakemake)
torch.set_num_threads(snakemake.threads)
responses = Responses.load(Path(snakemake.input.responses), Path(snakemake.input.trials))
embeddings = load_embeddings(Path(snakemake.input.embeddings))
stim_ids = [str(s) for s in embeddings["stim_ids"]]
clip = load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir), device=best_device())
pictures = [Image.fromarray(image) for image in load_stimulus_images(snakemake.input.stimuli, stim_ids)]
tokens = image_tokens(clip, pictures, cfg["transformer"]["token_stage"])
columns = responses.columns(cfg["rois"])
result = fit_subject_encoders(responses, stim_ids, embeddings["image"], tokens, cfg,
                              noise_free_rows(responses, cfg["rois"], snakemake.input),
                              progress=lambda n: progress(range(n), f"train transformer encoder sub-{subject} (epochs)"))
out_dir = Path(snakemake.output.manifest).parent
result.linear.save(out_dir / "linear")
result.transformer.save(out_dir / "transformer")
write_text_atomic(snakemake.output.history, pd.DataFrame(result.history).to_csv(sep="\t", index=False))
write_text_atomic(snakemake.output.roi_table, result.table.to_csv(sep="\t", index=False))
rows = summary_rows(result.table, subject)

stimuli = read_stimulus_table(snakemake.input.stimuli).set_index("stim_id")
corpus_cfg = cfg["captions"]
captions = pd.DataFrame(columns=["voxel", "roi", "caption", "similarity", "r_linear"])
corpus_name = corpus_cfg["corpus"]
if corpus_name == "auto":
    corpus_name = "stimuli" if "caption" in stimuli.columns else None
notes = [] if corpus_name or not corpus_cfg["corpus"] else ["no voxel captions: the stimulus table has no captions "
                                                             "(name a caption file in encode.captions.corpus)"]
if corpus_name:
    train_ids = [s for s in stim_ids if stimuli.at[s, "split"] == "train"]
    index = {s: i for i, s in enumerate(stim_ids)}
    image_rows = embeddings["image"][[index[s] for s in train_ids]]
    if corpus_name == "stimuli":
        if "caption" not in stimuli.columns:
            raise InputDataError(snakemake.input.stimuli, "encode.captions.corpus 'stimuli' reads the caption column, "
                                                          "which the stimulus table lacks; name a caption file or set it to null")
        corpus = stimuli.loc[train_ids].reset_index()
        corpus_text = embeddings["text"][[index[s] for s in train_ids]]
    else:
        corpus = pd.DataFrame({"caption": read_caption_file(corpus_name)})
        corpus_text = embed_texts(clip, corpus["caption"].tolist())
    best, similarity = voxel_captions(result.linear.directions(), image_rows, corpus_text, corpus_cfg["temperature"])
    captions = pd.DataFrame({"voxel": np.arange(len(best)), "roi": [responses.roi_names[int(r)] for r in result.voxels["roi"]],
                             "caption": corpus["caption"].astype(str).to_numpy()[best], "similarity": similarity,
                             "r_linear": result.voxels["r_linear"]})
    if "truth" in snakemake.input.keys() and all(a in stimuli.columns for a in SCENE_ATTRIBUTES):
        with np.load(snakemake.input.truth, allow_pickle=False) as truth:
            truth_index = {str(s): i for i, s in enumerate(truth["stim_ids"])}
            clean = truth["stimulus_response_pct"][[truth_index[s] for s in train_ids]][:, columns]
        preferences = known_preferences(clean, stimuli.loc[train_ids, list(SCENE_ATTRIBUTES)].reset_index(drop=True))
        captions = pd.concat([captions, preferences.add_prefix("preferred_")], axis=1)
        hits = caption_hits(preferences, best, corpus, corpus_cfg["min_share"])
        captions["hit"] = np.nan
        captions.loc[hits["voxel"], "hit"] = hits["hit"].to_numpy()
        rows = pd.concat([rows, pd.DataFrame(hit_summary(hits)).assign(
            modality="fmri", subject=subject, method="linear-encoder", output="captions")], ignore_index=True)
write_text_atomic(snakemake.output.captions, captions.to_csv(sep="\t", index=False, float_format="%.4g"))
with atomic_path(Path(snakemake.output.voxels)) as tmp, open(tmp, "wb") as handle:
    np.savez_compressed(handle, **result.voxels)
write_text_atomic(snakemake.output.metrics, rows.to_csv(sep="\t", index=False))
write_manifest(out_dir, stage="encode", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.metrics, snakemake.output.roi_table, snakemake.output.voxels,
                        snakemake.output.captions, snakemake.output.history, out_dir / "linear" / "linear.safetensors",
                        out_dir / "transformer" / "transformer.safetensors", out_dir / "transformer" / "transformer.json"],
               started=started, code_version=snakemake.params.code,
               extra={"subject": subject, "ceiling": result.ceiling_kind, "n_voxels": int(columns.sum()), "notes": notes})
