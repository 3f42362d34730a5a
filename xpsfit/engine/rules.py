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
           "AT_BOUND_SIGMA", "MIN_EXTRA_POINTS", "endpoint_count", "at_bound"]
