# THINGS-EEG2: the data stage exports the images; the preprocess stage reads the release's
# preprocessed epochs into the same responses contract as preprocess_eeg (no MNE steps rerun).


rule things_eeg2_stimuli:
    output:
        stimuli=STIMULI_TSV,
        manifest=f"{DATA}/manifest.json",
    log:
        f"logs/data/{LAYOUT.versions['data']}/things_eeg2_stimuli.log",
    benchmark:
        f"{JOB_BENCHMARKS}/things_eeg2_stimuli/data/{LAYOUT.versions['data']}/things_eeg2_stimuli.tsv"
    conda:
        "../envs/sensors.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        cfg=stage_config("data", "things-eeg2"),
        code=script_code_hash("things_eeg2_stimuli.py"),
    script:
        "../workflow/scripts/things_eeg2_stimuli.py"


rule ingest_things_eeg2:
    input:
        stimuli=STIMULI_TSV,
    output:
        responses=sensor_preprocessed("eeg", "responses"),
        trials=sensor_preprocessed("eeg", "trials"),
        noise_free=sensor_preprocessed("eeg", "noise_free"),
        conditions=f"{sensor_outputs('eeg', 'preprocess')}/conditions.npz",
        manifest=f"{sensor_outputs('eeg', 'preprocess')}/manifest.json",
    log:
        f"logs/preprocess/eeg-{LAYOUT.versions['preprocess_eeg']}/sub-{{sensor_subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ingest_things_eeg2/preprocess/eeg-{LAYOUT.versions['preprocess_eeg']}/sub-{{sensor_subject}}.tsv"
    conda:
        "../envs/sensors.yaml"
    threads: 1
    resources:
        mem_mb=16000,
        runtime=60,
    params:
        cfg=stage_config("data", "things-eeg2"),
        preprocess=stage_config("preprocess", "eeg"),
        code=script_code_hash("ingest_things_eeg2.py"),
    script:
        "../workflow/scripts/ingest_things_eeg2.py"
