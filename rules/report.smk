# Stage "report": results/summary.tsv and results/report.html, rewritten to point at the
# versions the current config selects.


rule report:
    input:
        unpack(clip_history_input),
        metrics=expand(f"{EVAL}/sub-{{subject}}/metrics.tsv", subject=SUBJECTS),
        retrieval=rules.embed_stimuli.output.retrieval,
        manifests=expand(f"{EVAL}/sub-{{subject}}/manifest.json", subject=SUBJECTS),
    output:
        summary="results/summary.tsv",
        html="results/report.html",
    params:
        code=script_code_hash("report.py"),
        versions=LAYOUT.versions,
        folders=LAYOUT.folders,
    log:
        "logs/report.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/neuro.yaml"
    script:
        "../workflow/scripts/report.py"
