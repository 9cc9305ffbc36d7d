# Images from EEG / sEEG (reconstruct.sensors): the fMRI reconstruction and image-evaluation scripts,
# run on a sensor modality's responses, noise-free rows and encoder (one set of rules per modality).


for _modality in LAYOUT.sensor_images:
    _pre = f"{LAYOUT.folders[f'preprocess_{_modality}']}/sub-{{sensor_subject}}"
    _dec = f"{LAYOUT.folders[f'decode_{_modality}']}/sub-{{sensor_subject}}"
    _low = f"{LAYOUT.folders[f'lowlevel_{_modality}']}/sub-{{sensor_subject}}"
    _rec = f"{LAYOUT.folders[f'reconstruct_{_modality}']}/sub-{{sensor_subject}}"
    _eval = f"{LAYOUT.folders[f'evaluate_image_{_modality}']}/sub-{{sensor_subject}}"

    rule:
        name:
            f"reconstruct_lowlevel_{_modality}"
        input:
            unpack(vae_input),
            responses=f"{_pre}/responses.npz",
            trials=f"{_pre}/trials.tsv",
            noise_free=f"{_pre}/noise_free.npz",
            stimuli=STIMULI_TSV,
        output:
            reconstructions=f"{_low}/reconstructions.npz",
            weights=f"{_low}/ridge.safetensors",
            manifest=f"{_low}/manifest.json",
        log:
            f"logs/reconstruct/lowlevel-{_modality}-{LAYOUT.versions[f'lowlevel_{_modality}']}/sub-{{sensor_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/reconstruct_lowlevel_{_modality}/reconstruct/lowlevel-{_modality}-{LAYOUT.versions[f'lowlevel_{_modality}']}/sub-{{sensor_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=20,
            gpu=GPUS,
            gpu_model=GPU_MODEL,
        params:
            cfg={**stage_config("reconstruct", "lowlevel"), "rois": None},  # sensor features have no ROIs
            vae=stage_config("reconstruct", "vae"),
            vae_dir=VAE_DIR,
            code=script_code_hash("reconstruct_lowlevel.py"),
        script:
            "../workflow/scripts/reconstruct_lowlevel.py"

    rule:
        name:
            f"reconstruct_images_{_modality}"
        input:
            unpack(vae_input),
            unpack(diffusion_input),
            unpack(clip_model_input),
            decoder=f"{_dec}/model/model.safetensors",
            decoder_spec=f"{_dec}/model/model.json",
            predictions=f"{_dec}/predictions.npz",
            lowlevel=f"{_low}/reconstructions.npz",
            responses=f"{_pre}/responses.npz",
            trials=f"{_pre}/trials.tsv",
            noise_free=f"{_pre}/noise_free.npz",
        output:
            reconstructions=f"{_rec}/reconstructions.npz",
            manifest=f"{_rec}/manifest.json",
        log:
            f"logs/reconstruct/images-{_modality}-{LAYOUT.versions[f'reconstruct_{_modality}']}/sub-{{sensor_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/reconstruct_images_{_modality}/reconstruct/images-{_modality}-{LAYOUT.versions[f'reconstruct_{_modality}']}/sub-{{sensor_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=3000 if TINY_DIFFUSION else 16000,
            runtime=60,
            gpu=GPUS,
            gpu_model=GPU_MODEL,
        params:
            sampling=stage_config("reconstruct", "sampling"),
            diffusion=stage_config("reconstruct", "diffusion"),
            vae=stage_config("reconstruct", "vae"),
            clip=stage_config("stimuli", "clip"),
            clip_dir=CLIP_DIR,
            vae_dir=VAE_DIR,
            diffusion_dir=DIFF_DIR,
            code=script_code_hash("reconstruct_images.py"),
        script:
            "../workflow/scripts/reconstruct_images.py"

    rule:
        name:
            f"evaluate_images_{_modality}"
        input:
            unpack(clip_model_input),
            unpack(judge_input),
            **({"final": f"{_rec}/reconstructions.npz"} if DIFFUSION else {}),
            lowlevel=f"{_low}/reconstructions.npz",
            embeddings=rules.embed_stimuli.output.embeddings,
            stimuli=STIMULI_TSV,
        output:
            metrics=f"{_eval}/metrics.tsv",
            manifest=f"{_eval}/manifest.json",
        log:
            f"logs/evaluate/image-{_modality}-{LAYOUT.versions[f'evaluate_image_{_modality}']}/sub-{{sensor_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/evaluate_images_{_modality}/evaluate/image-{_modality}-{LAYOUT.versions[f'evaluate_image_{_modality}']}/sub-{{sensor_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=20,
        params:
            cfg=stage_config("evaluate", "image"),
            clip=stage_config("stimuli", "clip"),
            clip_dir=CLIP_DIR,
            methods={"lowlevel": "ridge-lowlevel", "diffusion": "encoder-diffusion"},
            modality=_modality,
            code=script_code_hash("evaluate_images.py"),
        script:
            "../workflow/scripts/evaluate_images.py"
