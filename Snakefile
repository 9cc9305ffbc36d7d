# neurorecon: decode what a person saw from brain recordings.
# Rules only wire files; the logic is in src/neurorecon (see docs/architecture.md).
from snakemake.utils import min_version

min_version("9.12")


configfile: "config/config.yaml"


include: "rules/common.smk"


if LAYOUT.synthetic:

    include: "rules/data.smk"


if LAYOUT.source == "nsd":

    include: "rules/nsd.smk"

elif LAYOUT.source == "miyawaki":

    include: "rules/miyawaki.smk"

elif LAYOUT.source == "things-eeg2":

    include: "rules/things_eeg2.smk"

elif LAYOUT.source == "cc2017":

    include: "rules/cc2017.smk"

elif LAYOUT.source in ("synthetic", "bids"):

    include: "rules/preprocess.smk"


include: "rules/stimuli.smk"
include: "rules/decode.smk"
include: "rules/sensors.smk"
include: "rules/reconstruct.smk"
include: "rules/shape.smk"
include: "rules/models.smk"
include: "rules/evaluate.smk"
include: "rules/ablation.smk"
include: "rules/encode.smk"
include: "rules/sensor_images.smk"
include: "rules/video.smk"
include: "rules/regions.smk"


if LAYOUT.source == "muse":

    include: "rules/muse.smk"


include: "rules/report.smk"


rule all:
    default_target: True
    input:
        "results/summary.tsv",
        "results/report.html",
        "results/benchmarks/glm.tsv" if GLM_BENCHMARK else [],
