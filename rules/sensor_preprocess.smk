# EEG / sEEG preprocessing with MNE from BIDS recordings (synthetic or a user's dataset).


rule preprocess_eeg:
    input:
        unpack(sensor_recording_input("eeg")),
        stimuli=STIMULI_TSV,
    output:
        responses=f"{sensor_outputs('eeg', 'preprocess')}/responses.npz",
        trials=f"{sensor_outputs('eeg', 'preprocess')}/trials.tsv",
        noise_free=f"{sensor_outputs('eeg', 'preprocess')}/noise_free.npz",
        conditions=f"{sensor_outputs('eeg', 'preprocess')}/conditions.npz",
        manifest=f"{sensor_outputs('eeg', 'preprocess')}/manifest.json",
    log:
        f"logs/preprocess/eeg-{LAYOUT.versions['preprocess_eeg']}/sub-{{sensor_subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/preprocess_eeg/preprocess/eeg-{LAYOUT.versions['preprocess_eeg']}/sub-{{sensor_subject}}.tsv"
    conda:
        "../envs/sensors.yaml"
    threads: 1
    resources:
        mem_mb=memory_for_inputs(2000, 10),
        runtime=20,
    params:
        cfg=stage_config("preprocess", "eeg"),
        modality="eeg",
        bids_root=SENSOR_ROOTS["eeg"],
        code=script_code_hash("preprocess_sensors.py"),
    script:
        "../workflow/scripts/preprocess_sensors.py"


use rule preprocess_eeg as preprocess_seeg with:
    input:
        unpack(sensor_recording_input("seeg")),
        stimuli=STIMULI_TSV,
    output:
        responses=f"{sensor_outputs('seeg', 'preprocess')}/responses.npz",
        trials=f"{sensor_outputs('seeg', 'preprocess')}/trials.tsv",
        noise_free=f"{sensor_outputs('seeg', 'preprocess')}/noise_free.npz",
        conditions=f"{sensor_outputs('seeg', 'preprocess')}/conditions.npz",
        manifest=f"{sensor_outputs('seeg', 'preprocess')}/manifest.json",
    log:
        f"logs/preprocess/seeg-{LAYOUT.versions['preprocess_seeg']}/sub-{{sensor_subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/preprocess_seeg/preprocess/seeg-{LAYOUT.versions['preprocess_seeg']}/sub-{{sensor_subject}}.tsv"
    resources:
        mem_mb=memory_for_inputs(2000, 10),
        runtime=20,
    params:
        cfg=stage_config("preprocess", "seeg"),
        modality="seeg",
        bids_root=SENSOR_ROOTS["seeg"],
        code=script_code_hash("preprocess_sensors.py"),
