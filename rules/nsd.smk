# NSD: the data stage exports the images the subjects saw; the preprocess stage reads NSD's own
# single-trial betas (no GLM) into the same responses contract as preprocess_fmri.


rule nsd_stimuli:
    output:
        stimuli=f"{DATA}/stimuli/stimuli.tsv",
        manifest=f"{DATA}/manifest.json",
    log:
        f"logs/data/{LAYOUT.versions['data']}/nsd_stimuli.log",
    benchmark:
        f"{JOB_BENCHMARKS}/nsd_stimuli/data/{LAYOUT.versions['data']}/nsd_stimuli.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        cfg=stage_config("data", "nsd"),
        code=script_code_hash("nsd_stimuli.py"),
    script:
        "../workflow/scripts/nsd_stimuli.py"


rule ingest_nsd:
    input:
        stimuli=STIMULI_TSV,
    output:
        responses=RESPONSES,
        trials=TRIALS,
        manifest=f"{PRE}/sub-{{subject}}/manifest.json",
    log:
        f"logs/preprocess/{LAYOUT.versions['preprocess']}/sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/ingest_nsd/preprocess/{LAYOUT.versions['preprocess']}/sub-{{subject}}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=16000,
        runtime=60,
    params:
        cfg=stage_config("data", "nsd"),
        preprocess=stage_config("preprocess", "fmri"),
        code=script_code_hash("ingest_nsd.py"),
    script:
        "../workflow/scripts/ingest_nsd.py"
