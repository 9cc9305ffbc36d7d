"""Rule decode_shape: one 3D subject's decoders (view embedding, shape code, colour, blurry view)
and their predictions for the test objects (from the measured and, for the synthetic world, the
noise-free frames)."""

from pathlib import Path

from _common import begin

started = begin(snakemake)

import numpy as np

from neurorecon.artifacts import write_manifest
from neurorecon.decode.keyed import save_predictions
from neurorecon.decode.shape import TARGETS, fit_shape_decoders, load_shape_targets
from neurorecon.io.fmri_shape import load_subject, read_object_lists

cfg = snakemake.params.cfg
subject = snakemake.wildcards.shape_subject
number = int(subject[len("shape"):])
root = Path(snakemake.params.data_dir)
objects = read_object_lists(root)
responses = load_subject(root, number, objects, cfg["frames"])
train_x, train_rows = responses.select("train")
test_x, test_rows = responses.select("test")
targets = load_shape_targets(Path(snakemake.input.targets), train_rows["stim_id"], TARGETS)
decoders = fit_shape_decoders(train_x, targets, cfg["alphas"], cfg["cv"])
out = Path(snakemake.output.predictions).parent
for kind, decoder in decoders.items():
    decoder.save(out / "decoders" / kind, {"subject": subject, "target": kind})
predicted = {kind: decoder.predict(test_x) for kind, decoder in decoders.items()}
truth = root / "derivatives" / "groundtruth" / f"sub-{number:04d}_groundtruth.npz"
ceiling = None
if truth.is_file():
    with np.load(truth, allow_pickle=False) as data:
        order = {str(uid): i for i, uid in enumerate(data["uids"])}
        clean = data["clean"][[order[uid] for uid in objects["uid"]]]
    clean_x, _ = load_subject(root, number, objects, cfg["frames"], clean=clean).select("test")
    ceiling = {kind: decoder.predict(clean_x) for kind, decoder in decoders.items()}
save_predictions(Path(snakemake.output.predictions), test_rows["stim_id"], predicted, ceiling)
write_manifest(out, stage="decode", config=cfg, inputs=[snakemake.input.train_list, snakemake.input.test_list, snakemake.input.targets],
               outputs=[snakemake.output.predictions, out / "decoders"], started=started,
               code_version=snakemake.params.code,
               extra={"subject": subject, "alphas": {kind: decoder.alpha for kind, decoder in decoders.items()},
                      "train_objects": int(len(train_x)), "test_objects": int(len(test_x)),
                      "pixels": int(train_x.shape[1])})
