"""Single-spectrum fit: ``fit(spectrum, recipe) -> FitResult``.

lmfit ``leastsq`` (Levenberg–Marquardt) on the fast residual of :mod:`xpsfit.model`, with the
analytic Jacobian for pseudo-Voigt recipes.

Covariance ("honest"): lmfit's unscaled covariance (JᵀWJ)⁻¹ from the Jacobian with Poisson weights.
With raw counts the weights are absolute, so the covariance is multiplied by max(1, χ²_ν): never
shrunk below counting statistics, but inflated when the model does not describe the data
(χ²_ν > 1). With relative weights (counts/s, arbitrary units) it is scaled by χ²_ν.
Expression (linked) parameters and all derived quantities get σ by the delta method with the same
covariance.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import lmfit
import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from . import stats
from .errors import Cancelled, FitError
from .model import Model, build_model, values_of
from .recipe import Recipe
from .result import ComponentResult, FitResult, FitStatistics, ParameterRecord
from .spectrum import DIM

Progress = Callable[[int, int, str], "bool | None"]

CORRELATION_WARN = 0.9


def _true_fwhm(lineshape: str, fwhm: float, shape: dict[str, float]) -> float:
    if lineshape == "pseudo_voigt":
        return float(fwhm)        # pseudo-Voigt with a shared FWHM: the parameter is the FWHM
    from .lineshapes import true_fwhm
    return float(true_fwhm(lineshape, fwhm, **shape))


@dataclass
class Solution:
    """Outcome of one minimisation, independent of the solver used."""
    params: lmfit.Parameters          # best-fit values written back (links evaluated)
    var_names: list[str]
    covariance: np.ndarray | None     # unscaled (JᵀWJ)⁻¹ over var_names
    success: bool
    message: str
    nfev: int
    values: dict[str, float] | None = None   # all parameter values (links evaluated)

    def __post_init__(self):
        if self.values is None:
            self.values = values_of(self.params).copy()


def solve(model: Model, params: lmfit.Parameters, *, max_nfev: int | None = None,
          progress: Progress | None = None, total: int = 1) -> Solution:
    """Minimise the model's weighted residual over its free variables.

    scipy's trust-region-reflective ``least_squares`` on the free-variable vector with native
    bounds and ``x_scale="jac"``, the analytic Jacobian for pseudo-Voigt recipes, and links
    evaluated from pre-compiled expressions — lmfit Parameters define the problem and carry the
    result, but stay off the hot path. (Measured on the example series: lmfit's ``leastsq``
    with its sine bound transform crawls when an area sits at its 0 bound — up to 1500
    evaluations — where TRF needs 10–30.)
    """
    names = model.var_names
    base = values_of(params).copy()
    if not names:
        return Solution(params, names, None, True, "no free parameters", 0)
    theta0 = np.array([base[n] for n in names], dtype=float)
    lo, hi = model.bounds(params)
    theta0 = np.clip(theta0, lo, hi)
    calls = [0]

    def fun(theta):
        calls[0] += 1
        if progress is not None and calls[0] % 50 == 0 and progress(
                0, total, f"fitting ({calls[0]} evaluations)"):
            raise Cancelled("fit cancelled")
        return model.residual(model.values_from_vector(theta, base))

    if model.has_jacobian:
        def jac(theta):
            return model.jacobian(model.values_from_vector(theta, base))
    else:
        jac = "2-point"
    try:
        with np.errstate(all="ignore"):
            ret = least_squares(fun, theta0, jac=jac, bounds=(lo, hi), method="trf",
                                x_scale="jac", max_nfev=max_nfev or 100 * (len(names) + 1))
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        raise FitError(f"the fit failed numerically: {exc}", path=model.source or None,
                       block=model.block) from None
    final = model.values_from_vector(ret.x, base)
    for n in names:                   # the Parameters built for this fit carry the result
        params[n].value = float(final[n])
    return Solution(params, names, _unscaled_covariance(ret.jac), bool(ret.status > 0),
                    str(ret.message), int(ret.nfev), values=final)


def _unscaled_covariance(jac) -> np.ndarray | None:
    """(JᵀJ)⁻¹ of the weighted Jacobian, None when singular or ill-conditioned."""
    j = np.asarray(jac, dtype=float)
    if not np.all(np.isfinite(j)):
        return None
    h = j.T @ j
    d = np.sqrt(np.diag(h))
    if np.any(d == 0):
        return None
    # condition the normal matrix by its diagonal before inverting (parameters differ by 1e6)
    hs = h / np.outer(d, d)
    if np.linalg.cond(hs) > 1e13:
        return None
    try:
        cov = np.linalg.inv(hs) / np.outer(d, d)
    except np.linalg.LinAlgError:
        return None
    return cov if np.all(np.diag(cov) > 0) else None


def minimize(model: Model, params: lmfit.Parameters, *, max_nfev: int | None = None
             ) -> Solution:
    """The same problem through ``lmfit.minimize(method="leastsq")`` (kept as a cross-check of
    :func:`solve`; slower, and slow near area bounds)."""
    kws = {}
    if model.has_jacobian:
        kws["Dfun"] = lambda p, *a, **k: model.jacobian(p)
    try:
        out = lmfit.minimize(model.residual, params, method="leastsq", scale_covar=False,
                             max_nfev=max_nfev, **kws)
    except (ValueError, FloatingPointError) as exc:   # NaN from a degenerate start, etc.
        raise FitError(f"the fit failed numerically: {exc}", path=model.source or None,
                       block=model.block) from None
    cov = np.array(out.covar) if getattr(out, "covar", None) is not None else None
    return Solution(out.params, list(out.var_names), cov, bool(out.success), str(out.message),
                    int(out.nfev))


def fit(spectrum: xr.DataArray, recipe: Recipe, *, monte_carlo: int = 0,
        progress: Progress | None = None, seed: int = 0, start: dict[str, float] | None = None,
        engine: str = "trf") -> FitResult:
    """Fit one spectrum with a recipe.

    ``monte_carlo=N`` adds N refits of (best-fit model + Poisson noise), seeded by ``seed``, whose
    spread gives ``fraction_mc_stderr``. ``start`` overrides starting values by parameter name
    (used by series "propagate" mode). ``progress(done, total, message)`` returning True cancels.
    ``engine="lmfit"`` runs lmfit's leastsq instead of the default fast solver (cross-check).

    Charge reference: when ``recipe.charge_reference`` lies in the recipe's own region, the
    spectrum is fitted, its axis shifted so that the reference line sits at its energy
    (:func:`xpsfit.spectrum.shift`), and fitted again on the shifted axis
    (:func:`xpsfit.charge.fit_referenced`); ``result.charge_shift`` and
    ``result.charge_reference`` record it. A reference in another region is applied to the
    spectra beforehand with :func:`xpsfit.charge.apply_reference`.
    """
    from .charge import fit_referenced, references_own_region
    if references_own_region(recipe):
        # the recipe's own region holds the charge reference: fit, shift the axis, refit
        return fit_referenced(spectrum, recipe, lambda sp: _fit_plain(
            sp, recipe, monte_carlo=monte_carlo, progress=progress, seed=seed, start=start,
            engine=engine))
    return _fit_plain(spectrum, recipe, monte_carlo=monte_carlo, progress=progress, seed=seed,
                      start=start, engine=engine)


def _fit_plain(spectrum: xr.DataArray, recipe: Recipe, *, monte_carlo: int, progress, seed: int,
               start: dict[str, float] | None, engine: str) -> FitResult:
    """One fit of the spectrum on its own axis (no charge referencing)."""
    total = 1 + max(0, int(monte_carlo))
    _tick(progress, 0, total, "fitting")
    model, params = build_model(recipe, spectrum)
    if start:
        _apply_start(params, start)
    if engine == "lmfit":
        sol = minimize(model, params)
    else:
        sol = solve(model, params, progress=progress, total=total)
    result = make_result(model, sol)
    _tick(progress, 1, total, "fitted")
    if monte_carlo and monte_carlo > 0:
        _monte_carlo(result, model, sol.params, int(monte_carlo), seed, progress, total)
    return result


def _tick(progress, done, total, message):
    if progress is not None and progress(done, total, message):
        raise Cancelled("fit cancelled")


def _apply_start(params: lmfit.Parameters, start: dict[str, float]) -> None:
    for name, value in start.items():
        p = params.get(name)
        if p is None or p.expr or not np.isfinite(value):
            continue
        lo, hi = p.min, p.max
        p.value = float(min(max(value, lo), hi))


# ---------------------------------------------------------------- result assembly
def make_result(model: Model, out: Solution, *, label: str | None = None) -> FitResult:
    """FitResult from a model and a finished :class:`Solution` (reused by series code: give
    it the spectrum's sub-covariance and its parameters)."""
    params = out.params
    vals = out.values
    n = model.x.size
    resid = model.residual(vals)
    r_data = resid[:n]
    chisqr_data = float(r_data @ r_data)
    prior_chisqr = float(resid[n:] @ resid[n:]) if resid.size > n else 0.0
    var_names = list(out.var_names)
    nvarys = len(var_names)
    dof = max(n - nvarys, 1)
    redchi = chisqr_data / dof
    flags: list[str] = []
    warnings: list[str] = []
    cov = None
    if out.covariance is not None and np.all(np.isfinite(out.covariance)):
        factor = max(1.0, redchi) if model.absolute_weights else redchi
        cov = np.array(out.covariance, dtype=float) * factor
        if np.any(np.diag(cov) < 0):
            cov = None
    if cov is None and nvarys:
        flags.append("covariance matrix is singular: uncertainties unavailable (a parameter "
                     "does not affect the fit or parameters are fully degenerate)")
    grads = _Gradients(model, vals, var_names)
    records = _records(params, vals, cov, grads)
    for rec in records.values():
        if rec.at_bound:
            warnings.append(f"{rec.name} is at a bound ({rec.value:.6g})")
    # scale of "zero": the data's area above its minimum (> 0, constant spectra are refused)
    signal_area = float(np.trapezoid(model.y - model.y.min(), model.x))
    zero_area: set[str] = set()
    for c in model.components:
        area = records[c.names["area"]]
        if _zero_area(area, signal_area):
            zero_area.add(c.species)
            warnings.append(f"{c.species} has zero area: its position and width are not "
                            "determined by the data")
            continue
        if cov is not None:           # (without one, the fit is already flagged as a whole)
            flags.extend(_missing_uncertainty(records, c.names.values()))
    if cov is not None:               # parameters of no component (active-Shirley c0, k)
        owned = {n for c in model.components for n in c.names.values()}
        flags.extend(_missing_uncertainty(records, [n for n in records if n not in owned]))
    for a, b, r in stats.strong_pairs(cov, var_names, CORRELATION_WARN):
        warnings.append(f"{a} and {b} are strongly correlated (r = {r:+.3f})")
    if not out.success:
        flags.append(f"fit did not converge: {out.message}")
    comps, bg, env = model.model_curves(vals)
    if not (np.all(np.isfinite(env)) and math.isfinite(chisqr_data)):
        flags.append("the model contains NaN or infinite values")
    components = _components(model, vals, cov, grads, comps)
    if cov is not None:
        _significance(components, zero_area, flags, warnings)
    aic, bic = stats.information_criteria(chisqr_data + prior_chisqr, n, nvarys)
    norm_resid = (model.y - env) / model.sigma
    st = FitStatistics(chisqr=chisqr_data + prior_chisqr, redchi=redchi, aic=aic, bic=bic,
                       ndata=n, nvarys=nvarys, nfev=int(out.nfev), success=bool(out.success),
                       message=str(out.message), abbe=stats.abbe(norm_resid),
                       prior_chisqr=prior_chisqr)
    for label_, value, target, sigma in _prior_report(model, vals):
        warnings_line = (f"prior {label_}: {value:.4g} (target {target:.4g} ± {sigma:.3g}, "
                         f"pull {(value - target) / sigma:+.2f}σ)")
        if abs(value - target) > 3 * sigma:
            warnings.append(warnings_line)
    curves = _curves(model, comps, bg, env, norm_resid)
    sp = model.spectrum
    lab = label if label is not None else str(sp.attrs.get("label", "") or
                                              sp.attrs.get("block_name", ""))
    return FitResult(spectrum=sp, recipe=model.recipe, parameters=records, covariance=cov,
                     covariance_names=var_names, components=components, curves=curves,
                     statistics=st, warnings=warnings, flags=flags, label=lab,
                     charge_shift=float(sp.attrs.get("charge_shift", 0.0) or 0.0))


def _zero_area(rec: ParameterRecord, scale: float) -> bool:
    """True when a free area sits ON its lower bound 0: ``value <= min + tol`` with ``tol`` a
    millionth of the data's signal area ``scale``. Deliberately not ``at_bound``, whose
    tolerance grows with the parameter's own σ: on a 10¹⁵-count spectrum an interior area of
    5·10⁵ ± 10⁸ is "at a bound" by that test but is not zero (the solver ends bound-constrained
    areas within ~1e-8 of the bound)."""
    if rec.kind != "free" or not math.isfinite(rec.min):
        return False
    return rec.value <= rec.min + 1e-6 * scale


def _missing_uncertainty(records: dict[str, ParameterRecord], names) -> list[str]:
    """Flags for the free parameters among ``names`` whose σ is not finite."""
    out = []
    for name in names:
        rec = records.get(name)
        if rec is not None and rec.kind == "free" and not math.isfinite(rec.stderr):
            out.append(f"no uncertainty for {rec.name}")
    return out


#: a component is detected when its area exceeds this many σ
SIGNIFICANCE = 3.0


def _significance(components: list[ComponentResult], zero_area: set[str], flags: list[str],
                  warnings: list[str]) -> None:
    """Flag a fit in which no component is significant, and warn per component whose fraction
    is smaller than its own σ.

    Tiny peaks on a huge background converge "successfully" to fractions such as 0.80 ± 2.25:
    numbers without meaning. The result is flagged (success False) when every area is below
    3σ, or when every fraction's σ exceeds the fraction itself. Components already reported
    with zero area get no second warning."""
    if not components:
        return
    areas_low = all(not (c.area > SIGNIFICANCE * c.area_stderr) for c in components)
    fractions_low = all(not (c.fraction > c.fraction_stderr) for c in components)
    if areas_low:
        flags.append(f"fractions undetermined: no component area exceeds {SIGNIFICANCE:g}σ")
    elif fractions_low:
        flags.append("fractions undetermined: every fraction is smaller than its own σ")
    for c in components:
        if c.species in zero_area:
            continue
        if math.isfinite(c.fraction_stderr) and c.fraction_stderr > c.fraction:
            warnings.append(f"{c.species} fraction {c.fraction:.3g} ± {c.fraction_stderr:.3g}: "
                            "the uncertainty exceeds the value")


def _prior_report(model: Model, params):
    vals = model.prior_values(params)
    return [(lab, float(v), t, s) for v, (lab, _, t, s) in zip(vals, model.priors)]


class _Gradients:
    """∂(parameter)/∂(varied parameters) for any parameter (identity, zero, or chained expr)."""

    def __init__(self, model: Model, params, var_names):
        if list(var_names) != model.var_names:
            raise FitError("internal: solver and model disagree on the free parameters")
        self.var_names = var_names
        self.index = {v: i for i, v in enumerate(var_names)}
        self.expr = model._expr_derivs(params) if model._expr_names else {}

    def of(self, name: str) -> np.ndarray:
        g = np.zeros(len(self.var_names))
        if name in self.index:
            g[self.index[name]] = 1.0
        elif name in self.expr:
            g = np.array(self.expr[name], dtype=float)
        return g


def _records(params, vals, cov, grads: _Gradients) -> dict[str, ParameterRecord]:
    out = {}
    for name, p in params.items():
        value = float(vals[name])
        if p.expr:
            kind = "linked"
        elif p.vary:
            kind = "free"
        else:
            kind = "fixed"
        stderr = 0.0 if kind == "fixed" else stats.delta_stderr(grads.of(name), cov)
        at_bound = False
        if kind == "free":
            span = (p.max - p.min) if np.isfinite(p.max - p.min) else max(abs(value), 1.0)
            tol = 1e-4 * span if np.isfinite(span) and span > 0 else 1e-8
            if math.isfinite(stderr) and stderr > 0:
                tol = max(tol, 0.01 * stderr)     # within 1 % of its own σ: effectively at it
            at_bound = bool((np.isfinite(p.min) and value - p.min <= tol) or
                            (np.isfinite(p.max) and p.max - value <= tol))
        out[name] = ParameterRecord(name=name, value=value, stderr=float(stderr),
                                    min=float(p.min), max=float(p.max), vary=bool(p.vary),
                                    expr=p.expr, kind=kind, at_bound=at_bound)
    return out


def _components(model: Model, vals, cov, grads: _Gradients, comps) -> list[ComponentResult]:
    areas = np.array([vals[c.names["area"]] for c in model.components])
    g_area = np.array([grads.of(c.names["area"]) for c in model.components])
    cov_a = g_area @ cov @ g_area.T if cov is not None else None
    frac = stats.fractions(areas)
    frac_err = stats.fraction_stderr(areas, cov_a)
    out = []
    for i, (c, spec) in enumerate(zip(model.components, model.recipe.components)):
        nm = c.names
        shape = {s: float(vals[nm[s]]) for s in c.shape_names}
        fwhm_param = float(vals[nm["fwhm"]])
        true_w = _true_fwhm(c.lineshape, fwhm_param, shape)
        # σ(true FWHM): derivative of the shape's true-FWHM function w.r.t. width and shape
        g = np.zeros(len(grads.var_names))
        for q in ("fwhm", *c.shape_names):
            gq = grads.of(nm[q])
            if not np.any(gq):
                continue
            if c.lineshape == "pseudo_voigt":
                d = 1.0 if q == "fwhm" else 0.0
            else:
                h = 1e-6 * max(1.0, abs(vals[nm[q]]))
                if q == "fwhm":
                    d = (_true_fwhm(c.lineshape, fwhm_param + h, shape) - true_w) / h
                else:
                    sh = dict(shape)
                    sh[q] += h
                    d = (_true_fwhm(c.lineshape, fwhm_param, sh) - true_w) / h
            g = g + d * gq
        out.append(ComponentResult(
            species=c.species, label=c.label, lineshape=c.lineshape,
            position=float(vals[nm["position"]]),
            position_stderr=stats.delta_stderr(grads.of(nm["position"]), cov),
            fwhm=true_w, fwhm_stderr=stats.delta_stderr(g, cov), fwhm_param=fwhm_param,
            area=float(areas[i]), area_stderr=stats.delta_stderr(grads.of(nm["area"]), cov),
            fraction=float(frac[i]), fraction_stderr=float(frac_err[i]),
            area_in_region=float(np.trapezoid(comps[i], model.x)),
            shape=shape,
            splitting=float(vals[nm["splitting"]]) if c.doublet else math.nan,
            ratio=float(vals[nm["ratio"]]) if c.doublet else math.nan))
    return out


def _curves(model: Model, comps, bg, env, norm_resid) -> xr.Dataset:
    # one constructor call: every later assignment would trigger an xarray merge (slow)
    return xr.Dataset(
        {"data": (DIM, model.y), "envelope": (DIM, env), "background": (DIM, bg),
         "residual": (DIM, norm_resid, {"long_name": "normalised residual (data − model)/σ"}),
         "sigma": (DIM, model.sigma), "components": (("species", DIM), comps),
         "label": ("species", [c.label for c in model.components])},
        coords={DIM: (DIM, model.x, {"units": "eV"}),
                "species": [c.species for c in model.components]})


# ---------------------------------------------------------------- Monte Carlo
def _monte_carlo(result: FitResult, model: Model, best: lmfit.Parameters, n: int, seed: int,
                 progress, total: int) -> None:
    """N refits of (best-fit model + Poisson noise); fills fraction_mc_stderr."""
    rng = np.random.default_rng(seed)
    env = result.curves["envelope"].values
    scale = model.count_scale
    lam = np.clip(env * scale, 0.0, None)
    start = {k: float(best[k].value) for k in model.var_names}
    x_all = model.spectrum[DIM].values
    keep = np.isin(x_all, model.x)
    samples = []
    for i in range(n):
        noisy = rng.poisson(lam) / scale
        y_full = np.array(model.spectrum.values, dtype=float)
        y_full[keep] = noisy if x_all[0] < x_all[-1] else noisy[::-1]
        sp = model.spectrum.copy(data=y_full)
        try:
            m, params = build_model(model.recipe, sp)
            _apply_start(params, start)
            out = solve(m, params)
            a = np.array([out.values[c.names["area"]] for c in m.components])
            if out.success:
                samples.append(stats.fractions(a))
        except FitError:
            pass
        _tick(progress, 2 + i, total, f"Monte Carlo {i + 1}/{n}")
    _, sd = stats.mc_summary(np.array(samples)) if samples else (None, None)
    result.monte_carlo = len(samples)
    if sd is not None:
        for c, s in zip(result.components, sd):
            c.fraction_mc_stderr = float(s)
    if len(samples) < n:
        result.warnings.append(f"Monte Carlo: {n - len(samples)} of {n} refits failed")


__all__ = ["fit", "solve", "minimize", "make_result", "Solution"]
