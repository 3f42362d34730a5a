"""Solvers over :func:`xpsfit.engine.evaluate.evaluate`.

* :func:`solve_trf` — one problem (a spectrum or a stacked joint series): scipy's
  trust-region-reflective ``least_squares`` with native bounds and ``x_scale="jac"``. (lmfit's
  ``leastsq`` with its sine bound transform crawls when an area sits at its 0 bound — up to 1500
  evaluations where TRF needs 10–30; lmfit stays available as a cross-check in
  :mod:`xpsfit.fit`.)
* :func:`solve_lm` — B independent problems at once (map pixels): a batched, bound-constrained
  Levenberg–Marquardt (Marquardt scaling, variables at a bound with the gradient pointing
  outwards held, steps projected into the box), so numpy's per-call overhead is paid per batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ..errors import Cancelled, FitError
from .data import Data
from .evaluate import evaluate
from .structure import Structure


#: convergence tolerances (relative cost change, step, gradient). Tight enough that a single fit,
#: a map pixel and a joint series solving the same problem agree to ~1e-6 in the fractions
#: (scipy's defaults of 1e-8 leave ~1e-4 in weakly determined directions); the extra
#: iterations cost ~10 % of a fit.
TOL = 1e-10
TOL_LM = 1e-11


@dataclass
class Solution:
    """Outcome of one minimisation."""
    theta: np.ndarray             # (nθ,)
    success: bool
    message: str
    nfev: int
    residual: np.ndarray          # weighted residual at θ (data points, then priors)
    jacobian: np.ndarray          # (m, nθ) at θ


def solve_trf(st: Structure, data: Data, theta0: np.ndarray | None = None, *,
              max_nfev: int | None = None, progress=None, total: int = 1,
              where: dict | None = None) -> Solution:
    """Minimise one problem (B = 1) from ``theta0`` (default: the prepared start)."""
    x0 = np.asarray(data.theta0[0] if theta0 is None else theta0, dtype=float)
    if st.n_vars == 0:
        r, J = evaluate(st, x0[None, :], data)
        return Solution(x0, True, "no free parameters", 1, r[0], J[0])
    x0 = np.clip(x0, st.lo, st.hi)
    calls = [0]
    cache: dict = {}

    def fun(theta):
        calls[0] += 1
        if progress is not None and calls[0] % 50 == 0 and progress(
                0, total, f"fitting ({calls[0]} evaluations)"):
            raise Cancelled("fit cancelled")
        r, J = evaluate(st, theta[None, :], data)
        cache["theta"], cache["J"] = theta.copy(), J[0]
        return r[0]

    def jac(theta):
        if "theta" in cache and np.array_equal(cache["theta"], theta):
            return cache["J"]
        return evaluate(st, theta[None, :], data)[1][0]

    try:
        with np.errstate(all="ignore"):
            ret = least_squares(fun, x0, jac=jac, bounds=(st.lo, st.hi), method="trf",
                                x_scale="jac", max_nfev=max_nfev or 100 * (st.n_vars + 1),
                                ftol=TOL, xtol=TOL, gtol=TOL)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        raise FitError(f"the fit failed numerically: {exc}", **(where or {})) from None
    r, J = evaluate(st, ret.x[None, :], data)
    return Solution(ret.x, bool(ret.status > 0), str(ret.message), int(ret.nfev), r[0], J[0])


def _solve_each(A: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    out = np.zeros_like(rhs)
    for b in range(A.shape[0]):
        try:
            out[b] = np.linalg.solve(A[b], rhs[b])
        except np.linalg.LinAlgError:
            out[b] = np.linalg.lstsq(A[b], rhs[b], rcond=None)[0]
    return out


#: a batched LM pixel whose cost moved less than this (relative) over 10 iterations has stalled in
#: a flat valley (a nearly unidentifiable direction): converged for every reported quantity
STALL = 1e-7


def solve_lm(st: Structure, data: Data, theta0: np.ndarray, rows: np.ndarray, *,
             max_iter: int = 200, ftol: float = None, xtol: float = None):
    """Batched bound-constrained Levenberg–Marquardt for the data ``rows`` of a batch.

    Returns (θ (b, nθ), success (b,), nfev (b,), J (b, m, nθ), r (b, m)) at the solution."""
    ftol = TOL_LM if ftol is None else ftol
    xtol = TOL_LM if xtol is None else xtol
    lo, hi = st.lo, st.hi
    theta = np.clip(np.array(theta0, float), lo, hi)
    B, nv = theta.shape
    r, J = evaluate(st, theta, data, rows)
    cost = 0.5 * np.einsum("bi,bi->b", r, r)
    lam = np.full(B, 1e-3)
    done = ~np.isfinite(cost)
    success = np.zeros(B, bool)
    nfev = np.ones(B, int)
    eye = np.eye(nv)
    checkpoint = cost.copy()
    for it in range(max_iter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        Ja, ra, ta = J[act], r[act], theta[act]
        Jt = Ja.transpose(0, 2, 1)
        g = np.matmul(Jt, ra[..., None])[..., 0]
        H = np.matmul(Jt, Ja)
        free = ~(((ta <= lo) & (g > 0)) | ((ta >= hi) & (g < 0)))
        d = np.diagonal(H, axis1=1, axis2=2)
        dscale = np.maximum(d, 1e-12 * np.maximum(d.max(axis=1, keepdims=True), 1e-300))
        ff = free[:, :, None] & free[:, None, :]
        A = np.where(ff, H, 0.0) + eye * np.where(free, lam[act, None] * dscale, 1.0)[:, None, :]
        rhs = np.where(free, -g, 0.0)
        try:
            step = np.linalg.solve(A, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = _solve_each(A, rhs)
        tn = np.clip(ta + step, lo, hi)
        with np.errstate(all="ignore"):
            rn, Jn = evaluate(st, tn, data, rows[act])
        nfev[act] += 1
        cn = 0.5 * np.einsum("bi,bi->b", rn, rn)
        ok = np.isfinite(cn) & (cn <= cost[act])
        # convergence only counts for near-Gauss-Newton steps: a heavily damped step is always
        # tiny and would stop the fit far from the minimum
        gn = lam[act] <= 1.0
        small_x = gn & np.all(np.abs(tn - ta) <= xtol * (np.abs(ta) + xtol), axis=1)
        small_f = gn & ok & ((cost[act] - cn) <= ftol * cost[act])
        acc = act[ok]
        theta[acc], r[acc], J[acc], cost[acc] = tn[ok], rn[ok], Jn[ok], cn[ok]
        lam[acc] = np.maximum(lam[acc] * 0.3, 1e-12)
        lam[act[~ok]] *= 10.0
        finished = small_f | small_x | (lam[act] > 1e12)
        success[act[finished]] = True
        done[act[finished]] = True
        if it % 10 == 9:
            # stalled in a flat valley (a nearly unidentifiable direction): the cost no longer
            # moves, which is convergence for every quantity reported
            stalled = act[(checkpoint[act] - cost[act]) <= STALL * cost[act]]
            success[stalled] = True
            done[stalled] = True
            checkpoint[act] = cost[act]
    return theta, success & np.isfinite(cost), nfev, J, r


def gauss_newton_steps(st: Structure, data: Data, theta0: np.ndarray, rows: np.ndarray,
                       jacobian: np.ndarray, *, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """A few bound-constrained Gauss–Newton steps for B problems that are small changes of one
    solved problem (the background variants of :mod:`xpsfit.engine.background_variants`): the
    linear response δθ = −(JᵀJ)⁻¹Jᵀr of each row, with the box kept exactly
    (:func:`box_qp`), then the same from the new θ.

    ``jacobian`` (B, N + n_prior, nθ) is each row's weighted Jacobian at ``theta0`` (given, so
    the first step costs no line-shape derivatives); later steps evaluate it anew. Returns
    (θ (B, nθ), cost (B,)): of each row the iterate with the lowest cost ½|r|² (a step that
    overshoots is not taken)."""
    lo, hi = st.lo, st.hi
    theta = np.clip(np.array(theta0, float), lo, hi)
    J = np.asarray(jacobian, dtype=float)
    with np.errstate(all="ignore"):
        r = evaluate(st, theta, data, rows, jacobian=False)[0]
    best, best_cost = theta.copy(), 0.5 * np.einsum("bi,bi->b", r, r)
    for it in range(steps):
        if it:
            with np.errstate(all="ignore"):
                r, J = evaluate(st, theta, data, rows)
        Jt = J.transpose(0, 2, 1)
        g = np.matmul(Jt, r[..., None])[..., 0]
        H = np.matmul(Jt, J)
        for b in range(theta.shape[0]):
            if np.all(np.isfinite(H[b])) and np.all(np.isfinite(g[b])):
                theta[b] = np.clip(theta[b] + box_qp(H[b], g[b], lo - theta[b], hi - theta[b]),
                                   lo, hi)
        with np.errstate(all="ignore"):
            r = evaluate(st, theta, data, rows, jacobian=False)[0]
        cost = 0.5 * np.einsum("bi,bi->b", r, r)
        better = np.isfinite(cost) & ~(cost > best_cost)
        best[better], best_cost[better] = theta[better], cost[better]
    return best, best_cost


def box_qp(H: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           max_iter: int = 100) -> np.ndarray:
    """min ½δᵀHδ + gᵀδ subject to lo ≤ δ ≤ hi (lo ≤ 0 ≤ hi), by a primal active set from δ = 0
    (Nocedal & Wright, Numerical Optimization, §16.5): a variable that blocks the step is held on
    its bound, one whose multiplier says it wants back in is released. A singular H (columns the
    data do not constrain) is solved in the least-squares sense, so those variables stay put."""
    n = g.size
    delta = np.zeros(n)
    at_lo = np.zeros(n, bool)
    at_hi = np.zeros(n, bool)
    for _ in range(max_iter):
        free = ~(at_lo | at_hi)
        grad = H @ delta + g
        p = np.zeros(n)
        if free.any():
            p[free] = np.linalg.lstsq(H[np.ix_(free, free)], -grad[free], rcond=1e-12)[0]
        if np.all(np.abs(p) <= 1e-12 * (1.0 + np.abs(delta))):
            mu = grad
            wrong = np.flatnonzero((at_lo & (mu < 0)) | (at_hi & (mu > 0)))
            if wrong.size == 0:
                return delta
            i = wrong[np.argmax(np.abs(mu[wrong]))]
            at_lo[i] = at_hi[i] = False
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(p < 0, (lo - delta) / p, np.where(p > 0, (hi - delta) / p, np.inf))
        room = np.where(free, room, np.inf)
        i = int(np.argmin(room))
        alpha = min(1.0, max(float(room[i]), 0.0))
        delta = delta + alpha * p
        if alpha < 1.0:
            if p[i] < 0:
                at_lo[i], delta[i] = True, lo[i]
            else:
                at_hi[i], delta[i] = True, hi[i]
    return delta


__all__ = ["Solution", "solve_trf", "solve_lm", "gauss_newton_steps", "box_qp"]
