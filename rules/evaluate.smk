# Stage "evaluate": retrieval and identification metrics with chance and noise ceiling.


rule evaluate_embeddings:
    input:
        unpack(groundtruth_input),
        decoder=rules.decode_ridge.output.weights,
        info=rules.decode_ridge.output.info,
        predictions=rules.decode_ridge.output.predictions,
        responses=RESPONSES,
        trials=TRIALS,
        embeddings=rules.embed_stimuli.output.embeddings,
    output:
        metrics=f"{EVAL}/sub-{{subject}}/metrics.tsv",
        manifest=f"{EVAL}/sub-{{subject}}/manifest.json",
    log:
        f"logs/evaluate/{LAYOUT.versions['evaluate']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/evaluate_embeddings/evaluate/{LAYOUT.versions['evaluate']}/sub-{{subject}}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=image_evaluation_config(),
        code=script_code_hash("evaluate_embeddings.py"),
        method="ridge",
    script:
        "../workflow/scripts/evaluate_embeddings.py"


rule train_judge:
    output:
        config=f"{JUDGE}/model/config.json",
        weights=f"{JUDGE}/model/model.safetensors",
        manifest=f"{JUDGE}/manifest.json",
    log:
        f"logs/models/judge-{LAYOUT.versions.get('judge')}/train_judge.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_judge/models/judge-{LAYOUT.versions.get('judge')}/train_judge.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        cfg=stage_config("evaluate", "judge"),
        code=script_code_hash("train_judge.py"),
    script:
        "../workflow/scripts/train_judge.py"


rule evaluate_images:
    input:
        unpack(clip_model_input),
        unpack(judge_input),
        unpack(final_reconstructions),
        lowlevel=rules.reconstruct_lowlevel.output.reconstructions,
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        metrics=f"{EVAL_IMAGE}/sub-{{subject}}/metrics.tsv",
        manifest=f"{EVAL_IMAGE}/sub-{{subject}}/manifest.json",
    log:
        f"logs/evaluate/{LAYOUT.versions['evaluate_image']}/images_sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/evaluate_images/evaluate/{LAYOUT.versions['evaluate_image']}/images_sub-{{subject}}.tsv"
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
        methods={
            "lowlevel": "ridge-lowlevel",
            "diffusion": f"{RECON['decoder']}-diffusion",
        },
        modality="fmri",
        code=script_code_hash("evaluate_images.py"),
    script:
        "../workflow/scripts/evaluate_images.py"


rule evaluate_shared:
    input:
        unpack(groundtruth_input),
        decoder=rules.train_shared_decoder.output.weights,
        spec=rules.train_shared_decoder.output.spec,
        predictions=f"{SHARED}/sub-{{subject}}/predictions.npz",
        responses=RESPONSES,
        trials=TRIALS,
        embeddings=rules.embed_stimuli.output.embeddings,
    output:
        metrics=f"{EVAL_SHARED}/sub-{{subject}}/metrics.tsv",
        manifest=f"{EVAL_SHARED}/sub-{{subject}}/manifest.json",
    log:
        f"logs/evaluate/shared-{LAYOUT.versions['evaluate_shared']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/evaluate_shared/evaluate/shared-{LAYOUT.versions['evaluate_shared']}/sub-{{subject}}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=image_evaluation_config(),
        code=script_code_hash("evaluate_embeddings.py"),
        method="shared",
    script:
        "../workflow/scripts/evaluate_embeddings.py"


rule evaluate_adapted:
    input:
        unpack(groundtruth_input),
        decoder=rules.adapt_subject.output.weights,
        spec=rules.adapt_subject.output.spec,
        predictions=rules.adapt_subject.output.predictions,
        responses=RESPONSES,
        trials=TRIALS,
        embeddings=rules.embed_stimuli.output.embeddings,
    output:
        metrics=f"{EVAL_ADAPT}/sub-{{subject}}/metrics.tsv",
        manifest=f"{EVAL_ADAPT}/sub-{{subject}}/manifest.json",
    log:
        f"logs/evaluate/adapted-{LAYOUT.versions['evaluate_adapt']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/evaluate_adapted/evaluate/adapted-{LAYOUT.versions['evaluate_adapt']}/sub-{{subject}}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=image_evaluation_config(),
        code=script_code_hash("evaluate_embeddings.py"),
        method="shared-adapted",
    script:
        "../workflow/scripts/evaluate_embeddings.py"


rule benchmark_data_efficiency:
    input:
        unpack(held_out_truths),
        model=rules.train_shared_decoder.output.weights,
        responses=expand(RESPONSES, subject=ADAPT_SUBJECTS),
        trials=expand(TRIALS, subject=ADAPT_SUBJECTS),
        trained_responses=expand(RESPONSES, subject=SHARED_SUBJECTS),
        trained_trials=expand(TRIALS, subject=SHARED_SUBJECTS),
        embeddings=rules.embed_stimuli.output.embeddings,
    output:
        table="results/benchmarks/data_efficiency.tsv",
        subjects="results/benchmarks/data_efficiency_subjects.tsv",
        manifest="results/benchmarks/manifest.json",
    log:
        "logs/benchmarks/data_efficiency.log",
    benchmark:
        f"{JOB_BENCHMARKS}/benchmark_data_efficiency/benchmarks/data_efficiency.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        cfg=stage_config("benchmark", "data_efficiency"),
        shared=stage_config("decode", "shared"),
        adapt=adapt_settings("fraction"),
        ridge_alphas=stage_config("decode", "ridge", "alphas"),
        held_out=ADAPT_SUBJECTS,
        trained_on=SHARED_SUBJECTS,
        code=script_code_hash("benchmark_data_efficiency.py"),
    script:
        "../workflow/scripts/benchmark_data_efficiency.py"
