"""One result assembly: a solved problem -> FitResult per spectrum (+ the joint records).

Every front-end goes through :func:`solved` (covariance and its scaling, once for the whole
problem) and :func:`spectrum_result` (the FitResult of spectrum j: parameters ± σ with the single-
fit names, components with fractions ± σ, curves, statistics, warnings and flags as
:class:`~xpsfit.results.Notice`). In a joint series each spectrum's parameters are its view of the
joint ones (shared values, its own areas, positions moved by its shift) and their covariance is
propagated from the joint covariance, so fractions ± σ include the correlations with shared
positions, widths and the shift.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from . import goodness as stats
from ..numerics.lineshapes import true_fwhm
from ..recipe.naming import param_name
from ..results import ComponentResult, FitResult, FitStatistics, Notice, ParameterRecord
from ..spectrum import DIM
from . import uncertainty
from .data import Data
from .evaluate import segment_model
from .rules import CORRELATION_WARN, SIGNIFICANCE, at_bound
from .solvers import Solution
from .verdict import judge
from .structure import Param, Structure, single_params


@dataclass
class Solved:
    """A finished minimisation with its (scaled) covariance over θ."""
    st: Structure
    data: Data
    theta: np.ndarray             # (nθ,)
    P: np.ndarray                 # (nP + 1,) parameter values
    G: np.ndarray                 # (nP + 1, nθ) ∂P/∂θ at θ
    residual: np.ndarray
    cov: np.ndarray | None        # scaled; NaN rows for dead variables; None when singular
    undetermined: list[str]       # free variables the data do not constrain at all
    chisqr: float                 # data part
    prior_chisqr: float
    redchi: float
    success: bool
    message: str
    nfev: int


def solved(st: Structure, data: Data, sol: Solution) -> Solved:
    theta = np.asarray(sol.theta, dtype=float)
    P = st.values(theta[None, :])
    G = st.gradients(theta[None, :], P)
    G = G if G.ndim == 2 else G[0]
    n = data.n_points
    r = np.asarray(sol.residual, dtype=float)
    chi = float(r[:n] @ r[:n])
    chi_p = float(r[n:] @ r[n:])
    redchi = chi / max(n - st.n_vars, 1)
    cov = None
    undetermined: list[str] = []
    if st.n_vars:
        J = np.array(sol.jacobian, dtype=float)
        J[:, _shape_of_absent(st, data, P[0])] = 0.0
        cu = uncertainty.covariance(J)
        if uncertainty.usable(cu):
            absolute = all(s.absolute for s in data.segments)
            cov = cu * uncertainty.scale_factor(redchi, absolute)
            undetermined = [st.var_names[i] for i in np.flatnonzero(~np.isfinite(np.diag(cov)))]
    return Solved(st, data, theta, P[0], G, r, cov, undetermined, chi, chi_p, redchi,
                  bool(sol.success), str(sol.message), int(sol.nfev))


def zero_areas(st: Structure, data: Data, P: np.ndarray) -> np.ndarray:
    """(n_spectra, n_comp): the component's area sits on its 0 bound — within a millionth of the
    spectrum's signal area (the solver ends bound-constrained areas within ~1e-8 of the bound;
    a σ-relative test would call interior areas of huge-count spectra zero)."""
    out = np.zeros(st.qidx.shape[:2], bool)
    for j, seg in enumerate(data.segments):
        y = seg.y[0]
        signal = float(np.trapezoid(y - y.min(), seg.x))
        for ci in range(len(st.components)):
            i = st.qidx[j, ci, 2]
            p = st.params[i]
            out[j, ci] = p.kind == "free" and P[i] <= p.min + 1e-6 * signal
    return out


def _shape_of_absent(st: Structure, data: Data, P: np.ndarray) -> np.ndarray:
    """Free variables that only move the position, width or shape of components with zero area
    wherever they act. Linearised at an area of ~0 such a column is tiny but not zero, and
    inverting it adds a spurious free "derivative-shaped" term to the model, so the other σ
    would depend on how close to 0 the solver left the area. They are left out (σ NaN, as the
    "zero area" warning says: not determined by the data)."""
    zero = zero_areas(st, data, P)
    owner: dict[int, list[tuple[int, int]]] = {}
    for j in range(st.n_spectra):
        for ci, comp in enumerate(st.components):
            idx = [st.qidx[j, ci, q] for q in (0, 1, 3, 4)] + \
                [st.shape_idx[n][j, ci] for n in comp.shape_names]
            for i in idx:
                if i >= 0:
                    owner.setdefault(int(i), []).append((j, ci))
    drop = np.zeros(st.n_vars, bool)
    for v in range(st.n_vars):
        touched = np.flatnonzero(st.M[:-1, v])
        if touched.size == 0:
            continue
        uses = [owner.get(int(i)) for i in touched]
        if all(u and all(zero[j, ci] for j, ci in u) for u in uses):
            drop[v] = True
    return drop


# ------------------------------------------------------------------ per-spectrum view
def _singles(st: Structure) -> list[Param]:
    out = st.cache.get("singles")
    if out is None:
        out = st.cache["singles"] = single_params(st.recipe)[0]
    return out


def _view(s: Solved, j: int):
    """Spectrum j's single-fit parameters: [(Param, joint Param, value, gradient (nθ,))]."""
    st = s.st
    shift_i = int(st.shift_idx[j])
    shift = s.P[shift_i] if shift_i >= 0 else 0.0
    out = []
    for p in _singles(st):
        i = st.index[st.name_of(p.name, j)]
        value, grad = s.P[i], s.G[i].copy()
        if p.quantity == "position" and shift_i >= 0:
            value, grad = value + shift, grad + s.G[shift_i]
        out.append((p, st.params[i], float(value), grad, shift if p.quantity == "position" else 0.0))
    return out


def _records(view, cov) -> tuple[dict[str, ParameterRecord], list[str], np.ndarray]:
    grads = np.array([g for *_, g, _ in view])
    err = uncertainty.stderr(grads, cov) if cov is not None else np.full(len(view), np.nan)
    records = {}
    free_names, free_rows = [], []
    for k, (p, joint, value, g, moved) in enumerate(view):
        kind = joint.kind
        e = 0.0 if kind == "fixed" else float(err[k])
        lo, hi = joint.min + moved, joint.max + moved
        records[p.name] = ParameterRecord(
            name=p.name, value=value, stderr=e, min=float(lo), max=float(hi),
            vary=kind != "fixed", expr=p.expr if kind == "linked" else None, kind=kind,
            at_bound=kind == "free" and at_bound(value, lo, hi, e))
        if kind == "free":
            free_names.append(p.name)
            free_rows.append(g)
    return records, free_names, np.array(free_rows).reshape(len(free_rows), -1)


def _true_fwhm(lineshape: str, fwhm: float, shape: dict[str, float]) -> float:
    return float(true_fwhm(lineshape, fwhm, **shape))


def _components(s: Solved, j: int, records, view, cov, comps_curve, x) -> list[ComponentResult]:
    st = s.st
    by_name = {p.name: (value, g) for p, _, value, g, _ in view}
    comps = st.components
    names = {c.species: {q: param_name(c.species, q) for q in _quantities(c)} for c in comps}
    areas = np.array([by_name[names[c.species]["area"]][0] for c in comps])
    g_area = np.array([by_name[names[c.species]["area"]][1] for c in comps])
    cov_a = uncertainty.propagate(g_area, cov) if cov is not None else None
    frac, frac_err = uncertainty.fractions(areas, cov_a)
    out = []
    for i, (c, spec) in enumerate(zip(comps, st.recipe.components)):
        nm = names[c.species]
        shape = {k: by_name[nm[k]][0] for k in c.shape_names}
        fw = by_name[nm["fwhm"]][0]
        tw = _true_fwhm(c.lineshape, fw, shape)
        g = np.zeros(st.n_vars)
        for q in ("fwhm", *c.shape_names):
            gq = by_name[nm[q]][1]
            if not np.any(gq):
                continue
            h = 1e-6 * max(1.0, abs(by_name[nm[q]][0]))
            if q == "fwhm":
                d = (_true_fwhm(c.lineshape, fw + h, shape) - tw) / h
            else:
                d = (_true_fwhm(c.lineshape, fw, {**shape, q: shape[q] + h}) - tw) / h
            g = g + d * gq
        fw_err = float(uncertainty.stderr(g[None, :], cov)[0]) if cov is not None else math.nan
        out.append(ComponentResult(
            species=c.species, label=c.label, lineshape=c.lineshape,
            position=float(by_name[nm["position"]][0]),
            position_stderr=records[nm["position"]].stderr,
            fwhm=tw, fwhm_stderr=fw_err, fwhm_param=float(fw),
            area=float(areas[i]), area_stderr=records[nm["area"]].stderr,
            fraction=float(frac[i]), fraction_stderr=float(frac_err[i]),
            area_in_region=float(np.trapezoid(comps_curve[i], x)),
            shape=shape,
            splitting=float(by_name[nm["splitting"]][0]) if c.doublet else math.nan,
            ratio=float(by_name[nm["ratio"]][0]) if c.doublet else math.nan,
            parameters=dict(nm)))
    return out


def _quantities(c) -> tuple[str, ...]:
    base = ("position", "fwhm", "area") + (("splitting", "ratio") if c.doublet else ())
    return base + tuple(c.shape_names)


def _not_modelled(recipe) -> str:
    """What the library says its species of the region leave out, when the recipe has only
    library components ('' when it adds free ones: those may be the missing satellites)."""
    if not recipe.library_name or any(c.free for c in recipe.components):
        return ""
    return recipe.library.region(recipe.region).not_modelled


def model_curves(st: Structure, data: Data, P: np.ndarray, j: int) -> xr.Dataset:
    """The curves of spectrum j at parameter values ``P`` (nP + 1,): data, envelope, background,
    normalised residual, σ and one row per component — the ``FitResult.curves`` schema, for a
    fit and for a model evaluated without one alike."""
    seg = data.segments[j]
    comps, bg, total = segment_model(st, j, np.asarray(P, dtype=float)[None, :], data)
    comps, bg = comps[0], bg[0]
    env = total[0] + bg
    y = seg.y[0]
    return xr.Dataset(
        {"data": (DIM, y), "envelope": (DIM, env), "background": (DIM, bg),
         "residual": (DIM, (y - env) / seg.sigma[0],
                      {"long_name": "normalised residual (data − model)/σ"}),
         "sigma": (DIM, seg.sigma[0]), "components": (("species", DIM), comps),
         "label": ("species", [c.label for c in st.components])},
        coords={DIM: (DIM, seg.x, {"units": "eV"}), "species": st.species})


def spectrum_result(s: Solved, j: int, *, label: str = "", monte_carlo: int = 0) -> FitResult:
    """The FitResult of spectrum j of a solved problem (see the module docstring)."""
    st, seg = s.st, s.data.segments[j]
    spectrum = s.data.spectra[j]
    view = _view(s, j)
    records, free_names, free_grads = _records(view, s.cov)
    cov_j = None
    if s.cov is not None and free_names:
        cov_j = uncertainty.propagate(free_grads, s.cov)
    curves = model_curves(st, s.data, s.P, j)
    comps, bg = curves["components"].values, curves["background"].values
    env, norm_resid = curves["envelope"].values, curves["residual"].values
    y = seg.y[0]
    n = seg.n
    chi_j = float(norm_resid @ norm_resid)
    nv = len(free_names)
    single = not st.series
    prior_chi = s.prior_chisqr if single else 0.0
    redchi = chi_j / max(n - nv, 1)
    components = _components(s, j, records, view, s.cov, comps, seg.x)
    warnings, flags = _notices(s, j, records, components, cov_j, y, env, seg.x)
    verdict, reasons = judge(norm_resid, nvarys=nv, absolute=bool(seg.absolute),
                             warnings=warnings, flags=flags, components=components, data=y,
                             background=bg, sigma=seg.sigma[0], region=st.recipe.region,
                             not_modelled=_not_modelled(st.recipe))
    aic, bic = stats.information_criteria(chi_j + prior_chi, n, nv)
    st_ = FitStatistics(chisqr=chi_j + prior_chi, redchi=redchi, aic=aic, bic=bic, ndata=n,
                        nvarys=nv, nfev=s.nfev, success=s.success, message=s.message,
                        abbe=stats.abbe(norm_resid), prior_chisqr=prior_chi)
    lab = label or str(spectrum.attrs.get("label", "") or spectrum.attrs.get("block_name", ""))
    return FitResult(spectrum=spectrum, recipe=st.recipe, parameters=records, covariance=cov_j,
                     covariance_names=free_names, components=components, curves=curves,
                     statistics=st_, warnings=warnings, flags=flags, label=lab,
                     monte_carlo=monte_carlo, verdict=verdict, verdict_reasons=reasons,
                     charge_shift=float(spectrum.attrs.get("charge_shift", 0.0) or 0.0))


def _notices(s: Solved, j: int, records, components, cov_j, y, env, x):
    st = s.st
    warnings: list[Notice] = []
    flags: list[Notice] = []
    if s.cov is None and st.n_vars:
        flags.append(Notice("covariance matrix is singular: uncertainties unavailable (a "
                            "parameter does not affect the fit or parameters are fully "
                            "degenerate)", "covariance_singular"))
    for rec in records.values():
        if rec.at_bound:
            warnings.append(Notice(f"{rec.name} is at a bound ({rec.value:.6g})", "at_bound",
                                   _species_of(st, rec.name), rec.name))
    zero_j = zero_areas(st, s.data, s.P)[j]
    zero: set[str] = set()
    for ci, c in enumerate(components):
        if zero_j[ci]:
            zero.add(c.species)
            warnings.append(Notice(f"{c.species} has zero area: its position and width are not "
                                   "determined by the data", "zero_area", c.species))
            continue
        if s.cov is not None:
            flags.extend(_missing(records, c.parameters.values(), c.species))
    if s.cov is not None:
        owned = {n for c in components for n in c.parameters.values()}
        flags.extend(_missing(records, [n for n in records if n not in owned], None))
    if cov_j is not None and (not st.series):
        names = [n for n, r in records.items() if r.kind == "free"]
        for a, b, r in uncertainty.strong_pairs(cov_j, names, CORRELATION_WARN):
            warnings.append(Notice(f"{a} and {b} are strongly correlated (r = {r:+.3f})",
                                   "correlated", _species_of(st, a), a))
    if not s.success:
        flags.append(Notice(f"fit did not converge: {s.message}", "not_converged"))
    seg = s.data.segments[j]
    if seg.clipped is not None:
        lo, hi = st.recipe.range
        warnings.append(Notice(f"recipe range {lo:g}–{hi:g} eV reaches beyond the data: fitted "
                               f"on {seg.clipped[0]:g}–{seg.clipped[1]:g} eV", "range_clipped",
                               parameter="range"))
    if not seg.bg_converged[0]:
        warnings.append(Notice(f"the static {st.bg_type} background has no solution between "
                               "these end levels (the iteration did not settle in "
                               f"{st.recipe.background.max_iter} steps and no fixed point "
                               "exists): a LINEAR background was used instead — check the region "
                               "limits and end points, or use shirley_active",
                               "background_not_converged", parameter="background"))
    if not (np.all(np.isfinite(env)) and math.isfinite(s.chisqr)):
        flags.append(Notice("the model contains NaN or infinite values", "model_not_finite"))
    if s.cov is not None:
        _significance(components, zero, flags, warnings)
    if not st.series:
        for pr, value in zip(st.priors, st.prior_values(s.theta[None, :], s.P[None, :])[0]):
            if abs(value - pr.target) > 3 * pr.sigma:
                warnings.append(Notice(
                    f"prior {pr.label}: {value:.4g} (target {pr.target:.4g} ± {pr.sigma:.3g}, "
                    f"pull {(value - pr.target) / pr.sigma:+.2f}σ)", "prior_pull"))
    und = [n for n in s.undetermined if st.param(n).spectrum in (None, j)]
    if und and not st.series:
        warnings.append(Notice("not determined by the data: " + ", ".join(und),
                               "undetermined_parameters"))
    return warnings, flags


def _species_of(st: Structure, name: str) -> str | None:
    try:
        return st.param(name).species
    except KeyError:
        return next((p.species for p in _singles(st) if p.name == name), None)


def _missing(records, names, species) -> list[Notice]:
    out = []
    for name in names:
        rec = records.get(name)
        if rec is not None and rec.kind == "free" and not math.isfinite(rec.stderr):
            out.append(Notice(f"no uncertainty for {rec.name}", "no_uncertainty", species,
                              rec.name))
    return out


def _significance(components, zero, flags, warnings) -> None:
    """Flag a fit in which no component is significant, and warn per component whose fraction
    is smaller than its own σ (tiny peaks on a huge background converge "successfully" to
    fractions such as 0.80 ± 2.25: numbers without meaning)."""
    if not components:
        return
    areas_low = all(not (c.area > SIGNIFICANCE * c.area_stderr) for c in components)
    fractions_low = all(not (c.fraction > c.fraction_stderr) for c in components)
    if areas_low:
        flags.append(Notice(f"fractions undetermined: no component area exceeds "
                            f"{SIGNIFICANCE:g}σ", "undetermined"))
    elif fractions_low:
        flags.append(Notice("fractions undetermined: every fraction is smaller than its own σ",
                            "undetermined"))
    for c in components:
        if c.species in zero:
            continue
        if math.isfinite(c.fraction_stderr) and c.fraction_stderr > c.fraction:
            warnings.append(Notice(f"{c.species} fraction {c.fraction:.3g} ± "
                                   f"{c.fraction_stderr:.3g}: the uncertainty exceeds the value",
                                   "fraction_below_sigma", c.species))


# ------------------------------------------------------------------ joint records
def joint_records(s: Solved) -> dict[str, ParameterRecord]:
    """Records of every parameter of the joint problem (joint names)."""
    st = s.st
    err = uncertainty.stderr(s.G[:-1], s.cov) if s.cov is not None else \
        np.full(len(st.params), np.nan)
    out = {}
    for i, p in enumerate(st.params):
        e = 0.0 if p.kind == "fixed" else float(err[i])
        out[p.name] = ParameterRecord(name=p.name, value=float(s.P[i]), stderr=e,
                                      min=p.min, max=p.max, vary=p.kind != "fixed",
                                      expr=p.expr, kind=p.kind,
                                      at_bound=p.kind == "free" and at_bound(s.P[i], p.min,
                                                                             p.max, e))
    return out


def joint_notices(s: Solved) -> list[Notice]:
    out = []
    if s.cov is not None:
        for a, b, r in uncertainty.strong_pairs(s.cov, list(s.st.var_names), CORRELATION_WARN):
            out.append(Notice(f"{a} and {b} are strongly correlated (r = {r:+.3f})",
                              "correlated", s.st.param(a).species, a))
    if s.undetermined:
        out.append(Notice("not determined by the data (zero area in every spectrum): "
                          + ", ".join(s.undetermined), "undetermined_parameters"))
    if not s.success:
        out.append(Notice(f"joint fit did not converge: {s.message}", "not_converged"))
    return out


__all__ = ["Solved", "solved", "model_curves", "spectrum_result", "joint_records", "joint_notices"]
