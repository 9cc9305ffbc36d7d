"""GLMsingle-style single-trial estimates (Prince et al. 2022, eLife), the way NSD's betas were made.

On all runs of a subject together:

1. ON-OFF model: every trial in one regressor with the canonical HRF. Its R2 per voxel splits the
   voxels into those the task drives and a noise pool, at the crossing point of a two-Gaussian
   mixture fitted to the R2 values (GLMsingle's tail threshold).
2. HRF library: every trial its own regressor (LSA), fitted with each HRF of a library of
   double-gamma responses whose peak delays span a range; each voxel keeps the HRF with the
   highest R2.
3. GLMdenoise: principal components of the noise pool's time series (per run, nuisance projected
   out, each voxel scaled to unit norm) join the nuisance regressors; how many is chosen by
   leave-one-run-out cross-validation of the betas of stimuli shown in more than one run.
4. Fractional ridge (the fracridge package; Rokem & Kay 2020): per voxel, the fraction of the OLS
   beta norm that is kept is chosen by the same cross-validation, and the shrunk betas are
   rescaled to the OLS betas by a least-squares scale and offset (GLMsingle's autoscale).

Nuisance regressors (drift, constant, confounds, PCs) are projected out of data and design per run
(Frisch-Waugh-Lovell). A trial's regressor lives within its run, so the OLS fit over all runs is
the per-run fits side by side; the ridge, with one penalty per voxel for all runs, takes the
whole-session design. R2 is GLMsingle's: 100 (1 - |y - yhat|^2 / |y|^2) on the nuisance-projected
data, yhat from the trial regressors only.

Where no stimulus is shown in two runs nothing can be cross-validated: as GLMsingle does, the
denoising and the ridge are then switched off, and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import block_diag

from neurorecon.preprocess.hrf import double_gamma_hrf, hrf_regressors

CANONICAL_DELAY = 6.0  # glover's peak-gamma delay: the ON-OFF model's HRF
BLOCK_BYTES = 256 * 2**20  # voxels per ridge block so that the coefficients of all fractions stay near this


@dataclass(frozen=True)
class GlmsingleSettings:
    """The ``preprocess.fmri.glmsingle`` config section."""

    hrf_delay_range: tuple[float, float] = (4.0, 8.0)
    hrf_library_size: int = 21
    denoise: bool = True
    max_pcs: int = 10
    pcstop: float = 1.05
    fracridge: bool = True
    n_fracs: int = 20

    @classmethod
    def from_config(cls, cfg: dict) -> "GlmsingleSettings":
        return cls(**{**cfg, "hrf_delay_range": tuple(cfg["hrf_delay_range"])})

    @property
    def hrf_delays(self) -> np.ndarray:
        low, high = self.hrf_delay_range
        return np.linspace(low, high, self.hrf_library_size)

    @property
    def fracs(self) -> np.ndarray:
        """Fractions of the OLS norm tried, 1 first (GLMsingle's default: 1.00, 0.95, ..., 0.05)."""
        return np.linspace(1.0, 0.05, self.n_fracs) if self.n_fracs > 1 else np.ones(1)


@dataclass
class GlmsingleRun:
    """One run: data (scans x voxels, percent signal change), nuisance regressors and its trials."""

    timeseries: np.ndarray
    nuisance: np.ndarray
    frame_times: np.ndarray
    onsets: np.ndarray
    durations: np.ndarray
    conditions: np.ndarray   # stimulus id per trial: repeats of a stimulus are what is cross-validated


@dataclass
class GlmsingleResult:
    """Single-trial betas (trials x voxels, runs in order) and what each step chose."""

    betas: np.ndarray
    onoff_r2: np.ndarray
    r2_threshold: float
    noise_pool: np.ndarray     # voxels whose time series gave the PCs
    hrf_index: np.ndarray      # per voxel, into hrf_delays
    hrf_delays: np.ndarray
    r2: np.ndarray             # R2 of the chosen HRF's LSA fit
    pc_count: int
    xval_trend: np.ndarray     # cross-validation gain per number of PCs (higher is better)
    frac: np.ndarray           # per voxel, the kept fraction of the OLS norm
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """Numbers for the manifest."""
        delays = self.hrf_delays[self.hrf_index]
        return {
            "onoff_r2_threshold": round(float(self.r2_threshold), 4),
            "noise_pool_voxels": int(self.noise_pool.sum()),
            "hrf_delay_s_quartiles": [round(float(q), 3) for q in np.percentile(delays, [25, 50, 75])],
            "pc_count": int(self.pc_count),
            "xval_trend": [round(float(v), 4) for v in self.xval_trend],
            "frac_quartiles": [round(float(q), 3) for q in np.percentile(self.frac, [25, 50, 75])],
            "median_r2_percent": round(float(np.median(self.r2)), 3),
            "notes": self.notes,
        }


def _orthonormal(columns: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the columns' span (rank-aware)."""
    if columns.shape[1] == 0:
        return columns
    u, s, _ = np.linalg.svd(columns, full_matrices=False)
    return u[:, s > s.max() * max(columns.shape) * np.finfo(float).eps]


def _project_out(basis: np.ndarray, values: np.ndarray) -> np.ndarray:
    return values - basis @ (basis.T @ values)


def tail_threshold(values: np.ndarray, seed: int = 0) -> float:
    """Where a two-Gaussian mixture's upper component becomes the more likely one (GLMsingle's
    findtailthreshold): the R2 that separates task-driven voxels from the noise pool."""
    from sklearn.mixture import GaussianMixture

    finite = np.asarray(values, float)[np.isfinite(values)]
    if finite.size < 10 or np.ptp(finite) == 0:
        return float(np.median(finite)) if finite.size else 0.0
    mixture = GaussianMixture(n_components=2, n_init=3, tol=1e-8, max_iter=1000, random_state=seed).fit(finite[:, None])
    upper = int(np.argmax(mixture.means_[:, 0]))
    low, high = np.percentile(finite, [0.5, 99.5])
    grid = np.linspace(low, high, 500)
    posterior = mixture.predict_proba(grid[:, None])[:, upper]
    start = int(np.argmin(np.abs(grid - mixture.means_[1 - upper, 0])))  # from the lower component's mean
    crossing = np.flatnonzero(posterior[start:] >= 0.5)
    return float(grid[start + crossing[0]]) if crossing.size else float(np.median(finite))


def select_pc_count(xval_trend: np.ndarray, pcstop: float) -> int:
    """GLMsingle's stopping rule: the first number of PCs whose gain over none is within a factor
    ``pcstop`` of the largest gain (1 picks the best; a value <= 0 means -pcstop PCs, no search)."""
    if pcstop <= 0:
        return int(-pcstop)
    curve = np.asarray(xval_trend, float) - xval_trend[0]
    best, chosen = -np.inf, 0
    for count, value in enumerate(curve):
        if value > best:
            chosen, best = count, value
            if best * pcstop >= curve.max():
                break
    return chosen


def repeat_pairs(conditions: np.ndarray, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (held-out trial, training trial) pair of one stimulus in different runs: what leaving one
    run out at a time compares."""
    held_out, training = [], []
    for condition in np.unique(conditions):
        rows = np.flatnonzero(conditions == condition)
        if len(np.unique(runs[rows])) < 2:
            continue
        for i in rows:
            others = rows[runs[rows] != runs[i]]
            held_out.extend([i] * len(others))
            training.extend(others)
    return np.asarray(held_out, int), np.asarray(training, int)


def crossval_badness(candidates, reference: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Cross-validation error (voxels x candidates; lower is better), GLMsingle's calcbadness: betas are
    z-scored with the reference's mean and SD per voxel, and each candidate's betas of a stimulus in
    the training runs are compared with the reference's betas of the same stimulus in the held-out run."""
    held_out, training = pairs
    mean, sd = reference.mean(axis=0), reference.std(axis=0, ddof=1)
    sd[sd == 0] = 1.0
    target = (reference[held_out] - mean) / sd
    return np.stack([(((candidate[training] - mean) / sd - target) ** 2).sum(axis=0) for candidate in candidates],
                    axis=1)


class _Session:
    """The runs with nuisance projected out, and each trial's regressor for any library HRF."""

    def __init__(self, runs: list[GlmsingleRun], delays: np.ndarray):
        self.runs, self.delays = runs, delays
        self.trial_runs = np.concatenate([np.full(len(run.onsets), index) for index, run in enumerate(runs)])
        self.conditions = np.concatenate([np.asarray(run.conditions).astype(str) for run in runs])
        self.bounds = np.cumsum([0] + [len(run.onsets) for run in runs])
        kernels = [double_gamma_hrf(delay) for delay in delays]
        self.regressors = [[hrf_regressors(run.onsets, run.durations, run.frame_times, kernel)
                            for kernel in kernels] for run in runs]
        self.set_extra_nuisance([np.zeros((len(run.frame_times), 0)) for run in runs])

    def set_extra_nuisance(self, extra: list[np.ndarray]) -> None:
        """Nuisance regressors beyond the configured ones (the GLMdenoise PCs), per run."""
        self.bases = [_orthonormal(np.column_stack([run.nuisance, more])) for run, more in zip(self.runs, extra)]

    def data(self, index: int, voxels=slice(None)) -> np.ndarray:
        return _project_out(self.bases[index], self.runs[index].timeseries[:, voxels])

    def design(self, index: int, hrf: int) -> np.ndarray:
        return _project_out(self.bases[index], self.regressors[index][hrf])

    def onoff_r2(self) -> np.ndarray:
        """R2 of one regressor holding every trial, canonical HRF."""
        canonical = double_gamma_hrf(CANONICAL_DELAY)
        residual, total = 0.0, 0.0
        for index, run in enumerate(self.runs):
            x = _project_out(self.bases[index], hrf_regressors(run.onsets, run.durations, run.frame_times,
                                                               canonical).sum(axis=1, keepdims=True))
            y = self.data(index)
            fitted = x @ np.linalg.lstsq(x, y, rcond=None)[0]
            residual = residual + ((y - fitted) ** 2).sum(axis=0)
            total = total + (y ** 2).sum(axis=0)
        return _r2_percent(residual, total)

    def lsa(self, hrf_index: np.ndarray, with_r2: bool = False):
        """OLS single-trial betas (trials x voxels), each voxel with its library HRF (and its R2)."""
        n_voxels = self.runs[0].timeseries.shape[1]
        betas = np.zeros((self.bounds[-1], n_voxels))
        residual, total = np.zeros(n_voxels), np.zeros(n_voxels)
        for hrf in np.unique(hrf_index):
            voxels = np.flatnonzero(hrf_index == hrf)
            for index in range(len(self.runs)):
                x, y = self.design(index, hrf), self.data(index, voxels)
                beta = np.linalg.pinv(x) @ y
                betas[self.bounds[index]:self.bounds[index + 1], voxels] = beta
                if with_r2:
                    residual[voxels] += ((y - x @ beta) ** 2).sum(axis=0)
                    total[voxels] += (y ** 2).sum(axis=0)
        return (betas, _r2_percent(residual, total)) if with_r2 else betas

    def noise_components(self, pool: np.ndarray, count: int) -> list[np.ndarray]:
        """Per run, the first ``count`` principal time courses of the pool's unit-norm time series,
        each scaled to unit SD."""
        components = []
        for index in range(len(self.runs)):
            series = self.data(index, pool)
            norms = np.linalg.norm(series, axis=0)
            series = series[:, norms > 0] / norms[norms > 0]
            u = np.linalg.svd(series, full_matrices=False)[0][:, :count]
            components.append(u / u.std(axis=0, ddof=1))
        return components

    def ridge(self, hrf_index: np.ndarray, fracs: np.ndarray, pairs, progress=None):
        """Betas with each voxel's fraction chosen by cross-validation and autoscaled to OLS, and the
        fractions chosen."""
        from fracridge import fracridge

        ascending = np.sort(fracs)
        ols_column = int(np.flatnonzero(ascending == 1.0)[0])
        n_voxels = self.runs[0].timeseries.shape[1]
        betas, chosen = np.zeros((self.bounds[-1], n_voxels)), np.ones(n_voxels)
        groups = np.unique(hrf_index)
        for hrf in (progress or (lambda x: x))(groups):
            design = block_diag(*[self.design(index, hrf) for index in range(len(self.runs))])
            voxels = np.flatnonzero(hrf_index == hrf)
            block = max(1, BLOCK_BYTES // (8 * design.shape[1] * len(fracs)))
            for start in range(0, len(voxels), block):
                cols = voxels[start:start + block]
                data = np.concatenate([self.data(index, cols) for index in range(len(self.runs))])
                coef = fracridge(design, data, ascending, jit=False)[0].reshape(design.shape[1], len(fracs), -1)
                candidates = [coef[:, f] for f in range(len(fracs))]
                best = crossval_badness(candidates, candidates[ols_column], pairs).argmin(axis=1)
                picked = coef[:, best, np.arange(len(cols))]
                betas[:, cols] = _autoscale(picked, candidates[ols_column])
                chosen[cols] = ascending[best]
        return betas, chosen


def _r2_percent(residual: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 100.0 * (1.0 - residual / total), 0.0)


def _autoscale(shrunk: np.ndarray, ols: np.ndarray) -> np.ndarray:
    """Per voxel, the shrunk betas times the scale plus the offset that best fit the OLS betas
    (GLMsingle's wantautoscale); a negative or undefined scale keeps them as they are."""
    centred = shrunk - shrunk.mean(axis=0)
    variance = (centred ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(variance > 0, (centred * (ols - ols.mean(axis=0))).sum(axis=0) / variance, 1.0)
    offset = ols.mean(axis=0) - scale * shrunk.mean(axis=0)
    keep = scale < 0
    scale[keep], offset[keep] = 1.0, 0.0
    return shrunk * scale + offset


def glmsingle_betas(runs: list[GlmsingleRun], settings: GlmsingleSettings, progress=None) -> GlmsingleResult:
    """Single-trial betas of all runs of a subject, GLMsingle's four steps (see the module docstring).

    ``progress`` wraps the loops over library HRFs, PC counts and ridge groups (e.g. ``tqdm``).
    """
    wrap = progress or (lambda items, desc=None: items)
    session = _Session(runs, settings.hrf_delays)
    n_voxels = runs[0].timeseries.shape[1]
    notes = []
    onoff = session.onoff_r2()
    threshold = tail_threshold(onoff)
    noise_pool = onoff < threshold
    driven = onoff > threshold
    if not driven.any():
        driven[np.argsort(onoff)[-100:]] = True

    library_r2 = np.stack([session.lsa(np.full(n_voxels, hrf), with_r2=True)[1]
                           for hrf in wrap(range(len(session.delays)), "HRF library")])
    hrf_index = library_r2.argmax(axis=0)

    pairs = repeat_pairs(session.conditions, session.trial_runs)
    can_validate = len(pairs[0]) > 0
    if not can_validate and (settings.denoise or settings.fracridge):
        notes.append("no stimulus is shown in two runs: nothing to cross-validate, GLMdenoise and ridge are off")
    pc_count, xval_trend = 0, np.zeros(1)
    if settings.denoise and can_validate and settings.max_pcs > 0 and noise_pool.sum() > 1:
        components = session.noise_components(noise_pool, settings.max_pcs)
        candidates = []
        for count in wrap(range(settings.max_pcs + 1), "GLMdenoise"):
            session.set_extra_nuisance([c[:, :count] for c in components])
            candidates.append(session.lsa(hrf_index))
        xval_trend = -np.median(crossval_badness(candidates, candidates[0], pairs)[driven], axis=0)
        pc_count = select_pc_count(xval_trend, settings.pcstop)
        session.set_extra_nuisance([c[:, :pc_count] for c in components])
    elif settings.denoise and can_validate:
        notes.append("GLMdenoise off: no noise pool (every voxel is task-driven) or max_pcs is 0")

    ols, r2 = session.lsa(hrf_index, with_r2=True)
    if settings.fracridge and can_validate and len(settings.fracs) > 1:
        betas, frac = session.ridge(hrf_index, settings.fracs, pairs, progress=lambda g: wrap(g, "ridge"))
    else:
        betas, frac = ols, np.ones(n_voxels)
    return GlmsingleResult(betas=betas, onoff_r2=onoff, r2_threshold=threshold, noise_pool=noise_pool,
                           hrf_index=hrf_index, hrf_delays=session.delays, r2=r2, pc_count=pc_count,
                           xval_trend=xval_trend, frac=frac, notes=notes)
