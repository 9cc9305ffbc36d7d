# Region analysis (evaluate.regions): every decoder refitted on each region alone and with it left
# out, per subject, for the image embedding (the atlas ROIs the decoder reads), the video targets
# and the 3D targets (the synthetic worlds' regions; a flatmap region map for fMRI-Shape).


if REGIONS and SUBJECTS:

    rule regions_image:
        input:
            responses=RESPONSES,
            trials=TRIALS,
            embeddings=rules.embed_stimuli.output.embeddings,
        output:
            table=f"{REGIONS_IMAGE}/sub-{{subject}}/regions.tsv",
            manifest=f"{REGIONS_IMAGE}/sub-{{subject}}/manifest.json",
        log:
            f"logs/evaluate/regions-image-{LAYOUT.versions.get('regions_image')}/sub-{{subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/regions_image/evaluate/regions-image-{LAYOUT.versions.get('regions_image')}/sub-{{subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=memory_for_inputs(1000, 6),
            runtime=20,
        params:
            branch="image",
            cfg=stage_config("evaluate", "regions"),
            decoder=stage_config("decode", "ridge"),
            code=script_code_hash("regions.py"),
        script:
            "../workflow/scripts/regions.py"


if REGIONS and VIDEO_SUBJECTS and LAYOUT.synthetic:

    rule regions_video:
        input:
            train=video_fmri("train"),
            test=video_fmri("test"),
            clips=VIDEO_CLIPS,
            targets=rules.video_targets.output.targets,
        output:
            table=f"{REGIONS_VIDEO}/{{video_subject}}/regions.tsv",
            manifest=f"{REGIONS_VIDEO}/{{video_subject}}/manifest.json",
        log:
            f"logs/evaluate/regions-video-{LAYOUT.versions.get('regions_video')}/{{video_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/regions_video/evaluate/regions-video-{LAYOUT.versions.get('regions_video')}/{{video_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            branch="video",
            cfg=stage_config("evaluate", "regions"),
            decoder=stage_config("decode", "video"),
            roi_labels=VIDEO_ROI_LABELS,
            data_dir=folder_above("input.train", 1),
            code=script_code_hash("regions.py"),
        script:
            "../workflow/scripts/regions.py"


if REGIONS and SHAPE_SUBJECTS and SHAPE_REGION_MAP:

    rule regions_shape:
        input:
            train_list=SHAPE_LISTS[0],
            test_list=SHAPE_LISTS[1],
            targets=rules.shape_targets.output.targets,
            rois=SHAPE_REGION_MAP["file"],
        output:
            table=f"{REGIONS_SHAPE}/{{shape_subject}}/regions.tsv",
            manifest=f"{REGIONS_SHAPE}/{{shape_subject}}/manifest.json",
        log:
            f"logs/evaluate/regions-shapes-{LAYOUT.versions.get('regions_shape')}/{{shape_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/regions_shape/evaluate/regions-shapes-{LAYOUT.versions.get('regions_shape')}/{{shape_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=3000,
            runtime=20,
        params:
            branch="shape",
            cfg=stage_config("evaluate", "regions"),
            decoder=stage_config("decode", "shape"),
            frames=config["decode"]["shape"]["frames"],
            roi_labels=SHAPE_REGION_MAP["labels"],
            data_dir=folder_above("input.train_list", 1),
            code=script_code_hash("regions.py"),
        script:
            "../workflow/scripts/regions.py"
