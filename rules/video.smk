# The video world: movie clips with moving shapes in NeuroClips' CC2017 layout -> keyframe CLIP
# embeddings, blurry videos and optical flow as targets -> ridge decoders per subject -> metrics.
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

    rule video_targets:
        input:
            unpack(clip_model_input),
            frames=rules.synth_video.output.frames,
            clips=rules.synth_video.output.clips,
        output:
            targets=f"{VIDEO_TARGETS}/targets.npz",
            test_frames=f"{VIDEO_TARGETS}/test_frames.npz",
            manifest=f"{VIDEO_TARGETS}/manifest.json",
        log:
            f"logs/stimuli/video-{LAYOUT.versions.get('video_targets')}/video_targets.log",
        benchmark:
            f"{JOB_BENCHMARKS}/video_targets/stimuli/video-{LAYOUT.versions.get('video_targets')}/video_targets.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 2
        resources:
            mem_mb=3000 if TINY_CLIP else 12000,
            runtime=30,
            gpu=GPUS,
            gpu_model=GPU_MODEL,
        params:
            clip=stage_config("stimuli", "clip"),
            code=script_code_hash("video_targets.py"),
            model_dir=CLIP_DIR,
            data_dir=folder_above("input.clips", 1),
        script:
            "../workflow/scripts/video_targets.py"

    rule decode_video:
        input:
            train=video_fmri("train"),
            test=video_fmri("test"),
            clips=rules.synth_video.output.clips,
            targets=rules.video_targets.output.targets,
        output:
            predictions=f"{VIDEO_DECODE}/{{video_subject}}/predictions.npz",
            manifest=f"{VIDEO_DECODE}/{{video_subject}}/manifest.json",
        log:
            f"logs/decode/video-{LAYOUT.versions.get('decode_video')}/{{video_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/decode_video/decode/video-{LAYOUT.versions.get('decode_video')}/{{video_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            cfg=stage_config("decode", "video"),
            data_dir=folder_above("input.clips", 1),
            code=script_code_hash("decode_video.py"),
        script:
            "../workflow/scripts/decode_video.py"

    rule evaluate_video:
        input:
            predictions=rules.decode_video.output.predictions,
            targets=rules.video_targets.output.targets,
            clips=rules.synth_video.output.clips,
        output:
            metrics=f"{VIDEO_EVAL}/{{video_subject}}/metrics.tsv",
            manifest=f"{VIDEO_EVAL}/{{video_subject}}/manifest.json",
        log:
            f"logs/evaluate/video-{LAYOUT.versions.get('evaluate_video')}/{{video_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/evaluate_video/evaluate/video-{LAYOUT.versions.get('evaluate_video')}/{{video_subject}}.tsv"
        conda:
            "../envs/neuro.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            cfg=stage_config("evaluate"),
            code=script_code_hash("evaluate_video.py"),
        script:
            "../workflow/scripts/evaluate_video.py"
