"""A miniature CC2017 release in NeuroClips' layout: subj01_{train,test}_fmri.pt and
GT_{train,test}_3fps.pt in one folder, nothing else (no clip table, no ground truth)."""

import shutil
from pathlib import Path

from neurorecon.synth.video import write_video_world

MINI = {"seed": 3, "n_subjects": 1, "n_train_clips": 40, "n_test_clips": 6, "segments_per_clip": 2,
        "test_repeats": 3, "segments_per_run": 20, "image_size": 32, "latent_dim": 8,
        "voxels": {"evc": 60, "hvc": 40, "mt": 40}, "signal_pct": 2.0, "noise_pct": [1.5, 1.5], "ar_coef": 0.4}


def build_mini_cc2017(root: Path) -> Path:
    """Write the miniature under ``root`` and remove what the release does not have."""
    write_video_world(MINI, root)
    for extra in ("clips.tsv", "manifest.json"):
        (root / extra).unlink(missing_ok=True)
    shutil.rmtree(root / "derivatives", ignore_errors=True)
    return root
