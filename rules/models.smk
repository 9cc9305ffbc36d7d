# `snakemake train_models`: train the three tiny models with the config's tiny settings and ship them
# in models/ (the copies a default run loads). The training jobs are the ones a run with
# `weights: train` uses, writing into results/models/shipped-<version>/ instead.


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


rule train_models:
    input:
        clip=rules.ship_tiny_clip.output.manifest,
        vae=rules.ship_tiny_vae.output.manifest,
        diffusion=rules.ship_tiny_diffusion.output.manifest,
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
        code=script_code_hash("train_models.py"),
    script:
        "../workflow/scripts/train_models.py"
