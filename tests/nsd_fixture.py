"""A miniature Natural Scenes Dataset: NSD's exact layout, file formats and index conventions
(1-based MATLAB indices, int16 betas x300, nsdgeneral -1/0/1, imgBrick HDF5), only smaller."""

import h5py
import nibabel as nib
import numpy as np
from scipy.io import savemat

from neurorecon.io import nsd

N_IMAGES_73K, PER_SUBJECT, N_SHARED, SESSIONS = 60, 40, 8, [1, 2]
GRID = (6, 7, 5)


def write_coco_captions(root, rng):
    """nsd_stim_info_merged.csv (nsdId, cocoId, cocoSplit, as NSD ships it with an unnamed index) and
    COCO's captions_{train,val}2017.json with two captions per image, the lower annotation id first
    in neither file order nor id order by accident."""
    import json

    import pandas as pd

    coco_ids = rng.choice(np.arange(100000, 600000), N_IMAGES_73K, replace=False)
    splits = np.where(np.arange(N_IMAGES_73K) % 5 == 0, "val2017", "train2017")
    pd.DataFrame({"cocoId": coco_ids, "cocoSplit": splits, "nsdId": np.arange(N_IMAGES_73K)}).to_csv(
        root / nsd.STIM_INFO)
    folder = root / "annotations"
    folder.mkdir()
    for split in nsd.COCO_SPLITS:
        entries = []
        for nsd_id in np.flatnonzero(splits == split):
            coco = int(coco_ids[nsd_id])
            entries += [{"image_id": coco, "id": 2 * coco + 1, "caption": f"another view of scene {nsd_id}"},
                        {"image_id": coco, "id": 2 * coco, "caption": f" a photo of  scene {nsd_id}\n"}]
        (folder / f"captions_{split}.json").write_text(json.dumps({"annotations": entries}))


def build_mini_nsd(root):
    rng = np.random.default_rng(0)
    shared = np.sort(rng.choice(N_IMAGES_73K, N_SHARED, replace=False))
    others = np.setdiff1d(np.arange(N_IMAGES_73K), shared)
    subjectim = np.stack([np.concatenate([shared, rng.choice(others, PER_SUBJECT - N_SHARED, replace=False)])
                          for _ in range(8)])                                 # shared images first, as NSD
    n_trials = len(SESSIONS) * nsd.TRIALS_PER_SESSION
    masterordering = rng.integers(0, PER_SUBJECT, n_trials)
    design = root / nsd.EXPDESIGN
    design.parent.mkdir(parents=True)
    savemat(design, {"masterordering": masterordering[None] + 1, "subjectim": subjectim + 1,
                     "sharedix": shared[None] + 1, "basiccnt": np.zeros((3, 40))})
    affine = np.diag([1.8, 1.8, 1.8, 1.0])
    roi = rng.choice([-1, 0, 1], size=GRID, p=[0.3, 0.3, 0.4]).astype(np.int16)
    roi_file = nsd.roi_path(root, 1)
    roi_file.parent.mkdir(parents=True)
    nib.save(nib.Nifti1Image(roi, affine), roi_file)
    image_response = rng.normal(0, 2.0, (N_IMAGES_73K,) + GRID)               # percent signal change
    for session in SESSIONS:
        order = masterordering[(session - 1) * 750: session * 750]
        ids = subjectim[0, order]
        betas = image_response[ids] + rng.normal(0, 0.5, (750,) + GRID)
        path = nsd.betas_path(root, 1, session)
        path.parent.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(np.round(np.moveaxis(betas, 0, -1) * nsd.BETA_SCALE).astype(np.int16), affine), path)
    write_coco_captions(root, rng)
    stim = root / nsd.STIMULI_HDF5
    stim.parent.mkdir(parents=True)
    with h5py.File(stim, "w") as handle:
        handle.create_dataset("imgBrick", data=rng.integers(0, 255, (N_IMAGES_73K, 32, 32, 3), dtype=np.uint8))
    return root, image_response, roi > 0, shared
