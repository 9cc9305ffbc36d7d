# Video: movie clips in NeuroClips' CC2017 layout (the synthetic world's, written by rule
# synth_video in rules/data.smk, or CC2017's own) -> keyframe CLIP embeddings, blurry videos and
# optical flow as targets -> ridge decoders per subject -> clips generated from them -> metrics.


if VIDEO_SUBJECTS:

    rule video_targets:
        input:
            unpack(clip_model_input),
            train_movie=VIDEO_FRAMES["train"],
            test_movie=VIDEO_FRAMES["test"],
            clips=VIDEO_CLIPS,
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
            data_dir=folder_above("input.train_movie", 1),
        script:
            "../workflow/scripts/video_targets.py"

    rule decode_video:
        input:
            train=video_fmri("train"),
            test=video_fmri("test"),
            clips=VIDEO_CLIPS,
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
            data_dir=folder_above("input.train", 1),
            code=script_code_hash("decode_video.py"),
        script:
            "../workflow/scripts/decode_video.py"

    rule reconstruct_video:
        input:
            unpack(video_generator_inputs),
            predictions=rules.decode_video.output.predictions,
        output:
            videos=f"{VIDEO_RECON}/{{video_subject}}/videos.npz",
            manifest=f"{VIDEO_RECON}/{{video_subject}}/manifest.json",
        log:
            f"logs/reconstruct/video-{LAYOUT.versions.get('reconstruct_video')}/{{video_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/reconstruct_video/reconstruct/video-{LAYOUT.versions.get('reconstruct_video')}/{{video_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 2
        resources:
            mem_mb=3000 if VIDEO_GENERATOR == "tiny" else 20000,
            runtime=60,
            gpu=GPUS,
            gpu_model=GPU_MODEL,
        params:
            video=stage_config("reconstruct", "video"),
            vae=stage_config("reconstruct", "vae"),
            # the image generator draws the keyframes of the sparsectrl pipeline only
            diffusion=stage_config("reconstruct", "diffusion") if VIDEO_GENERATOR == "sparsectrl" else {},
            image_sampling=stage_config("reconstruct", "sampling") if VIDEO_GENERATOR == "sparsectrl" else {},
            video_dir=VIDEO_MODEL_DIR,
            vae_dir=VAE_DIR,
            diffusion_dir=DIFF_DIR,
            code=script_code_hash("reconstruct_video.py"),
        script:
            "../workflow/scripts/reconstruct_video.py"

    rule evaluate_video:
        input:
            unpack(clip_model_input),
            unpack(video_reconstructions),
            predictions=rules.decode_video.output.predictions,
            targets=rules.video_targets.output.targets,
            test_frames=rules.video_targets.output.test_frames,
            clips=VIDEO_CLIPS,
        output:
            metrics=f"{VIDEO_EVAL}/{{video_subject}}/metrics.tsv",
            manifest=f"{VIDEO_EVAL}/{{video_subject}}/manifest.json",
        log:
            f"logs/evaluate/video-{LAYOUT.versions.get('evaluate_video')}/{{video_subject}}.log",
        benchmark:
            f"{JOB_BENCHMARKS}/evaluate_video/evaluate/video-{LAYOUT.versions.get('evaluate_video')}/{{video_subject}}.tsv"
        conda:
            "../envs/diffusion.yaml"
        threads: 1
        resources:
            mem_mb=2000 if TINY_CLIP else 12000,
            runtime=20,
            gpu=GPUS,
            gpu_model=GPU_MODEL,
        params:
            cfg=stage_config("evaluate", "video"),
            clip=stage_config("stimuli", "clip"),
            clip_dir=CLIP_DIR,
            code=script_code_hash("evaluate_video.py"),
        script:
            "../workflow/scripts/evaluate_video.py"
