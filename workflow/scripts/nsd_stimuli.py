"""Rule nsd_stimuli: export the NSD images the configured subjects saw, with their split (and COCO
caption, when data.nsd.captions names COCO's annotations)."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import pandas as pd

from neurorecon.artifacts import write_manifest
from neurorecon.io import nsd

cfg = snakemake.params.cfg
design = nsd.read_expdesign(Path(cfg["root"]))
trials = pd.concat([nsd.trial_table(design, s, cfg["sessions"]) for s in cfg["subjects"]], ignore_index=True)
out_dir = Path(snakemake.output.stimuli).parent
captions = (nsd.read_captions(Path(cfg["root"]), Path(cfg["captions"]), sorted(set(trials["nsd_id"])))
            if cfg["captions"] else None)
nsd.export_stimuli(Path(cfg["root"]), trials, out_dir, cfg["image_size"], captions)
write_manifest(out_dir.parent, stage="data", config=cfg, inputs=[Path(cfg["root"]) / nsd.EXPDESIGN],
               outputs=[snakemake.output.stimuli], started=started, code_version=snakemake.params.code)
