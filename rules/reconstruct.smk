# Stage "reconstruct": the generative models (tiny ones trained here unless pretrained ones are
# configured), low-level reconstructions from responses, then final images from the generator.


rule train_tiny_vae:
    input:
        unpack(tiny_training_stimuli("reconstruct", "vae", "tiny")),
    output:
        config=f"{VAE}/model/config.json",
        weights=f"{VAE}/model/diffusion_pytorch_model.safetensors",
        history=f"{VAE}/training.tsv",
        manifest=f"{VAE}/manifest.json",
    log:
        f"logs/models/vae-{LAYOUT.versions['vae']}/train_tiny_vae.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_tiny_vae/models/vae-{LAYOUT.versions['vae']}/train_tiny_vae.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=training_runtime(("reconstruct", "vae", "tiny"), "n_images", 0.015, 30),
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=stage_config("reconstruct", "vae", "tiny"),
        code=script_code_hash("train_tiny_vae.py"),
    script:
        "../workflow/scripts/train_tiny_vae.py"


rule train_tiny_diffusion:
    input:
        unpack(clip_model_input),
        unpack(tiny_training_stimuli("reconstruct", "diffusion", "tiny")),
        unpack(vae_input),
    output:
        config=f"{DIFF}/model/unet/config.json",
        weights=f"{DIFF}/model/unet/diffusion_pytorch_model.safetensors",
        scheduler=f"{DIFF}/model/scheduler/scheduler_config.json",
        controlnet=f"{DIFF}/model/controlnet/config.json",
        history=f"{DIFF}/training.tsv",
        manifest=f"{DIFF}/manifest.json",
    log:
        f"logs/models/diffusion-{LAYOUT.versions['diffusion']}/train_tiny_diffusion.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_tiny_diffusion/models/diffusion-{LAYOUT.versions['diffusion']}/train_tiny_diffusion.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 2
    resources:
        mem_mb=3000,
        runtime=training_runtime(("reconstruct", "diffusion", "tiny"), "n_images", 0.012, 60),
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=stage_config("reconstruct", "diffusion", "tiny"),
        clip=stage_config("stimuli", "clip"),
        vae=stage_config("reconstruct", "vae"),
        clip_dir=CLIP_DIR,
        vae_dir=VAE_DIR,
        code=script_code_hash("train_tiny_diffusion.py"),
    script:
        "../workflow/scripts/train_tiny_diffusion.py"


# the video UNet: motion modules on the image UNet's layers (rules/video.smk samples with it)
rule train_tiny_video:
    input:
        unpack(video_training_inputs),
    output:
        config=f"{VIDEO_MODEL}/model/unet/config.json",
        weights=f"{VIDEO_MODEL}/model/unet/diffusion_pytorch_model.safetensors",
        tokens=f"{VIDEO_MODEL}/model/motion_tokens/model.safetensors",
        scheduler=f"{VIDEO_MODEL}/model/scheduler/scheduler_config.json",
        history=f"{VIDEO_MODEL}/training.tsv",
        manifest=f"{VIDEO_MODEL}/manifest.json",
    log:
        f"logs/models/video-{LAYOUT.versions.get('video_model')}/train_tiny_video.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_tiny_video/models/video-{LAYOUT.versions.get('video_model')}/train_tiny_video.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=training_runtime(("reconstruct", "video", "tiny"), "n_clips", 0.1, 60),
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=stage_config("reconstruct", "video", "tiny"),
        clip=stage_config("stimuli", "clip"),
        vae=stage_config("reconstruct", "vae"),
        clip_dir=folder_above("input.clip_config", 1),
        vae_dir=folder_above("input.vae_config", 1),
        diffusion_dir=folder_above("input.diffusion_config", 2),
        code=script_code_hash("train_tiny_video.py"),
    script:
        "../workflow/scripts/train_tiny_video.py"


rule reconstruct_lowlevel:
    input:
        unpack(groundtruth_input),
        unpack(vae_input),
        responses=RESPONSES,
        trials=TRIALS,
        stimuli=STIMULI_TSV,
    output:
        reconstructions=f"{LOW}/sub-{{subject}}/reconstructions.npz",
        weights=f"{LOW}/sub-{{subject}}/ridge.safetensors",
        manifest=f"{LOW}/sub-{{subject}}/manifest.json",
    log:
        f"logs/reconstruct/lowlevel-{LAYOUT.versions['lowlevel']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/reconstruct_lowlevel/reconstruct/lowlevel-{LAYOUT.versions['lowlevel']}/sub-{{subject}}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=stage_config("reconstruct", "lowlevel"),
        vae=stage_config("reconstruct", "vae"),
        vae_dir=VAE_DIR,
        code=script_code_hash("reconstruct_lowlevel.py"),
    script:
        "../workflow/scripts/reconstruct_lowlevel.py"


rule reconstruct_images:
    input:
        unpack(groundtruth_input),
        unpack(vae_input),
        unpack(diffusion_input),
        unpack(clip_model_input),
        unpack(embedding_decoder),
        unpack(decoded_inputs_input),
        lowlevel=rules.reconstruct_lowlevel.output.reconstructions,
        responses=RESPONSES,
        trials=TRIALS,
    output:
        reconstructions=f"{REC}/sub-{{subject}}/reconstructions.npz",
        manifest=f"{REC}/sub-{{subject}}/manifest.json",
    log:
        f"logs/reconstruct/images-{LAYOUT.versions['reconstruct']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/reconstruct_images/reconstruct/images-{LAYOUT.versions['reconstruct']}/sub-{{subject}}.tsv"
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
