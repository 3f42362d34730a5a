"""The numbers every front-end applies the same way: thresholds, tolerances, the end-point rule.

One home so that a single fit, a joint series, a map pixel and a presence test judge alike.
"""
from __future__ import annotations

import math

#: a component is detected / significant when its area exceeds this many σ
SIGNIFICANCE = 3.0
#: |correlation| above which a pair of parameters is reported as strongly correlated
CORRELATION_WARN = 0.95
#: a normal matrix (scaled by its diagonal) with a larger condition number gives no covariance
COND_MAX = 1e13
#: columns of the weighted Jacobian smaller than this (relative to the largest) are "dead":
#: the data do not constrain that variable at all (position/width of a zero-area component)
DEAD_COLUMN = 1e-12
#: a free parameter closer to a bound than max(AT_BOUND_SPAN · span, AT_BOUND_SIGMA · σ) is "at" it
AT_BOUND_SPAN = 1e-4
AT_BOUND_SIGMA = 0.01
#: points per fitted parameter beyond which a problem is solvable at all (N ≥ n_free + this)
MIN_EXTRA_POINTS = 5


# ---- the verdict of a fit (docs/verdicts.md; engine/verdict.py applies them)
#: χ² with absolute (Poisson) weights is rejected when its p-value for N − p dof is below this
VERDICT_P = 1e-3
#: ... and then the fit is "doubtful" above this χ²ᵣ and "bad" above the next (real spectra with
#: good fits sit at χ²ᵣ ≈ 1–2: line shapes are never exact at 10⁵ counts)
VERDICT_REDCHI_DOUBTFUL = 2.0
VERDICT_REDCHI_BAD = 5.0
#: lag-1 autocorrelation of the normalised residuals (≈ 0 ± 1/√N for white noise; 1 − Abbe):
#: structure beyond these is "doubtful" / "bad" (it must also exceed VERDICT_RHO_Z/√N; "bad"
#: only when χ²ᵣ > VERDICT_REDCHI_DOUBTFUL too: a misfit inside the noise stays "doubtful")
VERDICT_RHO_DOUBTFUL = 0.5
VERDICT_RHO_BAD = 0.8
VERDICT_RHO_Z = 4.0
#: the static background lies above the data by more than this many σ on more than
#: max(VERDICT_ABOVE_MIN, VERDICT_ABOVE_FRACTION · N) points: "bad"
VERDICT_ABOVE_SIGMA = 3.0
VERDICT_ABOVE_FRACTION = 0.02
VERDICT_ABOVE_MIN = 3
#: a component carrying at least VERDICT_FRACTION_MIN whose σ exceeds VERDICT_FRACTION_SIGMA
#: times its fraction is "doubtful" (the fraction is consistent with 0: not determined)
VERDICT_FRACTION_MIN = 0.05
VERDICT_FRACTION_SIGMA = 1.0


#: the static ↔ active Shirley background variant is not used for σ_bg when its χ² exceeds the
#: fit's by more than this times max(1, χ²ᵣ) (a 3σ worse fit: the data reject that background)
SWAP_CHI2 = 9.0


def endpoint_count(requested: int, n_points: int) -> int:
    """Points averaged at each end of a region for the static backgrounds and start values: the
    recipe's ``endpoints``, but at most a quarter of the region (never fewer than 1)."""
    return max(1, min(int(requested), n_points // 4))


def at_bound(value: float, lo: float, hi: float, stderr: float = math.nan) -> bool:
    """True when a free parameter sits on (or within tolerance of) one of its bounds."""
    span = hi - lo
    tol = AT_BOUND_SPAN * span if math.isfinite(span) and span > 0 else 1e-8
    if math.isfinite(stderr) and stderr > 0:
        tol = max(tol, AT_BOUND_SIGMA * stderr)
    return bool((math.isfinite(lo) and value - lo <= tol) or
                (math.isfinite(hi) and hi - value <= tol))


__all__ = ["SIGNIFICANCE", "CORRELATION_WARN", "COND_MAX", "DEAD_COLUMN", "AT_BOUND_SPAN",
           "AT_BOUND_SIGMA", "MIN_EXTRA_POINTS", "endpoint_count", "at_bound", "VERDICT_P",
           "VERDICT_REDCHI_DOUBTFUL", "VERDICT_REDCHI_BAD", "VERDICT_RHO_DOUBTFUL",
           "VERDICT_RHO_BAD", "VERDICT_RHO_Z", "VERDICT_ABOVE_SIGMA", "VERDICT_ABOVE_FRACTION",
           "VERDICT_ABOVE_MIN", "VERDICT_FRACTION_MIN", "VERDICT_FRACTION_SIGMA", "SWAP_CHI2"]
