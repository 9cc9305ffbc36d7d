"""Rule synth_eeg_dataset / synth_seeg_dataset: the top-level files of a synthetic EEG or sEEG BIDS dataset."""

from pathlib import Path

from _common import begin

begin(snakemake)

from neurorecon.synth.sensors import write_sensor_dataset_description

write_sensor_dataset_description(Path(snakemake.output.description).parent, snakemake.params.name,
                                 snakemake.params.cfg, snakemake.params.subjects)
