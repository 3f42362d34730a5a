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
from .rules import DEAD_COLUMN
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


def gauss_newton_step(st: Structure, theta: np.ndarray, residual: np.ndarray,
                      jacobian: np.ndarray, damping: np.ndarray | None = None) -> np.ndarray:
    """One bound-constrained Gauss–Newton step for each of B problems: θ + δ with
    δ = argmin |r + Jδ|² (+ λ·Σ diag(JᵀJ)·δ², Marquardt's damping, when ``damping`` λ (B,) is
    given) inside the box (:func:`box_qp`) — the linear response δθ = −(JᵀJ)⁻¹Jᵀr of a problem
    that is a small change of a solved one (the background variants of
    :mod:`xpsfit.engine.background_variants`), bounds kept exactly. ``residual`` (B, m) and
    ``jacobian`` (B, m, nθ) at ``theta`` (B, nθ); rows with non-finite input stay."""
    lo, hi = st.lo, st.hi
    theta = np.array(theta, dtype=float)
    J = np.asarray(jacobian, dtype=float)
    Jt = J.transpose(0, 2, 1)
    g = np.matmul(Jt, np.asarray(residual, dtype=float)[..., None])[..., 0]
    H = np.matmul(Jt, J)
    if damping is not None:
        d = np.diagonal(H, axis1=1, axis2=2)
        H = H + np.eye(H.shape[1]) * (np.asarray(damping)[:, None] * d)[:, None, :]
    ok = np.all(np.isfinite(H), axis=(1, 2)) & np.all(np.isfinite(g), axis=1)
    if ok.any():
        t = theta[ok]
        theta[ok] = np.clip(t + box_qp(H[ok], g[ok], lo - t, hi - t), lo, hi)
    return theta


def box_qp(H: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           max_iter: int = 200) -> np.ndarray:
    """min ½δᵀHδ + gᵀδ subject to lo ≤ δ ≤ hi (lo ≤ 0 ≤ hi) for B problems at once (H (B, n, n),
    g, lo, hi (B, n)), by a primal active set from δ = 0 (Nocedal & Wright, Numerical
    Optimization, §16.5): a variable that blocks the step is held on its bound, those whose
    multipliers say they want back in are released. It starts with the variables held that sit
    on a bound (closer than a thousandth of their own Newton step) and are pushed outwards —
    the active set of the solved problem, which a small change rarely alters. Columns the data
    do not constrain (``DEAD_COLUMN``, as the covariance) do not move."""
    B, n = g.shape
    d = np.diagonal(H, axis1=1, axis2=2)
    dead = ~(d > DEAD_COLUMN ** 2 * np.maximum(d.max(axis=1, keepdims=True), 1e-300))
    s = np.where(dead, 1.0, 1.0 / np.sqrt(np.where(dead, 1.0, d)))
    Hs = H * s[:, :, None] * s[:, None, :]       # unit diagonal: well scaled for solve
    gs, los, his = g * s, lo / s, hi / s
    at_lo = ~dead & (gs > 0) & (-los <= 1e-3 * gs)
    at_hi = ~dead & (gs < 0) & (his <= -1e-3 * gs)
    delta = np.where(at_lo, los, np.where(at_hi, his, 0.0))
    eye = np.eye(n)
    todo = np.ones(B, bool)
    rows = np.arange(B)
    for _ in range(max_iter):
        free = ~(at_lo | at_hi | dead)
        grad = np.matmul(Hs, delta[..., None])[..., 0] + gs
        M = np.where(free[:, :, None] & free[:, None, :], Hs, 0.0) + eye * (~free)[:, None, :]
        rhs = np.where(free, -grad, 0.0)
        try:
            p = np.linalg.solve(M, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            p = _solve_each(M, rhs)
        p = np.where(free & np.isfinite(p) & todo[:, None], p, 0.0)
        still = np.all(np.abs(p) <= 1e-12 * (1.0 + np.abs(delta)), axis=1)
        wrong = still[:, None] & ((at_lo & (grad < 0)) | (at_hi & (grad > 0)))
        todo &= ~(still & ~wrong.any(axis=1))
        if not todo.any():
            break
        at_lo &= ~wrong
        at_hi &= ~wrong
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(p < 0, (los - delta) / p, np.where(p > 0, (his - delta) / p, np.inf))
        i = np.argmin(np.where(free, room, np.inf), axis=1)
        alpha = np.clip(room[rows, i], 0.0, 1.0)
        delta = delta + alpha[:, None] * p
        block = (alpha < 1.0) & ~still
        down = block & (p[rows, i] < 0)
        up = block & ~down
        at_lo[rows[down], i[down]] = True
        at_hi[rows[up], i[up]] = True
        delta[rows[down], i[down]] = los[rows[down], i[down]]
        delta[rows[up], i[up]] = his[rows[up], i[up]]
    return delta * s


__all__ = ["Solution", "solve_trf", "solve_lm", "gauss_newton_step", "box_qp"]
