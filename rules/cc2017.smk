# CC2017 as NeuroClips distributes it: the segments of its frame files, named in file order, become
# the clip table the video stages read (the .pt files themselves are read in place).


rule cc2017_segments:
    input:
        train_frames=VIDEO_FRAMES["train"],
        test_frames=VIDEO_FRAMES["test"],
    output:
        clips=VIDEO_CLIPS,
        manifest=f"{VIDEO_DATA}/manifest.json",
    log:
        f"logs/data/cc2017-{LAYOUT.versions.get('data_video')}/cc2017_segments.log",
    benchmark:
        f"{JOB_BENCHMARKS}/cc2017_segments/data/cc2017-{LAYOUT.versions.get('data_video')}/cc2017_segments.tsv"
    conda:
        "../envs/diffusion.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        root=folder_above("input.train_frames", 1),
        code=script_code_hash("cc2017_segments.py"),
    script:
        "../workflow/scripts/cc2017_segments.py"
