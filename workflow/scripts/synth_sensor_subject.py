"""Rule synth_eeg_subject / synth_seeg_subject: one synthetic EEG or sEEG subject in BIDS, with ground truth."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

from neurorecon.artifacts import write_manifest
from neurorecon.io.inputs import read_tsv
from neurorecon.synth.eeg import simulate_eeg_subject
from neurorecon.synth.seeg import simulate_seeg_subject
from neurorecon.synth.world import World

modality, subject = snakemake.params.modality, snakemake.wildcards.sensor_subject
simulate = {"eeg": simulate_eeg_subject, "seeg": simulate_seeg_subject}[modality]
cfg = snakemake.params.cfg
result = simulate(World.load(Path(snakemake.input.world)), read_tsv(snakemake.input.stimuli), cfg, snakemake.params.seed,
                  snakemake.params.subjects.index(subject), Path(snakemake.params.bids_root), Path(snakemake.output.truth))
write_manifest(Path(snakemake.output.manifest).parent, stage="data", config=cfg, inputs=list(snakemake.input),
               outputs=[snakemake.output.truth], started=started, code_version=snakemake.params.code,
               extra={"subject": subject, "modality": modality, "n_trials": result["n_trials"]})
