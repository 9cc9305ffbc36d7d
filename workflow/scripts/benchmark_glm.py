"""Rule benchmark_glm: the batched single-trial GLM against nilearn's run_glm per design."""

from pathlib import Path

from _common import begin, progress

begin(snakemake)

from neurorecon.artifacts import write_text_atomic
from neurorecon.io.inputs import read_tsv
from neurorecon.preprocess.fmri import benchmark_glm, find_subject_files

cfg = snakemake.params.cfg
subject = snakemake.params.subject
stimuli = read_tsv(snakemake.input.stimuli, required=("stim_id", "split"))
files = find_subject_files(Path(snakemake.params.bids_root), subject, cfg["task"], cfg)
table = benchmark_glm(files, stimuli, cfg, snakemake.params.bench["runs"],
                      progress=lambda items, desc: progress(items, f"{desc} sub-{subject}"))
table.insert(0, "subject", subject)
write_text_atomic(snakemake.output.table, table.to_csv(sep="\t", index=False, float_format="%.6g"))
