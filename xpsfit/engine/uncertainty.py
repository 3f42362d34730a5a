"""The one covariance policy, for one problem or a batch.

* Unscaled covariance (JᵀJ)⁻¹ of the weighted Jacobian, inverted after scaling by its diagonal.
  Columns the data do not constrain at all ("dead": the position or width of a component whose
  area is exactly 0) are left out of the inversion and get NaN rows/columns, so they cannot make
  every other σ NaN; a normal matrix with condition number > COND_MAX (parameters degenerate)
  gives no covariance (all NaN).
* Scaling ("honest"): with raw counts the weights are absolute and the covariance is multiplied
  by max(1, χ²_ν) — never shrunk below counting statistics, inflated when the model does not
  describe the data; with relative weights (counts/s, arbitrary units) by χ²_ν.
* Any derived quantity g(θ) gets σ² = ∇gᵀ C ∇g (delta method); fractions f_i = A_i/ΣA use the
  area covariance with its correlations (∂f_i/∂A_k = (δ_ik − f_i)/ΣA).
"""
from __future__ import annotations

import numpy as np

from .rules import COND_MAX, DEAD_COLUMN


def covariance(J: np.ndarray) -> np.ndarray:
    """Unscaled covariance (B, nθ, nθ) from weighted Jacobians (B, m, nθ); NaN where unusable
    (dead columns: NaN rows/columns only)."""
    J = np.asarray(J, dtype=float)
    if J.ndim == 2:
        return covariance(J[None])[0]
    B, _, nv = J.shape
    out = np.full((B, nv, nv), np.nan)
    if nv == 0:
        return out
    finite = np.all(np.isfinite(J), axis=(1, 2))
    Jf = np.where(finite[:, None, None], J, 0.0)
    norms = np.sqrt(np.einsum("bmv,bmv->bv", Jf, Jf))
    live = norms > DEAD_COLUMN * np.maximum(norms.max(axis=1, keepdims=True), 1e-300)
    H = np.matmul(Jf.transpose(0, 2, 1), Jf)
    d = np.sqrt(np.diagonal(H, axis1=1, axis2=2))
    d_safe = np.where(live & (d > 0), d, 1.0)
    dd = d_safe[:, :, None] * d_safe[:, None, :]
    mask = live[:, :, None] & live[:, None, :]
    hs = np.where(mask, H / dd, np.eye(nv))
    idx = np.flatnonzero(finite & live.any(axis=1))
    if idx.size == 0:
        return out
    cond = np.linalg.cond(hs[idx])
    idx = idx[np.isfinite(cond) & (cond <= COND_MAX)]
    if idx.size:
        cov = np.linalg.inv(hs[idx]) / dd[idx]
        cov = np.where(mask[idx], cov, np.nan)
        diag = np.diagonal(cov, axis1=1, axis2=2)
        pos = np.all((diag > 0) | ~live[idx], axis=1)
        out[idx[pos]] = cov[pos]
    return out


def usable(cov: np.ndarray) -> bool:
    """A covariance with at least one finite variance (dead columns aside)."""
    return bool(np.isfinite(np.diagonal(cov)).any())


def scale_factor(redchi, absolute: bool):
    """max(1, χ²_ν) for absolute (raw-count) weights, χ²_ν for relative ones."""
    return np.maximum(1.0, redchi) if absolute else redchi


def propagate(grads: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Covariance of derived quantities with gradients ``grads`` (k, nθ) [or (B, k, nθ)]:
    G C Gᵀ, NaN for every quantity that depends on a variable without a variance."""
    cov = np.asarray(cov, dtype=float)
    dead = ~np.isfinite(np.diagonal(cov, axis1=-2, axis2=-1))
    c0 = np.nan_to_num(cov, nan=0.0)
    out = np.einsum("...iv,...vw,...jw->...ij", grads, c0, grads)
    touches = np.einsum("...iv,...v->...i", np.abs(grads), dead.astype(float)) > 0
    bad = touches[..., :, None] | touches[..., None, :]
    all_dead = dead.all(axis=-1)
    out = np.where(bad, np.nan, out)
    return np.where(np.asarray(all_dead)[..., None, None], np.nan, out)


def stderr(grads: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """1σ of derived quantities (k,) [or (B, k)] — the diagonal of :func:`propagate`."""
    var = np.diagonal(propagate(grads, cov), axis1=-2, axis2=-1)
    return np.sqrt(np.where(var >= 0, var, np.nan))


def fractions(areas: np.ndarray, area_cov: np.ndarray | None):
    """(fractions, σ) from areas (..., k) and their covariance (..., k, k)."""
    a = np.asarray(areas, dtype=float)
    total = a.sum(axis=-1, keepdims=True)
    ok = total > 0
    frac = np.where(ok, a / np.where(ok, total, 1.0), np.nan)
    if area_cov is None:
        return frac, np.full(a.shape, np.nan)
    k = a.shape[-1]
    D = (np.eye(k) - frac[..., :, None]) / np.where(ok, total, 1.0)[..., None]
    cf = np.einsum("...ik,...kl,...jl->...ij", D, area_cov, D)
    var = np.diagonal(cf, axis1=-2, axis2=-1)
    return frac, np.sqrt(np.where(var >= 0, var, np.nan))


def strong_pairs(cov: np.ndarray, names, threshold: float) -> list[tuple[str, str, float]]:
    """Pairs with |r| > threshold, strongest first."""
    s = np.sqrt(np.clip(np.diagonal(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.outer(s, s)
    i, j = np.triu_indices(len(names), 1)
    hit = np.isfinite(r[i, j]) & (np.abs(r[i, j]) > threshold)
    out = [(names[a], names[b], float(r[a, b])) for a, b in zip(i[hit], j[hit])]
    return sorted(out, key=lambda t: -abs(t[2]))


__all__ = ["covariance", "usable", "scale_factor", "propagate", "stderr", "fractions",
           "strong_pairs"]
