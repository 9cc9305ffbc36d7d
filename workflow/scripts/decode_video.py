"""Rule decode_video: one video subject's keyframe, blurry-video and flow decoders, and their
predictions for the test segments (from the measured and, for the synthetic world, the noise-free
samples)."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import numpy as np

from neurorecon.artifacts import write_manifest
from neurorecon.decode.video import fit_video_decoders, load_video_targets, save_video_decoders, save_video_predictions
from neurorecon.io.cc2017 import load_subject
from neurorecon.io.inputs import read_tsv

subject = snakemake.wildcards.video_subject
number = int(subject[len("video"):])
root = Path(snakemake.params.data_dir)
clips = read_tsv(snakemake.input.clips, required=("stim_id", "split"))
responses = load_subject(root, number, clips)
train_x, train_trials = responses.select("train")
test_x, test_trials = responses.select("test")
decoders = fit_video_decoders(train_x, load_video_targets(Path(snakemake.input.targets), train_trials["stim_id"]),
                              snakemake.params.cfg["alphas"], snakemake.params.cfg["cv"])
out = Path(snakemake.output.predictions).parent
save_video_decoders(decoders, out / "decoders", {"subject": subject})
predicted = {kind: decoder.predict(test_x) for kind, decoder in decoders.items()}
truth = root / "derivatives" / "groundtruth" / f"subj{number:02d}_groundtruth.npz"
ceiling = None
if truth.is_file():
    with np.load(truth, allow_pickle=False) as data:
        ceiling = {kind: decoder.predict(data["test_clean"]) for kind, decoder in decoders.items()}
save_video_predictions(Path(snakemake.output.predictions), test_trials["stim_id"], predicted, ceiling)
write_manifest(out, stage="decode", config=snakemake.params.cfg,
               inputs=[snakemake.input.train, snakemake.input.test, snakemake.input.targets],
               outputs=[snakemake.output.predictions, out / "decoders"], started=started,
               code_version=snakemake.params.code,
               extra={"subject": subject, "alphas": {kind: decoder.alpha for kind, decoder in decoders.items()},
                      "train_rows": int(len(train_x)), "test_segments": int(len(test_x))})
