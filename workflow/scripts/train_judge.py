"""Rule train_judge: the synthetic world's scene judge (shape and colour from pixels)."""

from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

import torch

from neurorecon.artifacts import write_manifest
from neurorecon.evaluate.judge import train_judge

torch.set_num_threads(snakemake.threads)
accuracy = train_judge(snakemake.params.cfg, Path(snakemake.output.config).parent,
                       progress=lambda n: progress(range(n), "train scene judge (epochs)"))
write_manifest(Path(snakemake.output.manifest).parent, stage="evaluate", config=snakemake.params.cfg,
               outputs=[snakemake.output.config, snakemake.output.weights], started=started,
               code_version=snakemake.params.code, extra={"held_out_accuracy": accuracy})
