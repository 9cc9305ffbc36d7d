# EEG and sEEG: synthetic recordings (or BIDS in place) -> MNE preprocessing -> encoders into the
# CLIP image space -> zero-shot evaluation. The sEEG rules reuse the EEG ones with their own folders.


if LAYOUT.synthetic:

    rule synth_eeg_dataset:
        input:
            stimuli=STIMULI_TSV,
        output:
            description=f"{SENSOR_ROOTS['eeg']}/dataset_description.json",
        log:
            f"logs/data/eeg-{LAYOUT.versions['data_eeg']}/dataset.log",
        benchmark:
            f"{JOB_BENCHMARKS}/synth_eeg_dataset/data/eeg-{LAYOUT.versions['data_eeg']}/dataset.tsv"
        conda:
            "../envs/sensors.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            cfg=stage_config("data", "synthetic", "eeg"),
            name="neurorecon synthetic EEG",
            subjects=SENSOR_SUBJECTS["eeg"],
            code=script_code_hash("synth_sensor_dataset.py"),
        script:
            "../workflow/scripts/synth_sensor_dataset.py"

    use rule synth_eeg_dataset as synth_seeg_dataset with:
        output:
            description=f"{SENSOR_ROOTS['seeg']}/dataset_description.json",
        log:
            f"logs/data/seeg-{LAYOUT.versions['data_seeg']}/dataset.log",
        benchmark:
            f"{JOB_BENCHMARKS}/synth_seeg_dataset/data/seeg-{LAYOUT.versions['data_seeg']}/dataset.tsv"
        params:
            cfg=stage_config("data", "synthetic", "seeg"),
            name="neurorecon synthetic sEEG",
            subjects=SENSOR_SUBJECTS["seeg"],
            code=script_code_hash("synth_sensor_dataset.py"),

    rule synth_eeg_subject:
        input:
            world=f"{GROUNDTRUTH}/world.npz",
            stimuli=STIMULI_TSV,
            description=rules.synth_eeg_dataset.output.description,
        output:
            truth=sensor_truth("eeg"),
            manifest=f"{SENSOR_ROOTS['eeg']}/derivatives/groundtruth/sub-{{sensor_subject}}/manifest.json",
        log:
            f"logs/data/eeg-{LAYOUT.versions['data_eeg']}/sub-{{sensor_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/synth_eeg_subject/data/eeg-{LAYOUT.versions['data_eeg']}/sub-{{sensor_subject}}.tsv"
        conda:
            "../envs/sensors.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            cfg=stage_config("data", "synthetic", "eeg"),
            seed=config["data"]["synthetic"]["seed"],
            modality="eeg",
            subjects=SENSOR_SUBJECTS["eeg"],
            bids_root=folder_above("output.truth", 4),
            code=script_code_hash("synth_sensor_subject.py"),
        script:
            "../workflow/scripts/synth_sensor_subject.py"

    use rule synth_eeg_subject as synth_seeg_subject with:
        input:
            world=f"{GROUNDTRUTH}/world.npz",
            stimuli=STIMULI_TSV,
            description=rules.synth_seeg_dataset.output.description,
        output:
            truth=sensor_truth("seeg"),
            manifest=f"{SENSOR_ROOTS['seeg']}/derivatives/groundtruth/sub-{{sensor_subject}}/manifest.json",
        log:
            f"logs/data/seeg-{LAYOUT.versions['data_seeg']}/sub-{{sensor_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/synth_seeg_subject/data/seeg-{LAYOUT.versions['data_seeg']}/sub-{{sensor_subject}}.tsv"
        resources:
            mem_mb=3000,
            runtime=10,
        params:
            cfg=stage_config("data", "synthetic", "seeg"),
            seed=config["data"]["synthetic"]["seed"],
            modality="seeg",
            subjects=SENSOR_SUBJECTS["seeg"],
            bids_root=folder_above("output.truth", 4),
            code=script_code_hash("synth_sensor_subject.py"),


if LAYOUT.source in ("synthetic", "bids"):

    include: "sensor_preprocess.smk"


rule decode_eeg:
    input:
        responses=sensor_preprocessed("eeg", "responses"),
        trials=sensor_preprocessed("eeg", "trials"),
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        weights=f"{sensor_outputs('eeg', 'decode')}/model/model.safetensors",
        spec=f"{sensor_outputs('eeg', 'decode')}/model/model.json",
        ridge=f"{sensor_outputs('eeg', 'decode')}/ridge/ridge.safetensors",
        predictions=f"{sensor_outputs('eeg', 'decode')}/predictions.npz",
        ridge_predictions=f"{sensor_outputs('eeg', 'decode')}/ridge/predictions.npz",
        history=f"{sensor_outputs('eeg', 'decode')}/training.tsv",
        manifest=f"{sensor_outputs('eeg', 'decode')}/manifest.json",
    log:
        f"logs/decode/eeg-{LAYOUT.versions['decode_eeg']}/sub-{{sensor_subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/decode_eeg/decode/eeg-{LAYOUT.versions['decode_eeg']}/sub-{{sensor_subject}}.tsv"
    conda:
        "../envs/sensors.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=stage_config("decode", "eeg"),
        modality="eeg",
        code=script_code_hash("decode_sensors.py"),
    script:
        "../workflow/scripts/decode_sensors.py"


use rule decode_eeg as decode_seeg with:
    input:
        responses=sensor_preprocessed("seeg", "responses"),
        trials=sensor_preprocessed("seeg", "trials"),
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        weights=f"{sensor_outputs('seeg', 'decode')}/model/model.safetensors",
        spec=f"{sensor_outputs('seeg', 'decode')}/model/model.json",
        ridge=f"{sensor_outputs('seeg', 'decode')}/ridge/ridge.safetensors",
        predictions=f"{sensor_outputs('seeg', 'decode')}/predictions.npz",
        ridge_predictions=f"{sensor_outputs('seeg', 'decode')}/ridge/predictions.npz",
        history=f"{sensor_outputs('seeg', 'decode')}/training.tsv",
        manifest=f"{sensor_outputs('seeg', 'decode')}/manifest.json",
    log:
        f"logs/decode/seeg-{LAYOUT.versions['decode_seeg']}/sub-{{sensor_subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/decode_seeg/decode/seeg-{LAYOUT.versions['decode_seeg']}/sub-{{sensor_subject}}.tsv"
    params:
        cfg=stage_config("decode", "seeg"),
        modality="seeg",
        code=script_code_hash("decode_sensors.py"),


rule evaluate_eeg:
    input:
        responses=sensor_preprocessed("eeg", "responses"),
        trials=sensor_preprocessed("eeg", "trials"),
        noise_free=sensor_preprocessed("eeg", "noise_free"),
        weights=rules.decode_eeg.output.weights,
        ridge=rules.decode_eeg.output.ridge,
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        metrics=f"{sensor_outputs('eeg', 'evaluate')}/metrics.tsv",
        manifest=f"{sensor_outputs('eeg', 'evaluate')}/manifest.json",
    log:
        f"logs/evaluate/eeg-{LAYOUT.versions['evaluate_eeg']}/sub-{{sensor_subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/evaluate_eeg/evaluate/eeg-{LAYOUT.versions['evaluate_eeg']}/sub-{{sensor_subject}}.tsv"
    conda:
        "../envs/sensors.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=image_evaluation_config(),
        modality="eeg",
        category=stage_config("decode", "eeg", "category"),
        code=script_code_hash("evaluate_sensors.py"),
    script:
        "../workflow/scripts/evaluate_sensors.py"


use rule evaluate_eeg as evaluate_seeg with:
    input:
        responses=sensor_preprocessed("seeg", "responses"),
        trials=sensor_preprocessed("seeg", "trials"),
        noise_free=sensor_preprocessed("seeg", "noise_free"),
        weights=rules.decode_seeg.output.weights,
        ridge=rules.decode_seeg.output.ridge,
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        metrics=f"{sensor_outputs('seeg', 'evaluate')}/metrics.tsv",
        manifest=f"{sensor_outputs('seeg', 'evaluate')}/manifest.json",
    log:
        f"logs/evaluate/seeg-{LAYOUT.versions['evaluate_seeg']}/sub-{{sensor_subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/evaluate_seeg/evaluate/seeg-{LAYOUT.versions['evaluate_seeg']}/sub-{{sensor_subject}}.tsv"
    params:
        cfg=image_evaluation_config(),
        modality="seeg",
        category=stage_config("decode", "seeg", "category"),
        code=script_code_hash("evaluate_sensors.py"),
