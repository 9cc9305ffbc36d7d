# The input ablation: each fMRI subject's test images drawn again with every listed combination of
# decoded inputs (image only, + text, + structure, all), with the final reconstruction's sampling
# settings, and scored like it. Editing the combinations or the sampling reruns only these jobs.


rule reconstruct_ablation:
    input:
        unpack(groundtruth_input),
        unpack(vae_input),
        unpack(diffusion_input),
        unpack(clip_model_input),
        unpack(embedding_decoder),
        inputs=f"{DEC_INPUTS}/sub-{{subject}}/predictions.npz",
        lowlevel=rules.reconstruct_lowlevel.output.reconstructions,
        responses=RESPONSES,
        trials=TRIALS,
    output:
        reconstructions=[f"{ABLATION}/sub-{{subject}}/{name}.npz" for name in ABLATION_REDRAWN],
        manifest=f"{ABLATION}/sub-{{subject}}/manifest.json",
    log:
        f"logs/reconstruct/ablation-{LAYOUT.versions['ablation']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/reconstruct_ablation/reconstruct/ablation-{LAYOUT.versions['ablation']}/sub-{{subject}}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        sampling=stage_config("reconstruct", "sampling"),
        combinations=ABLATION_REDRAWN,
        diffusion=stage_config("reconstruct", "diffusion"),
        vae=stage_config("reconstruct", "vae"),
        clip=stage_config("stimuli", "clip"),
        clip_dir=CLIP_DIR,
        vae_dir=VAE_DIR,
        diffusion_dir=DIFF_DIR,
        code=script_code_hash("reconstruct_ablation.py"),
    script:
        "../workflow/scripts/reconstruct_ablation.py"


rule evaluate_ablation:
    input:
        unpack(clip_model_input),
        unpack(judge_input),
        redrawn=expand(f"{ABLATION}/sub-{{subject}}/{{name}}.npz", subject=ABLATION_SUBJECTS, name=ABLATION_REDRAWN),
        final=expand(f"{REC}/sub-{{subject}}/reconstructions.npz", subject=ABLATION_SUBJECTS),
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        metrics=f"{EVAL_ABLATION}/ablation.tsv",
        mean=f"{EVAL_ABLATION}/ablation_mean.tsv",
        manifest=f"{EVAL_ABLATION}/manifest.json",
    log:
        f"logs/evaluate/ablation-{LAYOUT.versions['evaluate_ablation']}/evaluate_ablation.log",
    benchmark:
        f"{JOB_BENCHMARKS}/evaluate_ablation/evaluate/ablation-{LAYOUT.versions['evaluate_ablation']}/evaluate_ablation.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cfg=stage_config("evaluate", "image"),
        clip=stage_config("stimuli", "clip"),
        clip_dir=CLIP_DIR,
        subjects=ABLATION_SUBJECTS,
        redrawn=ABLATION_REDRAWN,
        final=ABLATION_FINAL,
        code=script_code_hash("evaluate_ablation.py"),
    script:
        "../workflow/scripts/evaluate_ablation.py"
