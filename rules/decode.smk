# Stage "decode": per-subject ridge regression from responses to CLIP embeddings.


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
    params:
        cfg=stage_config("decode", "ridge"),
        code=script_code_hash("decode_ridge.py"),
    log:
        f"logs/decode/{LAYOUT.versions['decode']}/sub-{{subject}}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../envs/neuro.yaml"
    script:
        "../workflow/scripts/decode_ridge.py"
