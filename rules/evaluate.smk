# Stage "evaluate": retrieval and identification metrics with chance and noise ceiling.


rule evaluate_embeddings:
    input:
        unpack(groundtruth_input),
        weights=rules.decode_ridge.output.weights,
        info=rules.decode_ridge.output.info,
        predictions=rules.decode_ridge.output.predictions,
        responses=RESPONSES,
        trials=TRIALS,
        embeddings=rules.embed_stimuli.output.embeddings,
    output:
        metrics=f"{EVAL}/sub-{{subject}}/metrics.tsv",
        manifest=f"{EVAL}/sub-{{subject}}/manifest.json",
    params:
        cfg=stage_config("evaluate"),
        code=script_code_hash("evaluate_embeddings.py"),
        method="ridge",
    log:
        f"logs/evaluate/{LAYOUT.versions['evaluate']}/sub-{{subject}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/neuro.yaml"
    script:
        "../workflow/scripts/evaluate_embeddings.py"


rule evaluate_images:
    input:
        unpack(clip_model_input),
        unpack(final_reconstructions),
        lowlevel=rules.reconstruct_lowlevel.output.reconstructions,
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        metrics=f"{EVAL_IMAGE}/sub-{{subject}}/metrics.tsv",
        manifest=f"{EVAL_IMAGE}/sub-{{subject}}/manifest.json",
    params:
        cfg=stage_config("evaluate", "image"),
        clip=stage_config("stimuli", "clip"),
        clip_dir=f"{STIM}/model",
        method="ridge",
        code=script_code_hash("evaluate_images.py"),
    log:
        f"logs/evaluate/{LAYOUT.versions['evaluate_image']}/images_sub-{{subject}}.log",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../envs/diffusion.yaml"
    script:
        "../workflow/scripts/evaluate_images.py"
