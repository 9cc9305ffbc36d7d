# Miyawaki et al. 2008: the data stage exports the binary patterns; the preprocess stage reads the
# given responses into the same responses contract as preprocess_fmri (no GLM).


rule miyawaki_stimuli:
    output:
        stimuli=f"{DATA}/stimuli/stimuli.tsv",
        manifest=f"{DATA}/manifest.json",
    log:
        f"logs/data/{LAYOUT.versions['data']}/miyawaki_stimuli.log",
    benchmark:
        f"{JOB_BENCHMARKS}/miyawaki_stimuli/data/{LAYOUT.versions['data']}/miyawaki_stimuli.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=stage_config("data", "miyawaki"),
        code=script_code_hash("miyawaki_stimuli.py"),
    script:
        "../workflow/scripts/miyawaki_stimuli.py"


rule ingest_miyawaki:
    input:
        stimuli=STIMULI_TSV,
    output:
        responses=RESPONSES,
        trials=TRIALS,
        manifest=f"{PRE}/sub-{{subject}}/manifest.json",
    log:
        f"logs/preprocess/{LAYOUT.versions['preprocess']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ingest_miyawaki/preprocess/{LAYOUT.versions['preprocess']}/sub-{{subject}}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cfg=stage_config("data", "miyawaki"),
        code=script_code_hash("ingest_miyawaki.py"),
    script:
        "../workflow/scripts/ingest_miyawaki.py"
