"""Rule evaluate_ablation: every ablation subject's reconstructions per combination of decoded inputs,
scored like the final images; the per-subject table and its mean over subjects."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import pandas as pd
import torch

from neurorecon.artifacts import write_manifest, write_text_atomic
from neurorecon.evaluate.images import ImageScorer, mean_over_subjects
from neurorecon.evaluate.judge import load_judge
from neurorecon.reconstruct.io import load_reconstructions
from neurorecon.reconstruct.models import clip_location
from neurorecon.stimuli.clip import load_clip
from neurorecon.stimuli.embeddings import load_embeddings

torch.set_num_threads(snakemake.threads)
scorer = ImageScorer(snakemake.params.cfg, load_clip(*clip_location(snakemake.params.clip, snakemake.params.clip_dir)),
                     snakemake.input.stimuli, load_embeddings(Path(snakemake.input.embeddings)),
                     load_judge(Path(snakemake.input.judge).parent) if "judge" in snakemake.input.keys() else None)
redrawn = iter(snakemake.input.redrawn)
tables = []
for subject, final in zip(snakemake.params.subjects, snakemake.input.final):
    paths = {name: next(redrawn) for name in snakemake.params.redrawn}
    paths[snakemake.params.final] = final
    for name, path in paths.items():
        recon = load_reconstructions(Path(path))
        rows = scorer.rows(recon["images"], recon.get("ceiling"), [str(s) for s in recon["stim_ids"]])
        tables.append(pd.DataFrame(rows).assign(subject=subject, inputs=name))
table = pd.concat(tables, ignore_index=True)[["subject", "inputs", "metric", "value", "chance", "ceiling", "n"]]
write_text_atomic(snakemake.output.metrics, table.to_csv(sep="\t", index=False))
write_text_atomic(snakemake.output.mean, mean_over_subjects(table, ["inputs", "metric"]).to_csv(sep="\t", index=False))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=snakemake.params.cfg,
               inputs=list(snakemake.input), outputs=[snakemake.output.metrics, snakemake.output.mean], started=started,
               code_version=snakemake.params.code, extra={"subjects": snakemake.params.subjects})
