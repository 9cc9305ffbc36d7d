# Encoding models (stimulus -> fMRI responses) and what they open: the brain score of every image
# reconstruction and a caption per voxel. Logic in src/neurorecon/encode.

ENCODE = LAYOUT.folders["encode"]
BRAIN_SCORE = LAYOUT.folders["brain_score"]
ENCODE_SUBJECTS = LAYOUT.encode_subjects


rule encode:
    input:
        unpack(groundtruth_input),
        unpack(clip_model_input),
        responses=RESPONSES,
        trials=TRIALS,
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        metrics=f"{ENCODE}/sub-{{subject}}/metrics.tsv",
        roi_table=f"{ENCODE}/sub-{{subject}}/roi_metrics.tsv",
        voxels=f"{ENCODE}/sub-{{subject}}/voxels.npz",
        captions=f"{ENCODE}/sub-{{subject}}/captions.tsv",
        history=f"{ENCODE}/sub-{{subject}}/training.tsv",
        linear=f"{ENCODE}/sub-{{subject}}/linear/linear.safetensors",
        transformer=f"{ENCODE}/sub-{{subject}}/transformer/transformer.safetensors",
        manifest=f"{ENCODE}/sub-{{subject}}/manifest.json",
    log:
        f"logs/encode/encoders-{LAYOUT.versions['encode']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/encode/encode/encoders-{LAYOUT.versions['encode']}/sub-{{subject}}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=memory_for_inputs(2000, 6),
        runtime=30,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg={k: v for k, v in stage_config("encode").items() if k not in ("brain_score", "synthesis")},
        clip=stage_config("stimuli", "clip"),
        clip_dir=CLIP_DIR,
        code=script_code_hash("encode.py"),
    script:
        "../workflow/scripts/encode.py"


rule brain_score:
    input:
        unpack(clip_model_input),
        unpack(final_reconstructions),
        linear=rules.encode.output.linear,
        transformer=rules.encode.output.transformer,
        lowlevel=rules.reconstruct_lowlevel.output.reconstructions,
        responses=RESPONSES,
        trials=TRIALS,
        stimuli=STIMULI_TSV,
    output:
        metrics=f"{BRAIN_SCORE}/sub-{{subject}}/metrics.tsv",
        manifest=f"{BRAIN_SCORE}/sub-{{subject}}/manifest.json",
    log:
        f"logs/evaluate/brain-score-{LAYOUT.versions['brain_score']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/brain_score/evaluate/brain-score-{LAYOUT.versions['brain_score']}/sub-{{subject}}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg={k: v for k, v in stage_config("encode").items() if k != "synthesis"},
        clip=stage_config("stimuli", "clip"),
        clip_dir=CLIP_DIR,
        methods={"lowlevel": "ridge-lowlevel", "final": f"{RECON['decoder']}-diffusion"},
        code=script_code_hash("brain_score.py"),
    script:
        "../workflow/scripts/brain_score.py"


SYNTHESIS = LAYOUT.folders["synthesis"]
SYNTHESIS_SUBJECTS = LAYOUT.synthesis_subjects


rule synthesise_roi:
    input:
        unpack(groundtruth_input),
        unpack(clip_model_input),
        unpack(vae_input),
        unpack(diffusion_input),
        unpack(judge_input),
        linear=rules.encode.output.linear,
        responses=RESPONSES,
        trials=TRIALS,
        embeddings=rules.embed_stimuli.output.embeddings,
        stimuli=STIMULI_TSV,
    output:
        images=f"{SYNTHESIS}/sub-{{subject}}/images.npz",
        targets=f"{SYNTHESIS}/sub-{{subject}}/targets.tsv",
        metrics=f"{SYNTHESIS}/sub-{{subject}}/metrics.tsv",
        manifest=f"{SYNTHESIS}/sub-{{subject}}/manifest.json",
    log:
        f"logs/encode/synthesis-{LAYOUT.versions['synthesis']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/synthesise_roi/encode/synthesis-{LAYOUT.versions['synthesis']}/sub-{{subject}}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg={k: v for k, v in stage_config("encode").items() if k != "brain_score"},
        clip=stage_config("stimuli", "clip"),
        clip_dir=CLIP_DIR,
        vae=stage_config("reconstruct", "vae"),
        vae_dir=VAE_DIR,
        diffusion_dir=DIFF_DIR,
        code=script_code_hash("synthesise_roi.py"),
    script:
        "../workflow/scripts/synthesise_roi.py"
