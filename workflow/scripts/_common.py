"""Plumbing shared by the rule scripts: import path, thread limits, logging to the rule's log."""

import atexit
import logging
import os
import resource
import sys
import time
from pathlib import Path


def begin(snakemake) -> str:
    """Set up a rule script; returns the start time for its manifest."""
    sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(snakemake.threads)
    logging.basicConfig(
        filename=snakemake.log[0], level=logging.INFO, force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.captureWarnings(True)
    previous_hook = sys.excepthook

    def log_then_raise(kind, error, trace):
        logging.getLogger("neurorecon").error("failed: %s", error, exc_info=(kind, error, trace))
        previous_hook(kind, error, trace)

    sys.excepthook = log_then_raise
    atexit.register(_log_usage, time.monotonic())
    from neurorecon.artifacts import now_iso

    return now_iso()


def _log_usage(started: float) -> None:
    """Last log line: the job's wall time and peak memory, to size its mem_mb and runtime against."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    logging.getLogger("neurorecon").info("wall %.1f s, peak memory %.0f MB", time.monotonic() - started, peak_mb)


def subject_of(snakemake) -> str:
    """The job's subject label: the fMRI ``subject`` wildcard or the EEG / sEEG ``sensor_subject``."""
    return getattr(snakemake.wildcards, "subject", None) or snakemake.wildcards.sensor_subject


def progress(iterable, description: str, total: int | None = None):
    """A progress bar on the terminal for long loops."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=description, total=total, mininterval=1.0, file=sys.stderr, leave=False)
