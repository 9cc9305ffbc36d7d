# Stage "preprocess": BOLD runs -> single-trial responses (trials x voxels) + trial table.


rule preprocess_fmri:
    input:
        data=subject_data_marker,
        stimuli=STIMULI_TSV,
    output:
        responses=RESPONSES,
        trials=TRIALS,
        manifest=f"{PRE}/sub-{{subject}}/manifest.json",
    log:
        f"logs/preprocess/{LAYOUT.versions['preprocess']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/preprocess_fmri/preprocess/{LAYOUT.versions['preprocess']}/sub-{{subject}}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=memory_for_bold(1000, 8),
        runtime=30,
    params:
        cfg=stage_config("preprocess", "fmri"),
        code=script_code_hash("preprocess_fmri.py"),
        bids_root=folder_above("input.stimuli", 2),
    script:
        "../workflow/scripts/preprocess_fmri.py"


rule benchmark_glm:
    input:
        data=subject_data_files(GLM_BENCHMARK_SUBJECT),
        stimuli=STIMULI_TSV,
    output:
        table="results/benchmarks/glm.tsv",
    log:
        "logs/benchmarks/glm.log",
    benchmark:
        f"{JOB_BENCHMARKS}/benchmark_glm/benchmarks/glm.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=memory_for_bold(1000, 8),
        runtime=60,
    params:
        cfg=stage_config("preprocess", "fmri"),
        bench=stage_config("benchmark", "glm"),
        subject=GLM_BENCHMARK_SUBJECT,
        code=script_code_hash("benchmark_glm.py"),
        bids_root=folder_above("input.stimuli", 2),
    script:
        "../workflow/scripts/benchmark_glm.py"
