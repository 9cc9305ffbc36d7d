# eeg-notebooks Muse recordings of a category task (e.g. the N170 faces/houses): the data stage
# exports the category images; category decoding is cross-validated; the decoded categories are
# drawn by the generator and judged.
CATEGORIES = LAYOUT.folders["categories"]
CATEGORY_IMAGES = LAYOUT.folders["reconstruct_categories"]
MUSE_SUBJECT = config["data"]["muse"]["subject"]


rule muse_stimuli:
    output:
        stimuli=STIMULI_TSV,
        manifest=f"{DATA}/manifest.json",
    log:
        f"logs/data/{LAYOUT.versions['data']}/muse_stimuli.log",
    benchmark:
        f"{JOB_BENCHMARKS}/muse_stimuli/data/{LAYOUT.versions['data']}/muse_stimuli.tsv"
    conda:
        "../envs/sensors.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=stage_config("data", "muse"),
        code=script_code_hash("muse_stimuli.py"),
    script:
        "../workflow/scripts/muse_stimuli.py"


rule decode_categories:
    input:
        stimuli=STIMULI_TSV,
        embeddings=rules.embed_stimuli.output.embeddings,
    output:
        metrics=f"{CATEGORIES}/sub-{MUSE_SUBJECT}/metrics.tsv",
        predictions=f"{CATEGORIES}/sub-{MUSE_SUBJECT}/predictions.npz",
        manifest=f"{CATEGORIES}/sub-{MUSE_SUBJECT}/manifest.json",
    log:
        f"logs/decode/categories-{LAYOUT.versions['categories']}/sub-{MUSE_SUBJECT}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/decode_categories/decode/categories-{LAYOUT.versions['categories']}/sub-{MUSE_SUBJECT}.tsv"
    conda:
        "../envs/sensors.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cfg=stage_config("decode", "categories"),
        data=stage_config("data", "muse"),
        code=script_code_hash("decode_categories.py"),
    script:
        "../workflow/scripts/decode_categories.py"


rule reconstruct_categories:
    input:
        unpack(vae_input),
        unpack(diffusion_input),
        unpack(clip_model_input),
        predictions=rules.decode_categories.output.predictions,
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        metrics=f"{CATEGORY_IMAGES}/sub-{MUSE_SUBJECT}/metrics.tsv",
        reconstructions=f"{CATEGORY_IMAGES}/sub-{MUSE_SUBJECT}/reconstructions.npz",
        manifest=f"{CATEGORY_IMAGES}/sub-{MUSE_SUBJECT}/manifest.json",
    log:
        f"logs/reconstruct/categories-{LAYOUT.versions['reconstruct_categories']}/sub-{MUSE_SUBJECT}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/reconstruct_categories/reconstruct/categories-{LAYOUT.versions['reconstruct_categories']}/sub-{MUSE_SUBJECT}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=stage_config("reconstruct", "categories"),
        sampling=stage_config("reconstruct", "sampling"),
        diffusion=stage_config("reconstruct", "diffusion"),
        vae=stage_config("reconstruct", "vae"),
        clip=stage_config("stimuli", "clip"),
        categories=stage_config("data", "muse", "categories"),
        subject=MUSE_SUBJECT,
        image_size=stage_config("data", "muse", "image_size"),
        clip_dir=CLIP_DIR,
        vae_dir=VAE_DIR,
        diffusion_dir=DIFF_DIR,
        code=script_code_hash("reconstruct_categories.py"),
    script:
        "../workflow/scripts/reconstruct_categories.py"
