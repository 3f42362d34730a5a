"""Goodness of fit: the Abbe criterion of the residuals and the information criteria."""
from __future__ import annotations

import math

import numpy as np


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


def information_criteria(chisqr: float, ndata: int, nvarys: int) -> tuple[float, float]:
    """AIC and BIC in lmfit's convention: N ln(χ²/N) + 2k and N ln(χ²/N) + ln(N) k."""
    if not (chisqr > 0) or ndata <= 0:
        return math.nan, math.nan
    base = ndata * math.log(chisqr / ndata)
    return base + 2 * nvarys, base + math.log(ndata) * nvarys


__all__ = ["abbe", "information_criteria"]
