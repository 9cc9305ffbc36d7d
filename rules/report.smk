# Stage "report": results/summary.tsv and results/report.html, rewritten to point at the
# versions the current config selects.


rule report:
    input:
        unpack(training_histories),
        unpack(cross_subject_reports),
        unpack(sensor_metrics),
        unpack(sensor_figures),
        unpack(category_reports),
        metrics=expand(f"{EVAL}/sub-{{subject}}/metrics.tsv", subject=SUBJECTS),
        image_metrics=expand(f"{EVAL_IMAGE}/sub-{{subject}}/metrics.tsv", subject=SUBJECTS),
        lowlevel=expand(f"{LOW}/sub-{{subject}}/reconstructions.npz", subject=SUBJECTS),
        final=(expand(f"{REC}/sub-{{subject}}/reconstructions.npz", subject=SUBJECTS) if DIFFUSION else []),
        image_manifests=expand(f"{EVAL_IMAGE}/sub-{{subject}}/manifest.json", subject=SUBJECTS),
        stimuli=STIMULI_TSV,
        retrieval=rules.embed_stimuli.output.retrieval,
        manifests=expand(f"{EVAL}/sub-{{subject}}/manifest.json", subject=SUBJECTS),
    output:
        summary="results/summary.tsv",
        html="results/report.html",
        costs="results/benchmarks/rules.tsv",
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
        versions=LAYOUT.versions,
        folders=LAYOUT.folders_in_use,
        subjects=SUBJECTS,
        adapt_subjects=ADAPT_SUBJECTS,
        sensor_subjects=SENSOR_SUBJECTS,
        shipped=SHIPPED,
        job_benchmarks=JOB_BENCHMARKS,
        unversioned_rules=["benchmark_data_efficiency", "benchmark_glm"],
    script:
        "../workflow/scripts/report.py"
