# Stage "decode": per-subject ridge regression from responses to CLIP embeddings, and the
# cross-subject decoder (trained on some subjects, adapted to the held-out ones).


rule decode_ridge:
    input:
        responses=RESPONSES,
        trials=TRIALS,
        embeddings=rules.embed_stimuli.output.embeddings,
    output:
        weights=f"{DEC}/sub-{{subject}}/ridge.safetensors",
        info=f"{DEC}/sub-{{subject}}/ridge.json",
        predictions=f"{DEC}/sub-{{subject}}/predictions.npz",
        manifest=f"{DEC}/sub-{{subject}}/manifest.json",
    log:
        f"logs/decode/{LAYOUT.versions['decode']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/decode_ridge/decode/{LAYOUT.versions['decode']}/sub-{{subject}}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=memory_for_inputs(1500, 8),
        runtime=20,
    params:
        cfg=stage_config("decode", "ridge"),
        code=script_code_hash("decode_ridge.py"),
    script:
        "../workflow/scripts/decode_ridge.py"


rule train_shared_decoder:
    input:
        responses=expand(RESPONSES, subject=SHARED_SUBJECTS),
        trials=expand(TRIALS, subject=SHARED_SUBJECTS),
        embeddings=rules.embed_stimuli.output.embeddings,
    output:
        weights=f"{SHARED}/model/model.safetensors",
        spec=f"{SHARED}/model/model.json",
        history=f"{SHARED}/training.tsv",
        predictions=expand(f"{SHARED}/sub-{{subject}}/predictions.npz", subject=SHARED_SUBJECTS),
        manifest=f"{SHARED}/manifest.json",
    log:
        f"logs/decode/shared-{LAYOUT.versions['shared']}/train.log",
    benchmark:
        f"{JOB_BENCHMARKS}/train_shared_decoder/decode/shared-{LAYOUT.versions['shared']}/train.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=stage_config("decode", "shared"),
        subjects=SHARED_SUBJECTS,
        checkpoint=f"{CHECKPOINTS}/shared-{LAYOUT.versions['shared']}",
        code=script_code_hash("train_shared_decoder.py"),
    script:
        "../workflow/scripts/train_shared_decoder.py"


rule adapt_subject:
    input:
        model=rules.train_shared_decoder.output.weights,
        spec=rules.train_shared_decoder.output.spec,
        responses=RESPONSES,
        trials=TRIALS,
        trained_responses=expand(RESPONSES, subject=SHARED_SUBJECTS),
        trained_trials=expand(TRIALS, subject=SHARED_SUBJECTS),
        embeddings=rules.embed_stimuli.output.embeddings,
    output:
        weights=f"{ADAPT}/sub-{{subject}}/model/model.safetensors",
        spec=f"{ADAPT}/sub-{{subject}}/model/model.json",
        history=f"{ADAPT}/sub-{{subject}}/training.tsv",
        predictions=f"{ADAPT}/sub-{{subject}}/predictions.npz",
        manifest=f"{ADAPT}/sub-{{subject}}/manifest.json",
    log:
        f"logs/decode/adapted-{LAYOUT.versions['adapt']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/adapt_subject/decode/adapted-{LAYOUT.versions['adapt']}/sub-{{subject}}.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
        gpu=GPUS,
        gpu_model=GPU_MODEL,
    params:
        cfg=adapt_settings(),
        shared=stage_config("decode", "shared"),
        trained_on=SHARED_SUBJECTS,
        checkpoint=lambda wildcards: f"{CHECKPOINTS}/adapted-{LAYOUT.versions['adapt']}/sub-{wildcards.subject}",
        code=script_code_hash("adapt_subject.py"),
    script:
        "../workflow/scripts/adapt_subject.py"


rule decode_inputs:
    input:
        unpack(groundtruth_input),
        responses=RESPONSES,
        trials=TRIALS,
        embeddings=rules.embed_stimuli.output.embeddings,
        structure=rules.structure_maps.output.maps,
        stimuli=STIMULI_TSV,
    output:
        predictions=f"{DEC_INPUTS}/sub-{{subject}}/predictions.npz",
        metrics=f"{DEC_INPUTS}/sub-{{subject}}/metrics.tsv",
        manifest=f"{DEC_INPUTS}/sub-{{subject}}/manifest.json",
    log:
        f"logs/decode/inputs-{LAYOUT.versions['decode_inputs']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/decode_inputs/decode/inputs-{LAYOUT.versions['decode_inputs']}/sub-{{subject}}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=memory_for_inputs(1500, 8),
        runtime=20,
    params:
        cfg=stage_config("decode", "inputs"),
        code=script_code_hash("decode_inputs.py"),
    script:
        "../workflow/scripts/decode_inputs.py"
