"""Single-trial GLMs for all trials of a run at once, with nilearn's AR(1) model reproduced exactly.

nilearn's ``run_glm`` fits one design: ordinary least squares, an AR(1) coefficient per voxel from
the OLS residuals (Yule-Walker), that coefficient truncated to a grid of ``1 / bins``, then a
prewhitened least-squares fit per distinct coefficient. LSS (Mumford et al. 2012) calls it once
per trial, each time with a design of [this trial, the sum of the other trials, nuisance], so a
run of 63 trials costs 63 full GLMs, most of it Python overhead and repeated whitening.

LSS, the default, is solved in closed form: every trial's design spans [nuisance, sum of trials,
this trial], so with the first two projected out (shared by all trials) each trial adds one
direction. The OLS residuals' AR(1) sums (nilearn's Yule-Walker, including its subtraction of the
grand mean of each design's residual matrix) expand into matrix products of those directions with
one common residual, and for each distinct truncated coefficient the whitened fit is a 2 x 2
system per trial whose right-hand sides for all voxels are one matrix product.

LSA, and LSS designs that are (nearly) rank-deficient, take the general path: the designs are
stacked, pseudo-inverted in one call with scipy's cut-off (as nilearn's OLSModel), the residuals
of all designs are formed block by block, and for each distinct coefficient the data and the
designs that need it are whitened once and only the kept rows are multiplied with only the voxels
that carry that coefficient.

The betas equal nilearn's per-trial loop to rounding (tests/test_glm.py;
``benchmarks/glm.py`` times both). ``nilearn_single_trial_betas`` is that loop, kept as the
reference the tests and the benchmark compare against.
"""

from __future__ import annotations

import numpy as np

AR_BINS = 100  # nilearn's run_glm default: AR(1) coefficients truncated to multiples of 1/100
NOISE_MODELS = ("ols", "ar1")
METHODS = ("lsa", "lss")
# voxels per block, so that the stacked residuals (designs x scans x voxels, float64) stay near this size
BLOCK_BYTES = 256 * 2**20


def trial_designs(trials: np.ndarray, nuisance: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """The stacked designs (designs x scans x regressors) and the regressor rows whose betas are kept.

    LSA: one design [all trials, nuisance], keeping the trial rows. LSS: one design per trial,
    [this trial, sum of the other trials, nuisance], keeping row 0.
    """
    if method == "lsa":
        return np.column_stack([trials, nuisance])[None], np.arange(trials.shape[1])
    if method == "lss":
        total = trials.sum(axis=1)
        n_trials = trials.shape[1]
        designs = np.empty((n_trials, trials.shape[0], 2 + nuisance.shape[1]))
        designs[:, :, 0] = trials.T
        designs[:, :, 1] = total[None] - trials.T
        designs[:, :, 2:] = nuisance[None]
        return designs, np.array([0])
    raise ValueError(f"unknown single-trial method {method!r}; expected one of {METHODS}")


def _pinv(stack: np.ndarray) -> np.ndarray:
    """Pseudo-inverses of a stack of matrices with scipy.linalg.pinv's cut-off (as nilearn's OLSModel)."""
    return np.linalg.pinv(stack, rtol=max(stack.shape[-2:]) * np.finfo(stack.dtype).eps)


def _whiten(x: np.ndarray, rho: float) -> np.ndarray:
    """nilearn's AR(1) whitening along the scan axis (-2 for stacks): x_t - rho x_{t-1}, first scan kept."""
    out = x.copy()
    out[..., 1:, :] -= rho * x[..., :-1, :]
    return out


def _ar1_codes(timeseries: np.ndarray, designs: np.ndarray, pinvs: np.ndarray, bins: int) -> np.ndarray:
    """Truncated AR(1) coefficients as integers (designs x voxels): rho = code / bins, as run_glm."""
    n_designs, n_scans, _ = designs.shape
    n_voxels = timeseries.shape[1]
    # nilearn's Yule-Walker subtracts the grand mean of each design's residual matrix; residuals are
    # linear in the data, so that mean is the residual of the voxels' sum, divided by their number
    hat_sum = np.einsum("dsr,drt,t->ds", designs, pinvs, timeseries.sum(axis=1))
    grand_mean = (timeseries.sum(axis=1)[None] - hat_sum).sum(axis=1) / (n_scans * n_voxels)
    codes = np.empty((n_designs, n_voxels), dtype=np.int64)
    block = max(1, BLOCK_BYTES // (8 * n_designs * n_scans))
    for start in range(0, n_voxels, block):
        y = timeseries[:, start:start + block]
        residuals = y[None] - designs @ (pinvs @ y)           # designs x scans x voxels
        residuals -= grand_mean[:, None, None]
        lag0 = np.einsum("dsv,dsv->dv", residuals, residuals) / (n_scans * n_scans)
        lag1 = np.einsum("dsv,dsv->dv", residuals[:, :-1], residuals[:, 1:]) / ((n_scans - 1) * n_scans)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(lag0 > 0, lag1 / lag0, 0.0)
        codes[:, start:start + block] = (rho * bins).astype(int)
    return codes


def _coefficient_groups(codes: np.ndarray, bins: int):
    """For each distinct AR(1) code: rho, the (design, voxel) pairs that carry it, and the designs
    and voxels among them, so that each group is whitened once."""
    for code in np.unique(codes):
        uses = codes == code
        yield code * 1.0 / bins, uses, np.flatnonzero(uses.any(axis=1)), np.flatnonzero(uses.any(axis=0))


def _general_betas(timeseries: np.ndarray, designs: np.ndarray, keep: np.ndarray, noise_model: str,
                   bins: int) -> np.ndarray:
    """Betas of the ``keep`` regressors of every design (designs x kept x voxels), as nilearn's
    ``run_glm(timeseries, design, noise_model)`` gives them design by design."""
    pinvs = _pinv(designs)
    if noise_model == "ols":
        return pinvs[:, keep] @ timeseries
    betas = np.empty((designs.shape[0], len(keep), timeseries.shape[1]))
    codes = _ar1_codes(timeseries, designs, pinvs, bins)
    for rho, uses, which, cols in _coefficient_groups(codes, bins):
        whitened_data = _whiten(timeseries[:, cols], rho)
        kept_pinvs = _pinv(_whiten(designs[which], rho))[:, keep]
        for design, kept in zip(which, kept_pinvs):
            voxels = np.flatnonzero(uses[design, cols])
            betas[design][:, cols[voxels]] = kept @ whitened_data[:, voxels]
    return betas


def _orthonormal_basis(columns: np.ndarray, tolerance: float = 1e-8) -> np.ndarray | None:
    """An orthonormal basis of the columns' span, or None when they are not linearly independent
    with a margin (a pivot below ``tolerance`` times the largest)."""
    basis, upper = np.linalg.qr(columns)
    diagonal = np.abs(np.diag(upper))
    return basis if diagonal.size == 0 or diagonal.min() > tolerance * diagonal.max() else None


def _lss_ar1_codes(timeseries: np.ndarray, basis: np.ndarray, directions: np.ndarray, bins: int) -> np.ndarray:
    """AR(1) codes (trials x voxels) of every LSS design's OLS residuals, without forming them.

    Design i spans [N, s] (``basis``, orthonormal) plus one direction u_i (``directions``, unit
    columns orthogonal to it), so its residual is r0 - u_i c_i with r0 the residual of [N, s] and
    c_i = u_i'y. Every sum nilearn's Yule-Walker takes over it (with its grand-mean subtraction)
    expands into matrix products of the trials' directions with r0.
    """
    n_scans, n_voxels = timeseries.shape
    r0 = timeseries - basis @ (basis.T @ timeseries)
    u = directions
    c = u.T @ timeseries                                         # trials x voxels
    total = r0.sum(axis=0)[None] - c * u.sum(axis=0)[:, None]    # each residual's sum over scans
    mean = (total.sum(axis=1) / (n_scans * n_voxels))[:, None]   # nilearn's grand mean per design
    squares = (r0 * r0).sum(axis=0)[None] - c**2
    lagged = ((r0[:-1] * r0[1:]).sum(axis=0)[None] - c * (u[:-1].T @ r0[1:] + u[1:].T @ r0[:-1])
              + c**2 * (u[:-1] * u[1:]).sum(axis=0)[:, None])
    first = r0[0][None] - u[0][:, None] * c
    last = r0[-1][None] - u[-1][:, None] * c
    lag0 = (squares - 2 * mean * total + n_scans * mean**2) / (n_scans * n_scans)
    lag1 = (lagged - mean * (2 * total - first - last) + (n_scans - 1) * mean**2) / ((n_scans - 1) * n_scans)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(lag0 > 0, lag1 / lag0, 0.0)
    return (rho * bins).astype(int)


def _lss_fit(timeseries: np.ndarray, trials: np.ndarray, total: np.ndarray, nuisance: np.ndarray) -> np.ndarray:
    """LSS betas (trials x voxels) by least squares on [x_i, s - x_i, N] for each trial column x_i.

    That design spans [x_i, s, N]; with N projected out, the coefficients (a_x, a_s) on x_i and s
    solve a 2 x 2 system per trial, and the LSS beta (on x_i in the original design) is a_x + a_s.
    """
    basis = np.linalg.qr(nuisance)[0]
    x = trials - basis @ (basis.T @ trials)
    z = total - basis @ (basis.T @ total)
    xx, xz, zz = (x * x).sum(axis=0)[:, None], (x.T @ z)[:, None], z @ z
    xy, zy = x.T @ timeseries, (z @ timeseries)[None]
    det = xx * zz - xz**2
    return ((zz - xz) * xy + (xx - xz) * zy) / det


def _lss_betas(timeseries: np.ndarray, trials: np.ndarray, nuisance: np.ndarray, noise_model: str,
               bins: int) -> np.ndarray | None:
    """LSS betas (trials x voxels) in closed form, or None when some design is (nearly) rank-deficient,
    which the general path then solves by pseudo-inverse as nilearn does."""
    total = trials.sum(axis=1)
    basis = _orthonormal_basis(np.column_stack([nuisance, total]))
    if basis is None:
        return None
    directions = trials - basis @ (basis.T @ trials)
    norms = np.linalg.norm(directions, axis=0)
    if np.any(norms <= 1e-8 * np.linalg.norm(trials, axis=0).max()):
        return None
    if noise_model == "ols":
        codes = np.zeros((trials.shape[1], timeseries.shape[1]), dtype=int)
    else:
        codes = _lss_ar1_codes(timeseries, basis, directions / norms, bins)
    betas = np.empty(codes.shape)
    for rho, uses, rows, cols in _coefficient_groups(codes, bins):
        fit = _lss_fit(_whiten(timeseries[:, cols], rho), _whiten(trials[:, rows], rho),
                       _whiten(total[:, None], rho)[:, 0], _whiten(nuisance, rho))
        row, col = np.nonzero(uses[np.ix_(rows, cols)])
        betas[rows[row], cols[col]] = fit[row, col]
    return betas


def single_trial_betas(timeseries: np.ndarray, trials: np.ndarray, nuisance: np.ndarray,
                       method: str, noise_model: str, bins: int = AR_BINS) -> np.ndarray:
    """Per-trial response amplitudes (trials x voxels) by least squares all (LSA) or separate (LSS).

    ``timeseries`` is scans x voxels, ``trials`` scans x trials (one HRF-convolved regressor per
    trial), ``nuisance`` scans x nuisance regressors (drift, constant, confounds). Equal to
    nilearn's ``run_glm`` per design (``nilearn_single_trial_betas``) to rounding.
    """
    if noise_model not in NOISE_MODELS:
        raise ValueError(f"unknown noise model {noise_model!r}; expected one of {NOISE_MODELS}")
    timeseries = np.asarray(timeseries, dtype=np.float64)
    trials, nuisance = np.asarray(trials, dtype=np.float64), np.asarray(nuisance, dtype=np.float64)
    if method == "lss":
        betas = _lss_betas(timeseries, trials, nuisance, noise_model, bins)
        if betas is not None:
            return betas
    designs, keep = trial_designs(trials, nuisance, method)  # rejects an unknown method
    betas = _general_betas(timeseries, designs, keep, noise_model, bins)
    return betas[0] if method == "lsa" else betas[:, 0]


def nilearn_single_trial_betas(timeseries: np.ndarray, trials: np.ndarray, nuisance: np.ndarray,
                               method: str, noise_model: str) -> np.ndarray:
    """The same estimates from one nilearn ``run_glm`` per design: the reference implementation."""
    from nilearn.glm.first_level import run_glm

    timeseries = np.asarray(timeseries, dtype=np.float64)
    designs, keep = trial_designs(trials, nuisance, method)
    betas = np.empty((designs.shape[0], len(keep), timeseries.shape[1]))
    for index, design in enumerate(designs):
        labels, results = run_glm(timeseries, design, noise_model=noise_model, n_jobs=1)
        for label, result in results.items():
            betas[index][:, labels == label] = result.theta[keep]
    return betas[0] if method == "lsa" else betas[:, 0]
