"""Uncertainty propagation and goodness-of-fit numbers for XPS fits.

* fractions f_i = A_i / ΣA with σ from the AREA covariance: ∂f_i/∂A_k = (δ_ik − f_i)/ΣA, so
  Cov_f = D Cov_A Dᵀ (correlations included: overlapping components are anti-correlated, which
  makes the fraction σ smaller or larger than a naive estimate);
* σ of any derived scalar g(θ) by the delta method, σ² = ∇gᵀ C ∇g;
* the Abbe criterion (von Neumann ratio) of normalised residuals;
* correlation matrix and the strongly correlated pairs.

Monte Carlo refits live in :mod:`xpsfit.fit` (they need the engine); this module only summarises
them (:func:`mc_summary`).
"""
from __future__ import annotations

import math

import numpy as np


def fractions(areas) -> np.ndarray:
    """A_i / ΣA (NaN when the total is not positive)."""
    a = np.asarray(areas, dtype=float)
    total = a.sum()
    if not (total > 0):
        return np.full(a.shape, np.nan)
    return a / total


def fraction_jacobian(areas) -> np.ndarray:
    """D[i, k] = ∂f_i/∂A_k = (δ_ik − f_i)/ΣA."""
    a = np.asarray(areas, dtype=float)
    total = a.sum()
    f = a / total
    return (np.eye(a.size) - f[:, None]) / total


def fraction_covariance(areas, area_cov) -> np.ndarray:
    """Covariance of the fractions from the covariance of the areas."""
    d = fraction_jacobian(areas)
    return d @ np.asarray(area_cov, dtype=float) @ d.T


def fraction_stderr(areas, area_cov) -> np.ndarray:
    """1σ of each fraction, correlations included (NaN when the covariance is unavailable)."""
    a = np.asarray(areas, dtype=float)
    if area_cov is None or not np.all(np.isfinite(area_cov)) or not (a.sum() > 0):
        return np.full(a.shape, np.nan)
    var = np.diag(fraction_covariance(a, area_cov))
    return np.sqrt(np.clip(var, 0.0, None))


def delta_stderr(gradient, cov) -> float:
    """σ of a scalar with gradient ∇g (w.r.t. the varied parameters): sqrt(∇gᵀ C ∇g)."""
    if cov is None:
        return math.nan
    g = np.asarray(gradient, dtype=float)
    var = float(g @ np.asarray(cov) @ g)
    return math.sqrt(var) if var >= 0 and math.isfinite(var) else math.nan


def abbe(normalised_residuals) -> float:
    """Abbe criterion Σ(r_{i+1} − r_i)² / (2 Σ(r_i − r̄)²): ≈1 for white residuals, ≪1 when
    the residuals have structure (missing component, wrong shape or background)."""
    r = np.asarray(normalised_residuals, dtype=float)
    if r.size < 3:
        return math.nan
    den = 2.0 * float(np.sum((r - r.mean()) ** 2))
    if den == 0:
        return math.nan
    return float(np.sum(np.diff(r) ** 2)) / den


def correlation(cov) -> np.ndarray | None:
    """Correlation matrix from a covariance (None stays None; zero variances give NaN rows)."""
    if cov is None:
        return None
    c = np.asarray(cov, dtype=float)
    s = np.sqrt(np.clip(np.diag(c), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = c / np.outer(s, s)
    return r


def strong_pairs(cov, names, threshold: float = 0.9) -> list[tuple[str, str, float]]:
    """Pairs of parameters with |r| > threshold, strongest first."""
    r = correlation(cov)
    if r is None:
        return []
    out = []
    n = len(names)
    for i in range(n):
        for j in range(i + 1, n):
            if np.isfinite(r[i, j]) and abs(r[i, j]) > threshold:
                out.append((names[i], names[j], float(r[i, j])))
    return sorted(out, key=lambda t: -abs(t[2]))


def mc_summary(samples) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (ddof=1) over Monte Carlo refits (rows = refits)."""
    s = np.asarray(samples, dtype=float)
    if s.ndim != 2 or s.shape[0] < 2:
        n = s.shape[-1] if s.ndim else 0
        return np.full(n, np.nan), np.full(n, np.nan)
    return np.nanmean(s, axis=0), np.nanstd(s, axis=0, ddof=1)


def information_criteria(chisqr: float, ndata: int, nvarys: int) -> tuple[float, float]:
    """AIC and BIC in lmfit's convention: N ln(χ²/N) + 2k and N ln(χ²/N) + ln(N) k."""
    if not (chisqr > 0) or ndata <= 0:
        return math.nan, math.nan
    base = ndata * math.log(chisqr / ndata)
    return base + 2 * nvarys, base + math.log(ndata) * nvarys


__all__ = ["fractions", "fraction_jacobian", "fraction_covariance", "fraction_stderr",
           "delta_stderr", "abbe", "correlation", "strong_pairs", "mc_summary",
           "information_criteria"]
