"""XPS backgrounds, pure numpy/scipy, on an ASCENDING binding-energy axis.

All functions take ``x`` (binding energy, eV, strictly ascending) and ``y`` (counts, same length) and
return the background curve on ``x``. Callers convert descending or kinetic-energy data first
(xpsfit.spectrum guarantees ascending BE); a descending axis is refused with
:class:`BackgroundInputError` (a ``ValueError`` and an :class:`xpsfit.errors.FitError`) because it
would put the Shirley step on the wrong side of the peak.

* :func:`shirley` — iterative Proctor–Sherwood on the data, endpoints averaged over n points.
* :func:`shirley_step` / :func:`cumulative_integral` — the "active" Shirley, where the engine fits
  B = c0 + k·∫(model peaks) instead of iterating on the noisy data.
* :func:`tougaard` — universal cross-section K(T) = B·T/((C + C'·T²)² + D·T²).
* :func:`linear`, :func:`none`.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from xpsfit.errors import FitError

__all__ = [
    "BACKGROUNDS", "STATIC_BACKGROUNDS", "BackgroundInputError", "endpoint_levels", "shirley",
    "shirley_batch", "shirley_fixed_point", "shirley_step",
    "cumulative_integral", "tougaard", "tougaard_kernel", "linear", "none",
]

#: the background registry: every front-end (recipe checks, engine, CLI, GUI lists) reads it
BACKGROUNDS = ("shirley", "shirley_active", "tougaard", "linear", "none")
#: backgrounds computed once from the data before the fit (the active Shirley is fitted)
STATIC_BACKGROUNDS = ("shirley", "tougaard", "linear", "none")


class BackgroundInputError(FitError, ValueError):
    """Data a background cannot be computed on (descending axis, NaN, too few points, ...)."""


def _check(x, y, endpoints: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or y.shape != x.shape:
        raise BackgroundInputError(f"background needs 1-D x and y of equal length, got shapes "
                                   f"{x.shape} and {y.shape}")
    if x.size < 2:
        raise BackgroundInputError(f"background needs at least 2 points, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise BackgroundInputError("background input contains NaN or infinite values")
    if not np.all(np.diff(x) > 0):
        raise BackgroundInputError("binding energy must be strictly ascending for the background "
                                   "(convert descending/kinetic-energy data first)")
    if endpoints is not None and not 1 <= endpoints <= x.size // 2:
        raise BackgroundInputError(f"endpoints must be between 1 and {x.size // 2} for {x.size} "
                                   f"points, got {endpoints}")
    return x, y


def endpoint_levels(y, endpoints: int) -> tuple[float, float]:
    """(I_lo, I_hi): means of the first and the last ``endpoints`` values (low- and high-BE ends)."""
    y = np.asarray(y, dtype=float)
    n = max(1, min(int(endpoints), y.size))
    return float(y[:n].mean()), float(y[-n:].mean())


def cumulative_integral(x, peaks) -> np.ndarray:
    """Trapezoid ∫_{x0}^{x} peaks dx', starting at 0, along the last axis (peaks may be (..., N)).

    This is the active-Shirley basis: the engine models B = c0 + k·cumulative_integral(x, Σ peaks).
    """
    x = np.asarray(x, dtype=float)
    p = np.asarray(peaks, dtype=float)
    out = np.empty(p.shape)
    out[..., 0] = 0.0
    seg = out[..., 1:]
    np.add(p[..., 1:], p[..., :-1], out=seg)
    seg *= 0.5 * np.diff(x)
    np.cumsum(seg, axis=-1, out=seg)
    return out


def shirley_step(x, peaks) -> np.ndarray:
    """Normalised step of the active Shirley: ∫_{x0}^{x} peaks / ∫_{x0}^{xN} peaks (0 → 1).

    Returns zeros when the peaks integrate to zero (nothing to step over).
    """
    c = cumulative_integral(x, peaks)
    total = c[..., -1:]
    safe = np.where(total != 0.0, total, 1.0)
    return np.where(total != 0.0, c / safe, 0.0)


def shirley(x, y, *, endpoints: int = 5, tol: float = 1e-6, max_iter: int = 100,
            return_info: bool = False):
    """Iterative Shirley (Proctor–Sherwood) background of the data.

    Starting from B⁽⁰⁾ = I_lo, iterate B⁽ᵏ⁾(x) = I_lo + (I_hi − I_lo)·S(x)/S(x_N) with
    S(x) = ∫_{x0}^{x} (y − B⁽ᵏ⁻¹⁾) dx' (trapezoid), so B rises from the low-BE level I_lo to the
    high-BE level I_hi (each the mean of ``endpoints`` points). Converged when
    max|B⁽ᵏ⁾ − B⁽ᵏ⁻¹⁾| < tol·|I_hi − I_lo|. When I_hi == I_lo the Shirley is exactly the flat level
    and is returned at once (n_iter = 1).

    Returns the background, or (background, n_iter, converged) with ``return_info=True``. When
    the iteration does not settle (it oscillates or runs away on real spectra whose high-BE end
    lies below the Shirley step, e.g. a full C 1s window), the fixed point is solved directly
    (:func:`shirley_fixed_point`) and converged=True if it exists; when no Shirley with these end
    levels exists, or the peak integral vanishes, the LINEAR background is returned with
    converged=False (the fit names the fallback). Never NaN for finite input.
    """
    x, y = _check(x, y, endpoints)
    i_lo, i_hi = endpoint_levels(y, endpoints)
    step = i_hi - i_lo
    bg = np.full_like(y, i_lo)
    if step == 0.0:                      # no step: the Shirley is the flat level, exactly
        return (bg, 1, True) if return_info else bg
    limit = tol * abs(step)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        s = cumulative_integral(x, y - bg)
        if not np.isfinite(s[-1]) or s[-1] == 0.0:
            bg = linear(x, y, endpoints=endpoints)
            converged = False
            break
        new = i_lo + step * (s / s[-1])
        change = np.max(np.abs(new - bg))
        bg = new
        if change < limit:
            converged = True
            break
    if not converged:
        bg, converged = _shirley_rescue(x, y, endpoints)
    return (bg, n_iter, converged) if return_info else bg


def shirley_batch(x, y, *, endpoints=5, tol: float = 1e-6, max_iter: int = 100
                  ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shirley` for every row of ``y`` (B, N) at once: (backgrounds, converged (B,)).

    ``endpoints`` is one count for every row or one per row (B,) — the background-systematics
    variants compute several end-point widths of one spectrum in one call. Rows stop updating
    at the iteration where they converge, so each row gets exactly the single-spectrum result;
    rows whose peak integral vanishes go through :func:`shirley`."""
    x = np.asarray(x, dtype=float)
    y = np.atleast_2d(np.asarray(y, dtype=float))
    B = y.shape[0]
    ends = np.broadcast_to(np.asarray(endpoints, dtype=int), (B,))
    if np.all(ends == ends[0]):
        n = int(ends[0])
        i_lo = y[:, :n].mean(axis=1, keepdims=True)
        i_hi = y[:, -n:].mean(axis=1, keepdims=True)
    else:
        levels = np.array([endpoint_levels(row, n) for row, n in zip(y, ends)])
        i_lo, i_hi = levels[:, :1], levels[:, 1:]
    step = i_hi - i_lo
    bg = np.repeat(i_lo, y.shape[1], axis=1)
    limit = tol * np.abs(step[:, 0])
    active = step[:, 0] != 0.0
    converged = ~active
    special = np.zeros(B, bool)
    for _ in range(max_iter):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        s = cumulative_integral(x, y[a] - bg[a])
        end = s[:, -1:]
        bad = ~np.isfinite(end[:, 0]) | (end[:, 0] == 0.0)
        new = i_lo[a] + step[a] * (s / np.where(bad[:, None], 1.0, end))
        change = np.max(np.abs(new - bg[a]), axis=1)
        upd = ~bad
        bg[a[upd]] = new[upd]
        conv = upd & (change < limit[a])
        converged[a[conv]] = True
        active[a[conv | bad]] = False
        special[a[bad]] = True
    for b in np.flatnonzero(special):
        bg[b], _, converged[b] = shirley(x, y[b], endpoints=int(ends[b]), tol=tol,
                                         max_iter=max_iter, return_info=True)
    for b in np.flatnonzero(~converged & ~special):
        bg[b], converged[b] = _shirley_rescue(x, y[b], int(ends[b]))
    return bg, converged


#: the fixed point is searched for k·(x_N − x_0) up to this: beyond it the "background" follows
#: the data over a few points and is no Shirley step any more
SHIRLEY_K_SPAN_MAX = 30.0


def _shirley_curves(x: np.ndarray, y: np.ndarray, i_lo: float, k: np.ndarray) -> np.ndarray:
    """B(k) (len(k), N): the discrete solution of B = I_lo + k·∫(y − B) (trapezoid, the same
    sum as :func:`cumulative_integral`), by its exact recurrence
    B_i (1 + a) = B_{i−1} (1 − a) + a (y_i + y_{i−1}), a = k·h_i/2."""
    k = np.atleast_1d(np.asarray(k, dtype=float))
    out = np.empty((k.size, x.size))
    out[:, 0] = i_lo
    h = np.diff(x)
    for i in range(1, x.size):
        a = 0.5 * k * h[i - 1]
        out[:, i] = (out[:, i - 1] * (1 - a) + a * (y[i] + y[i - 1])) / (1 + a)
    return out


def shirley_fixed_point(x, y, *, endpoints: int = 5) -> np.ndarray | None:
    """The Shirley background as the fixed point itself, without iterating: B = I_lo + k·∫(y − B)
    is linear in B for a given k, so B(k) follows from a recurrence and k is the smallest
    positive root of B_N(k) = I_hi (the least data-following solution). None when no root exists
    for k·(x_N − x_0) ≤ :data:`SHIRLEY_K_SPAN_MAX` (the data cannot carry a Shirley step between
    these end levels)."""
    x, y = _check(x, y, endpoints)
    i_lo, i_hi = endpoint_levels(y, endpoints)
    if i_hi == i_lo:
        return np.full_like(y, i_lo)
    span = float(x[-1] - x[0])
    ks = np.geomspace(1e-6, SHIRLEY_K_SPAN_MAX, 80) / span
    g = _shirley_curves(x, y, i_lo, ks)[:, -1] - i_hi
    s0 = np.sign(i_lo - i_hi)
    change = np.flatnonzero(np.sign(g) != s0)
    if change.size == 0:
        return None
    hi = int(change[0])
    if hi == 0:
        k = float(ks[0])
    else:
        from scipy.optimize import brentq
        k = brentq(lambda kk: _shirley_curves(x, y, i_lo, kk)[0, -1] - i_hi,
                   ks[hi - 1], ks[hi], xtol=1e-14 / span, rtol=1e-12)
    return _shirley_curves(x, y, i_lo, k)[0]


def _shirley_rescue(x, y, endpoints) -> tuple[np.ndarray, bool]:
    """After a failed iteration: the directly solved fixed point, else the linear background."""
    fixed = shirley_fixed_point(x, y, endpoints=endpoints)
    if fixed is not None and np.all(np.isfinite(fixed)):
        return fixed, True
    return linear(x, y, endpoints=endpoints), False


def tougaard_kernel(t, B: float = 2866.0, C: float = 1643.0, C_prime: float = 1.0,
                    D: float = 0.0) -> np.ndarray:
    """Universal inelastic cross-section K(T) = B·T/((C + C'·T²)² + D·T²) (eV⁻¹), T = energy loss ≥ 0.

    U2 (Tougaard 1987/89): B = 2866 eV², C = 1643 eV², C' = 1, D = 0. C' = −1 gives the three-
    parameter form (C − T²)² + D·T².
    """
    t = np.asarray(t, dtype=float)
    denom = (C + C_prime * t * t) ** 2 + D * t * t
    return np.where(t > 0, B * t / np.where(denom > 0, denom, np.inf), 0.0)


def _loss_integral(x: np.ndarray, f: np.ndarray, kernel) -> np.ndarray:
    """I_i = ∫_{x0}^{x_i} K(x_i − x') f(x') dx' with the trapezoid rule (K(0) = 0)."""
    dx = np.diff(x)
    if np.allclose(dx, dx[0], rtol=1e-6, atol=0.0):
        # uniform grid: a discrete convolution; the trapezoid halves only the x0 term since
        # the x_i term is multiplied by K(0) = 0
        h = dx.mean()
        k = kernel(h * np.arange(x.size))
        full = signal.oaconvolve(f, k)[: x.size] if x.size > 64 else np.convolve(f, k)[: x.size]
        return h * (full - 0.5 * k * f[0])
    out = np.empty_like(f)
    w = np.zeros_like(f)
    for i in range(x.size):      # non-uniform axes are rare (merged scans); O(N²) is fine there
        w[:i + 1] = 0.0
        if i > 0:
            w[:i] += 0.5 * dx[:i]
            w[1:i + 1] += 0.5 * dx[:i]
        out[i] = np.dot(w[:i + 1], kernel(x[i] - x[:i + 1]) * f[:i + 1])
    return out


def tougaard(x, y, *, B: float = 2866.0, C: float = 1643.0, C_prime: float = 1.0, D: float = 0.0,
             endpoints: int = 5, fit_B: bool = True) -> np.ndarray:
    """Tougaard background on a binding-energy axis; returns the full background curve.

    Electrons that lost energy T appear at higher BE, so the background at x collects intensity
    from LOWER BE: B_T(x) = ∫_{x0}^{x} K(x − x')·[y(x') − y_lo] dx', with y_lo the mean of the first
    ``endpoints`` points (the flat level below the peaks). The returned curve is y_lo + B_T(x), so
    ``y − tougaard(x, y)`` is the primary (peak) spectrum.

    With ``fit_B=True`` (usual practice) the cross-section scale B is rescaled so that the mean of
    the background over the last ``endpoints`` points equals the mean of the data there (the
    background meets the high-BE end); the given ``B`` is then only a starting value and the
    result does not depend on it. With ``fit_B=False`` the given B is used as is. The region must
    extend ≥ 30–50 eV past the peaks for a physical result.
    """
    x, y = _check(x, y, endpoints)
    y_lo, y_hi = endpoint_levels(y, endpoints)
    loss = _loss_integral(x, y - y_lo, lambda t: tougaard_kernel(t, B, C, C_prime, D))
    if fit_B:
        reached = loss[-endpoints:].mean()
        scale = (y_hi - y_lo) / reached if reached != 0.0 and np.isfinite(reached) else 0.0
        loss = loss * scale
    return y_lo + loss


def linear(x, y, *, endpoints: int = 5) -> np.ndarray:
    """Straight line through the two endpoint averages: (mean x, mean y) of the first and of the last
    ``endpoints`` points. Placing each average at the mean x of its points (not at x0/xN) keeps an
    already linear baseline exact; with endpoints=1 it is the line from (x0, y0) to (xN, yN).
    """
    x, y = _check(x, y, endpoints)
    i_lo, i_hi = endpoint_levels(y, endpoints)
    x_lo, x_hi = endpoint_levels(x, endpoints)
    return i_lo + (i_hi - i_lo) * (x - x_lo) / (x_hi - x_lo)


def none(x, y) -> np.ndarray:
    """No background: zeros on x."""
    return np.zeros(np.shape(x), dtype=float)
