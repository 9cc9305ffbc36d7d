# Stage "report": results/summary.tsv and results/report.html, rewritten to point at the
# versions the current config selects. The config's hash is a param, so any edit of the config
# (compute aside) rewrites them: a run never leaves another config's summary in place.


rule report:
    input:
        unpack(training_histories),
        unpack(cross_subject_reports),
        unpack(sensor_metrics),
        unpack(sensor_figures),
        unpack(category_reports),
        unpack(image_stimuli_reports),
        **({"ablation": f"{EVAL_ABLATION}/ablation_mean.tsv"} if ABLATION_SUBJECTS else {}),
        metrics=expand(f"{EVAL}/sub-{{subject}}/metrics.tsv", subject=SUBJECTS),
        input_metrics=(expand(f"{DEC_INPUTS}/sub-{{subject}}/metrics.tsv", subject=SUBJECTS) if DECODE_INPUTS else []),
        encode_metrics=expand(f"{ENCODE}/sub-{{subject}}/metrics.tsv", subject=ENCODE_SUBJECTS),
        encode_roi_tables=expand(f"{ENCODE}/sub-{{subject}}/roi_metrics.tsv", subject=ENCODE_SUBJECTS),
        encode_captions=expand(f"{ENCODE}/sub-{{subject}}/captions.tsv", subject=ENCODE_SUBJECTS),
        encode_voxels=expand(f"{ENCODE}/sub-{{subject}}/voxels.npz", subject=ENCODE_SUBJECTS),
        brain_scores=expand(f"{BRAIN_SCORE}/sub-{{subject}}/metrics.tsv", subject=ENCODE_SUBJECTS),
        synthesis_metrics=expand(f"{SYNTHESIS}/sub-{{subject}}/metrics.tsv", subject=SYNTHESIS_SUBJECTS),
        synthesis_targets=expand(f"{SYNTHESIS}/sub-{{subject}}/targets.tsv", subject=SYNTHESIS_SUBJECTS),
        synthesis_images=expand(f"{SYNTHESIS}/sub-{{subject}}/images.npz", subject=SYNTHESIS_SUBJECTS),
        image_metrics=expand(f"{EVAL_IMAGE}/sub-{{subject}}/metrics.tsv", subject=SUBJECTS),
        lowlevel=expand(f"{LOW}/sub-{{subject}}/reconstructions.npz", subject=SUBJECTS),
        final=(expand(f"{REC}/sub-{{subject}}/reconstructions.npz", subject=SUBJECTS) if DIFFUSION else []),
        image_manifests=expand(f"{EVAL_IMAGE}/sub-{{subject}}/manifest.json", subject=SUBJECTS),
        manifests=expand(f"{EVAL}/sub-{{subject}}/manifest.json", subject=SUBJECTS),
        video_metrics=expand(f"{VIDEO_EVAL}/{{video_subject}}/metrics.tsv", video_subject=VIDEO_SUBJECTS),
        video_predictions=expand(f"{VIDEO_DECODE}/{{video_subject}}/predictions.npz", video_subject=VIDEO_SUBJECTS),
        video_targets=[f"{VIDEO_TARGETS}/targets.npz"] if VIDEO_SUBJECTS else [],
        video_frames=[f"{VIDEO_TARGETS}/test_frames.npz"] if VIDEO_SUBJECTS else [],
        videos=(
            expand(f"{VIDEO_RECON}/{{video_subject}}/videos.npz", video_subject=VIDEO_SUBJECTS)
            if VIDEO_GENERATOR != "none"
            else []
        ),
        regions=region_tables,
        shape_metrics=expand(f"{SHAPE_EVAL}/{{shape_subject}}/metrics.tsv", shape_subject=SHAPE_SUBJECTS),
        meshes=(
            expand(f"{SHAPE_RECON}/{{shape_subject}}/meshes.npz", shape_subject=SHAPE_SUBJECTS)
            if SHAPE_GENERATOR != "none"
            else []
        ),
    output:
        summary="results/summary.tsv",
        html="results/report.html",
        costs="results/benchmarks/rules.tsv",
        provenance="results/summary.provenance.json",
    log:
        "logs/report.log",
    benchmark:
        f"{JOB_BENCHMARKS}/report/report.tsv"
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=script_code_hash("report.py"),
        config_hash=CONFIG_HASH,
        run_config=RUN_CONFIG,
        versions=LAYOUT.versions,
        folders=LAYOUT.folders_in_use,
        subjects=SUBJECTS,
        adapt_subjects=ADAPT_SUBJECTS,
        sensor_subjects=SENSOR_SUBJECTS,
        shipped=SHIPPED,
        video_subjects=VIDEO_SUBJECTS,
        shape_subjects=SHAPE_SUBJECTS,
        synthesis_subjects=SYNTHESIS_SUBJECTS,
        shape_files=SHAPE_FILES,
        job_benchmarks=JOB_BENCHMARKS,
        unversioned_rules=["benchmark_data_efficiency", "benchmark_glm"],
    script:
        "../workflow/scripts/report.py"


# `snakemake verify_artifacts`: every output the manifests of the current config's folders record,
# checked against the disk. It has no output file, so it runs whenever asked.
rule verify_artifacts:
    log:
        "logs/verify_artifacts.log",
    conda:
        "../envs/neuro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        code=script_code_hash("verify_artifacts.py"),
        folders=[folder for folder in LAYOUT.folders_in_use.values() if not folder.startswith("models/")],
    script:
        "../workflow/scripts/verify_artifacts.py"
