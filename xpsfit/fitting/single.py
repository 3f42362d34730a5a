"""Single-spectrum fit: ``fit(spectrum, recipe) -> FitResult`` on the one engine.

compile (B = 1, one spectrum) → prepare → trust-region solve → covariance → result. lmfit stays
the way users may pass start values (``start`` as ``lmfit.Parameters``) and a cross-check
(``engine="lmfit"`` runs ``lmfit.minimize`` on the engine's own residual and Jacobian).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import FitError, Progress, tick
from ..recipe.spec import Recipe
from ..results import FitResult, Notice
from ..spectrum import DIM
from ..engine import background_variants
from ..engine.assemble import Solved, solved, spectrum_result
from ..engine.data import Data, prepare_spectra
from ..engine.evaluate import evaluate
from ..engine.solvers import Solution, solve_trf
from ..engine.threads import single_threaded
from ..engine.structure import Structure, compile_problem
from .referencing import fit_referenced, references_own_region


def _where(spectrum) -> dict:
    a = spectrum.attrs
    return {"path": a.get("source_file") or None, "block": a.get("block_index")}


@single_threaded
def fit(spectrum: xr.DataArray, recipe: Recipe, *, monte_carlo: int = 0,
        progress: Progress | None = None, seed: int = 0, start=None,
        engine: str = "trf", sigma_bg: bool | None = None) -> FitResult:
    """Fit one spectrum with a recipe.

    ``monte_carlo=N`` adds N refits of (best-fit model + Poisson noise), seeded by ``seed``, whose
    spread gives ``fraction_mc_stderr``. ``start`` overrides start values by parameter name (a
    dict or ``lmfit.Parameters``; used by series "propagate" mode). ``progress(done, total,
    message)`` returning True cancels. ``engine="lmfit"`` solves with lmfit's leastsq instead
    (cross-check). ``sigma_bg`` (default: the recipe's ``[background] sigma_bg``, on) adds the
    background-systematic σ of every area and fraction (:mod:`xpsfit.engine.background_variants`).

    Charge reference: when ``recipe.charge_reference`` lies in the recipe's own region, the
    spectrum is fitted, its axis shifted so that the reference line sits at its energy
    (:func:`xpsfit.spectrum.shift`) and fitted again (:func:`xpsfit.fitting.referencing.fit_referenced`);
    ``result.charge_shift`` and ``result.charge_reference`` record it.
    """
    if engine not in ("trf", "lmfit"):
        raise FitError(f"unknown engine {engine!r} (choose trf or lmfit)")
    with_bg = background_variants.wanted(recipe, sigma_bg)
    once = lambda sp, bg: _fit_once(sp, recipe, monte_carlo=monte_carlo, progress=progress,
                                    seed=seed, start=start, engine=engine, sigma_bg=bg)
    if not references_own_region(recipe):
        return once(spectrum, with_bg)
    # σ_bg belongs to the final fit on the referenced axis only, not to each refit before it
    result = fit_referenced(spectrum, recipe, lambda sp: once(sp, False))
    if with_bg:
        background_variants.apply(background_variants.spread(solved_of(result)), [result])
    return result


def solved_of(result: FitResult, st: Structure | None = None) -> Solved:
    """The engine's solved problem of a finished single fit (its data, θ at the result)."""
    st = st or compile_problem(result.recipe)
    data = prepare_spectra(st, [result.spectrum])
    theta = np.array([result.parameters[n].value for n in st.var_names])
    r, J = evaluate(st, theta[None, :], data)
    stats = result.statistics
    return solved(st, data, Solution(theta, stats.success, stats.message, stats.nfev,
                                     r[0], J[0]))


def _fit_once(spectrum, recipe, *, monte_carlo, progress, seed, start, engine,
              sigma_bg) -> FitResult:
    total = 1 + max(0, int(monte_carlo))
    tick(progress, 0, total, "fitting")
    st = compile_problem(recipe)
    data = prepare_spectra(st, [spectrum])
    theta0 = apply_start(st, data.theta0[0], start)
    if engine == "lmfit":
        sol = solve_lmfit(st, data, theta0, where=_where(spectrum))
    else:
        sol = solve_trf(st, data, theta0, progress=progress, total=total,
                        where=_where(spectrum))
    s = solved(st, data, sol)
    result = spectrum_result(s, 0)
    if sigma_bg:
        background_variants.apply(background_variants.spread(s), [result])
    tick(progress, 1, total, "fitted")
    if monte_carlo and monte_carlo > 0:
        _monte_carlo(result, st, data, sol, int(monte_carlo), seed, progress, total)
    return result


def apply_start(st: Structure, theta0: np.ndarray, start, *, clip: bool = True) -> np.ndarray:
    """θ with the free variables named in ``start`` (dict or lmfit.Parameters) replaced, kept
    inside the bounds unless ``clip`` is False (a model shown at a dragged value)."""
    if not start:
        return theta0
    values = {n: p.value for n, p in start.items()} if hasattr(start, "valuesdict") \
        else dict(start)
    theta = np.array(theta0, dtype=float)
    for k, name in enumerate(st.var_names):
        v = values.get(name)
        if v is not None and np.isfinite(v):
            theta[k] = float(v)
    return np.clip(theta, st.lo, st.hi) if clip else theta


def lmfit_parameters(st: Structure, theta: np.ndarray):
    """The problem as ``lmfit.Parameters`` (free with bounds, fixed, linked by expression)."""
    import lmfit
    params = lmfit.Parameters()
    P = st.values(theta[None, :])[0]
    for i, p in enumerate(st.params):
        if p.kind == "free":
            params.add(p.name, value=float(P[i]), min=p.min, max=p.max)
        elif p.kind == "fixed":
            params.add(p.name, value=float(P[i]), vary=False)
    for p in st.params:
        if p.kind == "linked":
            params.add(p.name, expr=p.expr)
    return params


def solve_lmfit(st: Structure, data: Data, theta0: np.ndarray, *, where=None) -> Solution:
    """The same problem through ``lmfit.minimize(method="leastsq")`` (a cross-check; slower)."""
    import lmfit
    params = lmfit_parameters(st, theta0)
    names = list(st.var_names)

    def vec(p):
        return np.array([p[n].value for n in names])[None, :]

    try:
        out = lmfit.minimize(lambda p: evaluate(st, vec(p), data, jacobian=False)[0][0], params,
                             method="leastsq", scale_covar=False,
                             Dfun=lambda p, *a, **k: evaluate(st, vec(p), data)[1][0])
    except (ValueError, FloatingPointError) as exc:
        raise FitError(f"the fit failed numerically: {exc}", **(where or {})) from None
    theta = vec(out.params)[0]
    r, J = evaluate(st, theta[None, :], data)
    return Solution(theta, bool(out.success), str(out.message), int(out.nfev), r[0], J[0])


def _monte_carlo(result: FitResult, st: Structure, data: Data, best: Solution, n: int,
                 seed: int, progress, total: int) -> None:
    """N refits of (best-fit model + Poisson noise) on the same structure; fraction_mc_stderr."""
    rng = np.random.default_rng(seed)
    seg = data.segments[0]
    scale = float(seg.count_scale[0])
    lam = np.clip(result.curves["envelope"].values * scale, 0.0, None)
    spectrum = data.spectra[0]
    x_all = np.asarray(spectrum[DIM].values, dtype=float)
    flip = x_all.size > 1 and x_all[0] > x_all[-1]
    samples = []
    for i in range(n):
        y_full = np.array(spectrum.values, dtype=float)
        asc = y_full[::-1] if flip else y_full
        asc[seg.keep] = rng.poisson(lam) / scale
        y_full = asc[::-1] if flip else asc
        try:
            d = prepare_spectra(st, [spectrum.copy(data=y_full)])
            sol = solve_trf(st, d, best.theta)
            if sol.success:
                P = st.values(sol.theta[None, :])[0]
                areas = P[st.qidx[0, :, 2]]
                samples.append(areas / areas.sum())
        except FitError:
            pass
        tick(progress, 2 + i, total, f"Monte Carlo {i + 1}/{n}")
    result.monte_carlo = len(samples)
    if len(samples) >= 2:
        sd = np.nanstd(np.array(samples), axis=0, ddof=1)
        for c, s in zip(result.components, sd):
            c.fraction_mc_stderr = float(s)
    if len(samples) < n:
        result.warnings.append(Notice(f"Monte Carlo: {n - len(samples)} of {n} refits failed",
                                      "monte_carlo"))


__all__ = ["fit", "apply_start", "lmfit_parameters", "solve_lmfit"]
