"""Rule preprocess_fmri: one subject's BOLD runs -> single-trial responses."""

import sys
from pathlib import Path

from _common import begin, progress

started = begin(snakemake)

from neurorecon.artifacts import derivatives_description, write_json_atomic, write_manifest
from neurorecon.io.inputs import read_tsv
from neurorecon.preprocess.fmri import find_subject_files, preprocess_to_files

cfg = snakemake.params.cfg
subject = snakemake.wildcards.subject
stimuli = read_tsv(snakemake.input.stimuli, required=("stim_id", "split"))
files = find_subject_files(Path(snakemake.params.bids_root), subject, cfg["task"], cfg)
responses, glmsingle = preprocess_to_files(
    files, stimuli, cfg, Path(snakemake.output.responses), Path(snakemake.output.trials),
    progress=lambda items, desc: progress(items, f"{desc} sub-{subject}"))
out_dir = Path(snakemake.output.manifest).parent
write_json_atomic(out_dir.parent / "dataset_description.json",
                  derivatives_description("neurorecon fMRI responses", "single-trial GLM responses"))
inputs = [p for run in files.runs for p in (run.bold, run.events, run.confounds) if p is not None]
write_manifest(out_dir, stage="preprocess", config=cfg, inputs=[files.mask, *inputs, snakemake.input.stimuli],
               outputs=[snakemake.output.responses, snakemake.output.trials], started=started,
               code_version=snakemake.params.code,
               extra={"subject": subject, "n_rows": int(responses.values.shape[0]),
                      "n_voxels": int(responses.values.shape[1]),
                      **({} if glmsingle is None else {"glmsingle": glmsingle.summary()})})
if glmsingle is not None:
    for note in glmsingle.notes:
        print(f"sub-{subject}: {note}", file=sys.stderr)
