# Stage "data": the synthetic world as a BIDS dataset (real data is read in place).


rule synth_world:
    output:
        world=f"{GROUNDTRUTH}/world.npz",
        stimuli=f"{DATA}/stimuli/stimuli.tsv",
        description=f"{DATA}/dataset_description.json",
        manifest=f"{DATA}/manifest.json",
    log:
        f"logs/data/{LAYOUT.versions['data']}/synth_world.log",
    benchmark:
        f"{JOB_BENCHMARKS}/synth_world/data/{LAYOUT.versions['data']}/synth_world.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cfg=fmri_world_config(),
        code=script_code_hash("synth_world.py"),
    script:
        "../workflow/scripts/synth_world.py"


rule synth_subject:
    input:
        world=rules.synth_world.output.world,
        stimuli=rules.synth_world.output.stimuli,
    output:
        truth=TRUTH,
        manifest=f"{GROUNDTRUTH}/sub-{{subject}}/manifest.json",
    log:
        f"logs/data/{LAYOUT.versions['data']}/synth_subject_sub-{{subject}}.log",
    benchmark:
        f"{JOB_BENCHMARKS}/synth_subject/data/{LAYOUT.versions['data']}/synth_subject_sub-{{subject}}.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=memory_for_bold(1500, 10),
        runtime=15,
    params:
        cfg=fmri_world_config(),
        code=script_code_hash("synth_subject.py"),
        bids_root=folder_above("output.truth", 4),
    script:
        "../workflow/scripts/synth_subject.py"
