"""NSD-scale ingestion benchmark: time and peak memory of reading a subject's single-trial betas
against the number of sessions and ROI voxels, for the streaming reader (neurorecon.io.nsd) and,
as the baseline in the same run, the reader it replaced (every session's betas held, z-scored in
float64, then averaged).

Writes full-size files in NSD's layout (81 x 104 x 83 grid, 750 int16 trials per session; one
session file hard-linked as the others) into a temporary folder, measures each case in a fresh
process (peak resident memory from getrusage), prints the table and the fitted growth per session,
and extrapolates to NSD's 40 sessions.

    python benchmarks/nsd_scale.py [--sessions 1 2 4 8] [--voxels 15724 100000] [--tmpdir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

NSDGENERAL_SUBJ01 = 15724  # voxels of subj01's nsdgeneral ROI at 1.8 mm (NSD data manual)
CFG = {"betas": "betas_fithrf_GLMdenoise_RR", "roi": "nsdgeneral", "space": "func1pt8mm", "zscore": "session",
       "average_test_repeats": True}

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {src!r})
from pathlib import Path
import numpy as np
from neurorecon.io import nsd
root, subject, sessions, cfg, method = Path({root!r}), {subject}, {sessions}, {cfg}, {method!r}
start = time.perf_counter()
if method == "streaming":
    responses, _ = nsd.load_nsd_subject(root, subject, sessions, cfg)
    shape = responses.values.shape
else:  # the reader before streaming: every session held, z-scored in float64, then averaged
    from neurorecon.preprocess.fmri import zscore_rows_within
    from neurorecon.responses import response_rows
    trials = nsd.trial_table(nsd.read_expdesign(root), subject, sessions)
    mask = np.asarray(nsd.load_nifti(nsd.roi_path(root, subject), ndim=3).dataobj) > 0
    betas = [np.asarray(nsd.load_nifti(nsd.betas_path(root, subject, s), ndim=4).dataobj)[mask].T.astype(np.float32)
             / nsd.BETA_SCALE for s in sessions]
    values = zscore_rows_within(np.concatenate(betas), trials["run"].to_numpy())
    values, _ = response_rows(values, trials, True)
    shape = values.astype(np.float32).shape
print(json.dumps({{"seconds": time.perf_counter() - start, "shape": list(shape),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(root: Path, subject: int, sessions: int, method: str) -> dict:
    """Run one ingestion in a fresh Python process; its wall time, output shape and peak RSS."""
    code = CHILD.format(src=str(REPO / "src"), root=str(root), subject=subject, sessions=list(range(1, sessions + 1)),
                        cfg=CFG, method=method)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    import nibabel as nib

    from neurorecon.io import nsd
    from neurorecon.synth import nsd as nsd_synth

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--voxels", type=int, nargs="+", default=[NSDGENERAL_SUBJ01, 100000],
                        help="ROI sizes; the first is used for the session series, the others at the second-largest session count")
    parser.add_argument("--tmpdir", help="where to write the files (about 1 GB)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as folder:
        started = time.perf_counter()
        root = nsd_synth.write_nsd_layout(Path(folder), max(args.sessions), args.voxels[0])
        for subject, voxels in enumerate(args.voxels[1:], start=2):  # other ROI sizes share the session files
            roi = nsd.roi_path(root, subject)
            roi.parent.mkdir(parents=True)
            nib.save(nib.Nifti1Image(nsd_synth.ellipsoid_roi(nsd_synth.GRID_1PT8MM, voxels),
                                                         nsd_synth.AFFINE_1PT8MM), roi)
            for session in range(1, max(args.sessions) + 1):
                target = nsd.betas_path(root, subject, session)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(nsd.betas_path(root, 1, session), target)
        size_gb = nsd.betas_path(root, 1, 1).stat().st_size / 1e9
        print(f"wrote NSD-layout files in {time.perf_counter() - started:.0f} s (one session: {size_gb:.2f} GB gzipped)")
        cases = [(1, args.voxels[0], s) for s in args.sessions]
        middle = sorted(args.sessions)[-2] if len(args.sessions) > 1 else args.sessions[0]
        cases += [(subject, voxels, middle) for subject, voxels in enumerate(args.voxels[1:], start=2)]
        for subject, voxels, sessions in cases:
            for method in ("streaming", "all-at-once"):
                result = measure(root, subject, sessions, method)
                rows.append({"method": method, "sessions": sessions, "voxels": voxels, "rows": result["shape"][0],
                             "seconds": result["seconds"], "peak_mb": result["peak_mb"]})
                print(f"  {method:12s} sessions {sessions:2d} voxels {voxels:6d}: {result['seconds']:6.1f} s, "
                      f"peak {result['peak_mb']:7.0f} MB", flush=True)
    table = pd.DataFrame(rows)
    print("\n" + table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    series = table[table["voxels"] == args.voxels[0]]
    print(f"\nfitted growth at {args.voxels[0]} voxels (least squares over sessions {args.sessions}), "
          "extrapolated to NSD's 40 sessions:")
    for method, group in series.groupby("method", sort=False):
        memory = np.polyfit(group["sessions"], group["peak_mb"], 1)
        seconds = np.polyfit(group["sessions"], group["seconds"], 1)
        print(f"  {method:12s} peak MB = {memory[1]:.0f} + {memory[0]:.1f} x sessions -> {np.polyval(memory, 40):.0f} MB; "
              f"seconds = {seconds[1]:.1f} + {seconds[0]:.1f} x sessions -> {np.polyval(seconds, 40):.0f} s")


if __name__ == "__main__":
    main()
