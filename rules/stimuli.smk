# Stage "stimuli": CLIP image and text embeddings of every stimulus.


rule train_tiny_clip:
    input:
        unpack(tiny_training_stimuli("stimuli", "clip", "tiny")),
    output:
        config=f"{STIM}/model/open_clip_config.json",
        weights=f"{STIM}/model/open_clip_model.safetensors",
        history=f"{STIM}/model/training.tsv",
        manifest=f"{STIM}/model/manifest.json",
    log:
        f"logs/stimuli/{LAYOUT.versions['stimuli']}/train_tiny_clip.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_tiny_clip/stimuli/{LAYOUT.versions['stimuli']}/train_tiny_clip.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=training_runtime(("stimuli", "clip", "tiny"), "n_pairs", 0.005, 30),
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=stage_config("stimuli", "clip", "tiny"),
        code=script_code_hash("train_tiny_clip.py"),
    script:
        "../workflow/scripts/train_tiny_clip.py"


rule embed_stimuli:
    input:
        unpack(clip_model_input),
        stimuli=STIMULI_TSV,
    output:
        embeddings=f"{STIM}/embeddings.npz",
        retrieval=f"{STIM}/caption_retrieval.json",
        manifest=f"{STIM}/manifest.json",
    log:
        f"logs/stimuli/{LAYOUT.versions['stimuli']}/embed_stimuli.log",
    benchmark:
        f"{JOB_BENCHMARKS}/embed_stimuli/stimuli/{LAYOUT.versions['stimuli']}/embed_stimuli.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=3000 if TINY_CLIP else 12000,
        runtime=30,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        clip=stage_config("stimuli", "clip"),
        code=script_code_hash("embed_stimuli.py"),
        model_dir=CLIP_DIR,
    script:
        "../workflow/scripts/embed_stimuli.py"


rule structure_maps:
    input:
        stimuli=STIMULI_TSV,
    output:
        maps=f"{STIM}/structure/structure.npz",
        manifest=f"{STIM}/structure/manifest.json",
    log:
        f"logs/stimuli/{LAYOUT.versions['stimuli']}/structure_maps.log",
    benchmark:
        f"{JOB_BENCHMARKS}/structure_maps/stimuli/{LAYOUT.versions['stimuli']}/structure_maps.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=stage_config("stimuli", "structure"),
        code=script_code_hash("structure_maps.py"),
    script:
        "../workflow/scripts/structure_maps.py"
