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
