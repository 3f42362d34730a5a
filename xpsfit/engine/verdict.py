"""The verdict of one fit: "ok", "doubtful" or "bad", with its reasons as Notices.

One function for every front-end (single fits, series spectra, map pixels): it reads only the
normalised residuals, the weights' kind, the fit's own notices, the components and the curves.
Thresholds: :mod:`xpsfit.engine.rules` (``VERDICT_*``); the rules and their calibration on real
spectra: docs/verdicts.md.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as sstats

from ..recipe.links import BASE_QUANTITIES
from ..results import Notice
from . import rules

OK, DOUBTFUL, BAD = "ok", "doubtful", "bad"
VERDICTS = (OK, DOUBTFUL, BAD)
#: fit notices that make a fit bad by themselves (everything in ``flags`` does too)
_BAD_CODES = {"not_converged", "model_not_finite", "covariance_singular", "undetermined"}


def lag1(r: np.ndarray) -> float:
    """Lag-1 autocorrelation of the residuals (≈ 0 ± 1/√N for white noise)."""
    r = np.asarray(r, dtype=float)
    r = r[np.isfinite(r)]
    if r.size < 3:
        return math.nan
    d = r - r.mean()
    den = float(d @ d)
    return float(d[1:] @ d[:-1]) / den if den > 0 else math.nan


def judge(norm_resid, *, nvarys: int, absolute: bool, warnings, flags, components,
          data=None, background=None, sigma=None, region: str = "",
          not_modelled: str = "") -> tuple[str, list[Notice]]:
    """(verdict, reasons) of a fit; see the module docstring and docs/verdicts.md.
    ``not_modelled``: what the library's species of ``region`` leave out (the recipe adds
    nothing for it); named when the fit misses structure, as the likely cause."""
    r = np.asarray(norm_resid, dtype=float)
    n = int(np.isfinite(r).sum())
    bad: list[Notice] = []
    doubtful: list[Notice] = []
    info: list[Notice] = []
    for f in flags:
        bad.append(Notice(f"flag: {f}", f.code or "other", f.species, f.parameter))
    for w in warnings:
        if w.code in _BAD_CODES:
            bad.append(Notice(str(w), w.code, w.species, w.parameter))
    chi = float(np.nansum(r * r))
    dof = max(n - nvarys, 1)
    redchi = chi / dof
    if absolute:
        p = float(sstats.chi2.sf(chi, dof))
        if p < rules.VERDICT_P and redchi > rules.VERDICT_REDCHI_DOUBTFUL:
            pv = f"p = {p:.1e}" if p > 0 else "p < 1e-300"
            text = (f"χ²ᵣ = {redchi:.3g} for {dof} dof ({pv}): the model misses structure "
                    "beyond the counting noise")
            (bad if redchi > rules.VERDICT_REDCHI_BAD else doubtful).append(
                Notice(text, "chi2", parameter="redchi"))
    else:
        info.append(Notice(f"χ²ᵣ = {redchi:.3g} not judged: the weights are relative (not raw "
                           "counts), so χ²ᵣ carries no absolute information", "chi2_relative",
                           parameter="redchi"))
    rho = lag1(r)
    if math.isfinite(rho) and rho * math.sqrt(max(n, 1)) > rules.VERDICT_RHO_Z:
        if rho > rules.VERDICT_RHO_DOUBTFUL:
            # strong structure makes a fit bad only when the misfit is also larger than the
            # noise (χ²ᵣ above the doubtful level): at 10⁵ counts a misfit well inside the noise
            # is detectable as structure, yet biases the fractions less than their own σ
            large = redchi > rules.VERDICT_REDCHI_DOUBTFUL
            text = (f"residuals have structure (lag-1 autocorrelation {rho:.2f}; white noise "
                    f"≈ 0 ± {1 / math.sqrt(n):.2f}): a component, shape or background is missing"
                    + ("" if large or rho <= rules.VERDICT_RHO_BAD else
                       f" (within the noise: χ²ᵣ = {redchi:.3g})"))
            (bad if rho > rules.VERDICT_RHO_BAD and large else doubtful).append(
                Notice(text, "residual_structure"))
    _bounds(warnings, components, bad, doubtful)
    for w in warnings:
        if w.code == "background_not_converged":
            doubtful.append(Notice(str(w), w.code, parameter="background"))
    if data is not None and background is not None and sigma is not None:
        above = (np.asarray(background) - np.asarray(data)) / np.asarray(sigma)
        count = int(np.sum(above > rules.VERDICT_ABOVE_SIGMA))
        if count > max(rules.VERDICT_ABOVE_MIN, rules.VERDICT_ABOVE_FRACTION * n):
            bad.append(Notice(f"the background runs above the data on {count} of {n} points "
                              f"(> {rules.VERDICT_ABOVE_SIGMA:g}σ)", "background_above_data",
                              parameter="background"))
    for c in components:
        if (c.fraction >= rules.VERDICT_FRACTION_MIN and math.isfinite(c.fraction_stderr)
                and c.fraction_stderr > rules.VERDICT_FRACTION_SIGMA * c.fraction):
            doubtful.append(Notice(f"{c.species} fraction {c.fraction:.3g} ± "
                                   f"{c.fraction_stderr:.3g} is not determined (consistent "
                                   "with 0)", "fraction_uncertain", c.species))
    misfit = {"chi2", "residual_structure"} & {x.code for x in bad + doubtful}
    if not_modelled and misfit:
        info.append(Notice(f"the {region} library species do not model {not_modelled}, and "
                           "the recipe adds no component for them: the misfit is expected "
                           "(add free components, docs/recipes.md)", "model_incomplete"))
    verdict = BAD if bad else DOUBTFUL if doubtful else OK
    return verdict, bad + doubtful + info


def _bounds(warnings, components, bad, doubtful) -> None:
    """The position of the largest component (the main line) at a bound: bad — e.g. a charged
    spectrum whose peak lies outside the windows. Its width, or the position or width of another
    significant component (area > 3σ), at a bound: doubtful. Absent or insignificant species at
    a bound are not a fault: the data do not fix them. Nor is a fitted shape parameter at the end
    of its legal range (η = 0 is a pure Gaussian, a limit of the family, not a clash with the
    recipe): counted, it turned half the Gaussian test spectra doubtful
    (benchmarks/bench_lineshape_default.py)."""
    if not components:
        return
    main = max(components, key=lambda c: c.area if math.isfinite(c.area) else -math.inf)
    owner = {name: (c, q) for c in components for q, name in c.parameters.items()
             if q != "area"}
    for w in warnings:
        if w.code != "at_bound" or w.parameter not in owner:
            continue
        c, quantity = owner[w.parameter]
        if quantity not in BASE_QUANTITIES:      # a shape parameter
            continue
        if c is main and c.area > 0 and quantity == "position":
            bad.append(Notice(f"main component {c.species}: {w}", "main_at_bound", c.species,
                              w.parameter))
        elif c is main or c.area > rules.SIGNIFICANCE * c.area_stderr:   # else not fixed
            doubtful.append(Notice(str(w), "at_bound", c.species, w.parameter))


__all__ = ["judge", "lag1", "OK", "DOUBTFUL", "BAD", "VERDICTS"]
