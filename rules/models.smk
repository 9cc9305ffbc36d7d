# `snakemake train_models`: train the five tiny models with the config's tiny settings and ship them
# in models/ (the copies a default run loads). The training jobs are the ones a run with
# `weights: train` uses, writing into results/models/shipped-<version>/ instead.
# `snakemake train_image_model`: train and ship only the image UNet and its control branch, on the
# shipped CLIP and VAE; `snakemake train_video_model`: only the video UNet, on the three shipped
# models; `snakemake train_shape_model`: only the shape generator, on the shipped CLIP.


use rule train_tiny_clip as ship_tiny_clip with:
    output:
        config=f"{SHIP}/clip/open_clip_config.json",
        weights=f"{SHIP}/clip/open_clip_model.safetensors",
        history=f"{SHIP}/clip/training.tsv",
        manifest=f"{SHIP}/clip/manifest.json",
    log:
        f"logs/models/shipped-{SHIP_VERSION}/clip.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ship_tiny_clip/models/shipped-{SHIP_VERSION}/clip.tsv"


use rule train_tiny_vae as ship_tiny_vae with:
    output:
        config=f"{SHIP}/vae/config.json",
        weights=f"{SHIP}/vae/diffusion_pytorch_model.safetensors",
        history=f"{SHIP}/vae/training.tsv",
        manifest=f"{SHIP}/vae/manifest.json",
    log:
        f"logs/models/shipped-{SHIP_VERSION}/vae.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ship_tiny_vae/models/shipped-{SHIP_VERSION}/vae.tsv"


use rule train_tiny_diffusion as ship_tiny_diffusion with:
    input:
        unpack(tiny_training_stimuli("reconstruct", "diffusion", "tiny")),
        clip_config=rules.ship_tiny_clip.output.config,
        vae_config=rules.ship_tiny_vae.output.config,
    output:
        config=f"{SHIP}/diffusion/unet/config.json",
        weights=f"{SHIP}/diffusion/unet/diffusion_pytorch_model.safetensors",
        scheduler=f"{SHIP}/diffusion/scheduler/scheduler_config.json",
        controlnet=f"{SHIP}/diffusion/controlnet/config.json",
        history=f"{SHIP}/diffusion/training.tsv",
        manifest=f"{SHIP}/diffusion/manifest.json",
    log:
        f"logs/models/shipped-{SHIP_VERSION}/diffusion.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ship_tiny_diffusion/models/shipped-{SHIP_VERSION}/diffusion.tsv"
    params:
        cfg=stage_config("reconstruct", "diffusion", "tiny"),
        clip={"model": "tiny", "pretrained": None},
        vae={"model": "tiny", "subfolder": None},
        clip_dir=folder_above("input.clip_config", 1),
        vae_dir=folder_above("input.vae_config", 1),
        code=script_code_hash("train_tiny_diffusion.py"),


use rule train_tiny_diffusion as ship_image_on_shipped with:
    input:
        unpack(tiny_training_stimuli("reconstruct", "diffusion", "tiny")),
        clip_config=str(MODELS / "clip" / "open_clip_config.json"),
        vae_config=str(MODELS / "vae" / "config.json"),
    output:
        config=f"{SHIP}/image-only/diffusion/unet/config.json",
        weights=f"{SHIP}/image-only/diffusion/unet/diffusion_pytorch_model.safetensors",
        scheduler=f"{SHIP}/image-only/diffusion/scheduler/scheduler_config.json",
        controlnet=f"{SHIP}/image-only/diffusion/controlnet/config.json",
        history=f"{SHIP}/image-only/diffusion/training.tsv",
        manifest=f"{SHIP}/image-only/diffusion/manifest.json",
    log:
        f"logs/models/shipped-{SHIP_VERSION}/image-only.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ship_image_on_shipped/models/shipped-{SHIP_VERSION}/diffusion.tsv"
    params:
        cfg=stage_config("reconstruct", "diffusion", "tiny"),
        clip={"model": "tiny", "pretrained": None},
        vae={"model": "tiny", "subfolder": None},
        clip_dir=folder_above("input.clip_config", 1),
        vae_dir=folder_above("input.vae_config", 1),
        code=script_code_hash("train_tiny_diffusion.py"),


use rule train_tiny_video as ship_tiny_video with:
    input:
        clip_config=rules.ship_tiny_clip.output.config,
        vae_config=rules.ship_tiny_vae.output.config,
        diffusion_config=rules.ship_tiny_diffusion.output.config,
    output:
        config=f"{SHIP}/video/unet/config.json",
        weights=f"{SHIP}/video/unet/diffusion_pytorch_model.safetensors",
        tokens=f"{SHIP}/video/motion_tokens/model.safetensors",
        scheduler=f"{SHIP}/video/scheduler/scheduler_config.json",
        history=f"{SHIP}/video/training.tsv",
        manifest=f"{SHIP}/video/manifest.json",
    log:
        f"logs/models/shipped-{SHIP_VERSION}/video.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ship_tiny_video/models/shipped-{SHIP_VERSION}/video.tsv"
    params:
        cfg=stage_config("reconstruct", "video", "tiny"),
        clip={"model": "tiny", "pretrained": None},
        vae={"model": "tiny", "subfolder": None},
        clip_dir=folder_above("input.clip_config", 1),
        vae_dir=folder_above("input.vae_config", 1),
        diffusion_dir=folder_above("input.diffusion_config", 2),
        code=script_code_hash("train_tiny_video.py"),


use rule train_tiny_video as ship_video_on_shipped with:
    input:
        clip_config=str(MODELS / "clip" / "open_clip_config.json"),
        vae_config=str(MODELS / "vae" / "config.json"),
        diffusion_config=str(MODELS / "diffusion" / "unet" / "config.json"),
    output:
        config=f"{SHIP}/video-only/video/unet/config.json",
        weights=f"{SHIP}/video-only/video/unet/diffusion_pytorch_model.safetensors",
        tokens=f"{SHIP}/video-only/video/motion_tokens/model.safetensors",
        scheduler=f"{SHIP}/video-only/video/scheduler/scheduler_config.json",
        history=f"{SHIP}/video-only/video/training.tsv",
        manifest=f"{SHIP}/video-only/video/manifest.json",
    log:
        f"logs/models/shipped-{SHIP_VERSION}/video-only.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ship_video_on_shipped/models/shipped-{SHIP_VERSION}/video.tsv"
    params:
        cfg=stage_config("reconstruct", "video", "tiny"),
        clip={"model": "tiny", "pretrained": None},
        vae={"model": "tiny", "subfolder": None},
        clip_dir=folder_above("input.clip_config", 1),
        vae_dir=folder_above("input.vae_config", 1),
        diffusion_dir=folder_above("input.diffusion_config", 2),
        code=script_code_hash("train_tiny_video.py"),


use rule train_tiny_shape as ship_tiny_shape with:
    input:
        clip_config=rules.ship_tiny_clip.output.config,
    output:
        config=f"{SHIP}/shape/config.json",
        weights=f"{SHIP}/shape/model.safetensors",
        history=f"{SHIP}/shape/training.tsv",
        manifest=f"{SHIP}/shape/manifest.json",
    log:
        f"logs/models/shipped-{SHIP_VERSION}/shape.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ship_tiny_shape/models/shipped-{SHIP_VERSION}/shape.tsv"
    params:
        cfg=stage_config("reconstruct", "shape", "tiny"),
        clip={"model": "tiny", "pretrained": None},
        clip_dir=folder_above("input.clip_config", 1),
        code=script_code_hash("train_tiny_shape.py"),


use rule train_tiny_shape as ship_shape_on_shipped with:
    input:
        clip_config=str(MODELS / "clip" / "open_clip_config.json"),
    output:
        config=f"{SHIP}/shape-only/shape/config.json",
        weights=f"{SHIP}/shape-only/shape/model.safetensors",
        history=f"{SHIP}/shape-only/shape/training.tsv",
        manifest=f"{SHIP}/shape-only/shape/manifest.json",
    log:
        f"logs/models/shipped-{SHIP_VERSION}/shape-only.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ship_shape_on_shipped/models/shipped-{SHIP_VERSION}/shape.tsv"
    params:
        cfg=stage_config("reconstruct", "shape", "tiny"),
        clip={"model": "tiny", "pretrained": None},
        clip_dir=folder_above("input.clip_config", 1),
        code=script_code_hash("train_tiny_shape.py"),


rule train_models:
    input:
        clip=rules.ship_tiny_clip.output.manifest,
        vae=rules.ship_tiny_vae.output.manifest,
        diffusion=rules.ship_tiny_diffusion.output.manifest,
        video=rules.ship_tiny_video.output.manifest,
        shape=rules.ship_tiny_shape.output.manifest,
    output:
        manifest=str(MODELS / "manifest.json"),
    log:
        "logs/models/train_models.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_models/models/shipped-{SHIP_VERSION}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        configs={kind: stage_config(first, second, "tiny") for kind, (first, second) in SECTIONS.items()},
        models_dir=folder_above("output.manifest", 1),
        code=script_code_hash("train_models.py"),
    script:
        "../workflow/scripts/train_models.py"


# ships into models/ like train_models, but only the video UNet; a target name, as its output is the same file
rule train_video_model:
    input:
        video=rules.ship_video_on_shipped.output.manifest,
    output:
        stamp=f"{SHIP}/video-only/shipped.txt",
    log:
        "logs/models/train_video_model.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_video_model/models/shipped-{SHIP_VERSION}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        configs={"video": stage_config("reconstruct", "video", "tiny")},
        models_dir=str(MODELS),
        code=script_code_hash("train_models.py"),
    script:
        "../workflow/scripts/train_models.py"


# ships into models/ like train_models, but only the image UNet and its control branch (on the shipped CLIP and VAE)
rule train_image_model:
    input:
        diffusion=rules.ship_image_on_shipped.output.manifest,
    output:
        stamp=f"{SHIP}/image-only/shipped.txt",
    log:
        "logs/models/train_image_model.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_image_model/models/shipped-{SHIP_VERSION}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        configs={"diffusion": stage_config("reconstruct", "diffusion", "tiny")},
        models_dir=str(MODELS),
        code=script_code_hash("train_models.py"),
    script:
        "../workflow/scripts/train_models.py"


# ships into models/ like train_models, but only the shape generator (on the shipped CLIP)
rule train_shape_model:
    input:
        shape=rules.ship_shape_on_shipped.output.manifest,
    output:
        stamp=f"{SHIP}/shape-only/shipped.txt",
    log:
        "logs/models/train_shape_model.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_shape_model/models/shipped-{SHIP_VERSION}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        configs={"shape": stage_config("reconstruct", "shape", "tiny")},
        models_dir=str(MODELS),
        code=script_code_hash("train_models.py"),
    script:
        "../workflow/scripts/train_models.py"
