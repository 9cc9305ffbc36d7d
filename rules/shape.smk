# 3D: objects seen turning, in fMRI-Shape's layout (the synthetic world's, written by rule
# synth_shapes in rules/data.smk, or fMRI-Shape's own) -> view embeddings, shape codes, colours and
# blurry views as targets -> ridge decoders per subject -> meshes generated from them -> metrics.


# trained where the config uses the tiny generator with weights: train, and by `snakemake train_models`
rule train_tiny_shape:
    input:
        clip_config=tiny_model_file("clip", "open_clip_config.json"),
    output:
        config=f"{SHAPE_MODEL}/model/config.json",
        weights=f"{SHAPE_MODEL}/model/model.safetensors",
        history=f"{SHAPE_MODEL}/model/training.tsv",
        manifest=f"{SHAPE_MODEL}/manifest.json",
    log:
        f"logs/models/shape-{LAYOUT.versions.get('shape_model')}/train_tiny_shape.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_tiny_shape/models/shape-{LAYOUT.versions.get('shape_model')}/train_tiny_shape.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=training_runtime(("reconstruct", "shape", "tiny"), "n_objects", 0.02, 20),
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=stage_config("reconstruct", "shape", "tiny"),
        clip=stage_config("stimuli", "clip"),
        clip_dir=folder_above("input.clip_config", 1),
        code=script_code_hash("train_tiny_shape.py"),
    script:
        "../workflow/scripts/train_tiny_shape.py"


if SHAPE_SUBJECTS:

    rule shape_targets:
        input:
            unpack(clip_model_input),
            unpack(shape_basis_input),
            train_list=SHAPE_LISTS[0],
            test_list=SHAPE_LISTS[1],
        output:
            targets=f"{SHAPE_TARGETS}/targets.npz",
            manifest=f"{SHAPE_TARGETS}/manifest.json",
        log:
            f"logs/stimuli/shapes-{LAYOUT.versions.get('shape_targets')}/shape_targets.log",
        benchmark:
            f"{JOB_BENCHMARKS}/shape_targets/stimuli/shapes-{LAYOUT.versions.get('shape_targets')}/shape_targets.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 2
        resources:
            mem_mb=3000 if TINY_CLIP else 12000,
            runtime=30,
            gpu=GPUS,
            gpu_model=GPU_MODEL,
        params:
            clip=stage_config("stimuli", "clip"),
            code=script_code_hash("shape_targets.py"),
            model_dir=CLIP_DIR,
            shape_dir=SHAPE_MODEL_DIR,
            files=SHAPE_FILES,
            data_dir=folder_above("input.train_list", 1),
        script:
            "../workflow/scripts/shape_targets.py"

    rule decode_shape:
        input:
            train_list=SHAPE_LISTS[0],
            test_list=SHAPE_LISTS[1],
            targets=rules.shape_targets.output.targets,
        output:
            predictions=f"{SHAPE_DECODE}/{{shape_subject}}/predictions.npz",
            manifest=f"{SHAPE_DECODE}/{{shape_subject}}/manifest.json",
        log:
            f"logs/decode/shapes-{LAYOUT.versions.get('decode_shape')}/{{shape_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/decode_shape/decode/shapes-{LAYOUT.versions.get('decode_shape')}/{{shape_subject}}.tsv"
        conda:
            "../envs/neuro.yaml"
        threads: 1
        resources:
            mem_mb=3000,
            runtime=20,
        params:
            cfg=stage_config("decode", "shape"),
            data_dir=folder_above("input.train_list", 1),
            code=script_code_hash("decode_shape.py"),
        script:
            "../workflow/scripts/decode_shape.py"

    rule reconstruct_shape:
        input:
            unpack(shape_generator_inputs),
            predictions=rules.decode_shape.output.predictions,
        output:
            meshes=f"{SHAPE_RECON}/{{shape_subject}}/meshes.npz",
            manifest=f"{SHAPE_RECON}/{{shape_subject}}/manifest.json",
        log:
            f"logs/reconstruct/shapes-{LAYOUT.versions.get('reconstruct_shape')}/{{shape_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/reconstruct_shape/reconstruct/shapes-{LAYOUT.versions.get('reconstruct_shape')}/{{shape_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 2
        resources:
            mem_mb=3000 if SHAPE_GENERATOR == "tiny" else 20000,
            runtime=60,
            gpu=GPUS,
            gpu_model=GPU_MODEL,
        params:
            shape=stage_config("reconstruct", "shape"),
            # the image generator draws the pictures Shap-E lifts; the tiny generator needs none of it
            vae=stage_config("reconstruct", "vae") if SHAPE_GENERATOR == "shap-e" else {},
            diffusion=stage_config("reconstruct", "diffusion") if SHAPE_GENERATOR == "shap-e" else {},
            image_sampling=stage_config("reconstruct", "sampling") if SHAPE_GENERATOR == "shap-e" else {},
            image_size=config["reconstruct"]["shape"]["tiny"]["image_size"],
            shape_dir=SHAPE_MODEL_DIR,
            vae_dir=VAE_DIR if SHAPE_GENERATOR == "shap-e" else "",
            diffusion_dir=DIFF_DIR if SHAPE_GENERATOR == "shap-e" else "",
            code=script_code_hash("reconstruct_shape.py"),
        script:
            "../workflow/scripts/reconstruct_shape.py"

    rule evaluate_shape:
        input:
            unpack(clip_model_input),
            unpack(shape_reconstructions),
            train_list=SHAPE_LISTS[0],
            test_list=SHAPE_LISTS[1],
            predictions=rules.decode_shape.output.predictions,
            targets=rules.shape_targets.output.targets,
        output:
            metrics=f"{SHAPE_EVAL}/{{shape_subject}}/metrics.tsv",
            manifest=f"{SHAPE_EVAL}/{{shape_subject}}/manifest.json",
        log:
            f"logs/evaluate/shapes-{LAYOUT.versions.get('evaluate_shape')}/{{shape_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/evaluate_shape/evaluate/shapes-{LAYOUT.versions.get('evaluate_shape')}/{{shape_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=3000 if TINY_CLIP else 12000,
            runtime=30,
            gpu=GPUS,
            gpu_model=GPU_MODEL,
        params:
            cfg=stage_config("evaluate", "shape"),
            clip=stage_config("stimuli", "clip"),
            clip_dir=CLIP_DIR,
            files=SHAPE_FILES,
            data_dir=folder_above("input.train_list", 1),
            code=script_code_hash("evaluate_shape.py"),
        script:
            "../workflow/scripts/evaluate_shape.py"
