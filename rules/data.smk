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


# the video world: movie clips of moving shapes, written in NeuroClips' CC2017 layout
if VIDEO_SUBJECTS:

    rule synth_video:
        output:
            frames=[f"{VIDEO_DATA}/GT_{split}_3fps.pt" for split in ("train", "test")],
            fmri=[
                f"{VIDEO_DATA}/subj{subject[len('video'):]}_{split}_fmri.pt"
                for subject in VIDEO_SUBJECTS
                for split in ("train", "test")
            ],
            clips=f"{VIDEO_DATA}/clips.tsv",
            manifest=f"{VIDEO_DATA}/manifest.json",
        log:
            f"logs/data/video-{LAYOUT.versions.get('data_video')}/synth_video.log",
        benchmark:
            f"{JOB_BENCHMARKS}/synth_video/data/video-{LAYOUT.versions.get('data_video')}/synth_video.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=15,
        params:
            cfg=stage_config("data", "synthetic", "video"),
            seed=config["data"]["synthetic"]["seed"],
            code=script_code_hash("synth_video.py"),
        script:
            "../workflow/scripts/synth_video.py"


# the 3D world: objects seen turning, written in fMRI-Shape's layout
if SHAPE_SUBJECTS:

    rule synth_shapes:
        output:
            lists=SHAPE_LISTS,
            objects=f"{SHAPE_DATA}/objects.tsv",
            regions=f"{SHAPE_DATA}/derivatives/groundtruth/flatmap_rois.npy",
            manifest=f"{SHAPE_DATA}/manifest.json",
        log:
            f"logs/data/shapes-{LAYOUT.versions.get('data_shape')}/synth_shapes.log",
        benchmark:
            f"{JOB_BENCHMARKS}/synth_shapes/data/shapes-{LAYOUT.versions.get('data_shape')}/synth_shapes.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            cfg=stage_config("data", "synthetic", "shapes"),
            seed=config["data"]["synthetic"]["seed"],
            code=script_code_hash("synth_shapes.py"),
        script:
            "../workflow/scripts/synth_shapes.py"
