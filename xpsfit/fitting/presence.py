"""Presence tests (nested-model F-test + area > 3σ), upper limits and onsets of a series.

Decision rule (xps_domain.md §6.4): species ``i`` is *present* in spectrum ``j`` when

1. removing it makes the fit significantly worse: with χ²₁ the spectrum's χ² with the component
   and χ²₀ without it (its area fixed at 0, everything else of that spectrum refitted),
   ``F = [(χ²₀ − χ²₁)/Δp] / [χ²₁/(N − p₁)]`` (Δp = the free parameters the nested fit loses:
   1 in joint mode, where position and width are shared and held, 3 for a free doublet in
   independent mode; N = the spectrum's points, p₁ = its own free parameters) has ``p = 1 − F_cdf(F; Δp, N − p₁) < alpha`` (0.05);
2. and its area exceeds 3σ_stat(area), the fit's covariance σ (in joint mode the joint one).

A present species is also tested against the background choice: ``background_robust`` when its
area exceeds 3σ_total(area), σ_total = √(σ_stat² + σ_bg²) with the background-systematic σ_bg of
:mod:`xpsfit.engine.background_variants` (True when σ_bg is off). Why two tiers rather than
3σ_total as the detection rule: σ_bg is a systematic spread over reasonable backgrounds, not a
random error, and tripling it asks every detection to survive three times the worst background
shift; on the example KB P 2p series (before the static↔active swap was limited to
backgrounds the data admit) that hid the true POₓ onset at 4.0 V. The onset sentence names a detection that is not robust, so the
reader sees "appears at 4.0 V … depends on the background choice" rather than either a silent
yes or a silent no.

Otherwise it is *not detected* and gets an upper limit on its fraction,
``max(fraction, 0) + 3σ_total(fraction)``. The :class:`PresenceTest`'s ``area_stderr`` and
``fraction_stderr`` are σ_total.

Both problems are the engine's structure of the spectrum with one area masked
(:meth:`xpsfit.engine.structure.Structure.with_fixed`). Nested problem in joint mode: a LOCAL refit of spectrum ``j`` with the shared parameters
(positions, widths, shape …) held at their joint values; the spectrum's own parameters (areas,
rigid shift, background parameters, unshared quantities) are refitted, both with the component
(χ²₁) and without it (χ²₀). Why local rather than a refit of the whole joint problem: the shared
parameters are determined by all spectra together, so removing one component from one spectrum
barely moves them, while a joint refit per (spectrum, species) would cost a full series fit
each (20 joint fits for a 5 × 4 series) for the same answer; and the F statistic then compares
two fits of the same N points with a clear parameter count. In independent/propagate modes the
nested fit is the single-spectrum fit without the component, all its parameters free.

Onset (``rule="sustained"``, the default): the first spectrum in series order from which the
species is present in that spectrum AND every later one — a single isolated detection followed
by non-detections does not make an onset. When a species is detected but never stays present to
the end, the onset falls back to its first detection and the sentence says so.
``rule="first"``: simply the first detection.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
from scipy import stats as sstats

from ..engine.data import prepare_spectra
from ..engine.rules import SIGNIFICANCE as SIGMA_RULE
from ..engine.solvers import solve_trf
from ..engine.structure import compile_problem
from ..results import Onset, PresenceTest, SeriesResult

ALPHA = 0.05


def f_test(chi0: float, chi1: float, ndata: int, p1: int, dp: int = 1) -> tuple[float, float]:
    """F statistic and p-value of a nested comparison (χ²₀ of the reduced model, χ²₁ of the
    full model with p₁ free parameters, Δp fewer in the reduced one)."""
    dof = ndata - p1
    if dof <= 0 or dp <= 0 or not (chi1 > 0):
        return math.nan, math.nan
    F = max(chi0 - chi1, 0.0) / dp / (chi1 / dof)
    return float(F), float(sstats.f.sf(F, dp, dof))


def _local_problem(state, j: int):
    """(structure, data, θ at the fit) of spectrum j's nested-test problem (module docstring)."""
    if state.joint is None:                   # independent / propagate: the spectrum's own fit
        s = state.singles[j]
        return s.st, s.data, s.theta
    joint = state.joint
    st_j = joint.st
    recipe = st_j.recipe
    local = compile_problem(recipe, 1, series=True, free_first_shift=st_j.use_shift)
    held = {}
    for name in st_j.shared:
        p = st_j.param(name)
        if p.kind == "free":
            held[name] = float(joint.P[st_j.index[name]])
    if j == 0 and st_j.use_shift:
        held["s0_shift"] = 0.0        # the first spectrum defines the series' energy frame
    local = local.with_fixed(held)
    data = prepare_spectra(local, [state.spectra[j]])
    theta = np.array(data.theta0[0], dtype=float)
    for k, name in enumerate(local.var_names):
        joint_name = name if name in st_j.shared else f"s{j}_" + name.split("_", 1)[1]
        if joint_name in st_j.index:
            theta[k] = joint.P[st_j.index[joint_name]]
    return local, data, np.clip(theta, local.lo, local.hi)


def _without(st, species: str, area_name: str):
    """The nested model: the component's area fixed at 0, and its own position, width and shape
    parameters frozen too unless a link refers to them. With zero area they have no effect on
    the residual; left free, their zero Jacobian columns made the trust-region solver run to its
    evaluation limit (1300 evaluations, ~0.7 s per nested fit on the example S 2p spectra in
    independent mode) without changing χ²₀."""
    referenced = set()
    for p in st.params:
        if p.expr:
            referenced |= set(re.findall(r"\b[A-Za-z_]\w*\b", p.expr))
    fixed = {area_name: 0.0}
    for p in st.params:
        if p.species == species and p.kind == "free" and p.name != area_name \
                and p.name not in referenced and p.quantity != "area":
            fixed[p.name] = p.value
    return st.with_fixed(fixed)


def _chi2_solve(st, data, theta) -> tuple[float, int]:
    sol = solve_trf(st, data, theta)
    n = data.n_points
    r = sol.residual[:n]
    return float(r @ r), st.n_vars


def presence_tests(result: SeriesResult, state, *, alpha: float = ALPHA,
                   progress: Callable | None = None) -> list[PresenceTest]:
    """One :class:`PresenceTest` per spectrum × species (see the module docstring)."""
    tests: list[PresenceTest] = []
    n = len(result.results)
    for j, fr in enumerate(result.results):
        st, data, theta = _local_problem(state, j)
        chi1, p1 = _chi2_solve(st, data, theta)
        ndata = data.n_points
        col = {name: k for k, name in enumerate(st.var_names)}
        for c, comp in zip(fr.components, st.components):
            area = next(p for p in st.params if p.species == comp.species
                        and p.quantity == "area")
            F = pval = math.nan
            if area.kind == "free":
                reduced = _without(st, comp.species, area.name)
                t0 = np.array([theta[col[name]] for name in reduced.var_names])
                chi0, p0 = _chi2_solve(reduced, data, t0)
                # Δp counts every parameter the nested fit loses: the area alone in joint mode
                # (position/width are shared and held), area + position + width otherwise
                F, pval = f_test(chi0, min(chi1, chi0), ndata, p1, dp=max(p1 - p0, 1))
            significant = math.isfinite(pval) and pval < alpha
            a_err, f_err = c.area_stderr_total, c.fraction_stderr_total
            big = math.isfinite(c.area_stderr) and c.area > SIGMA_RULE * c.area_stderr
            present = bool(significant and big)
            robust = bool(present and math.isfinite(a_err) and c.area > SIGMA_RULE * a_err)
            upper = math.nan
            if not present:
                upper = max(c.fraction, 0.0) + SIGMA_RULE * (f_err if math.isfinite(f_err)
                                                             else 0.0)
            tests.append(PresenceTest(series_index=j, label=result.labels[j], species=c.species,
                                      present=present, F=F, p_value=pval, fraction=c.fraction,
                                      fraction_stderr=f_err, area=c.area, area_stderr=a_err,
                                      upper_limit=upper, background_robust=robust))
        if progress is not None:
            progress(j + 1, n, f"presence tests {result.labels[j]}")
    return tests


def _pct(x: float) -> str:
    return f"{100 * x:.1f}" if math.isfinite(x) else "?"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "nan"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.0e}"


def onsets(result: SeriesResult, *, rule: str = "sustained") -> list[Onset]:
    """The onset of every species from ``result.presence`` with its sentence. Sentences use the
    chemical label (PS₄³⁻, S⁰) and tell a species present from the first spectrum ("present
    throughout") from one that appears later ("appears at 3.8 V"); the Onset fields keep the
    species key and state label for tables."""
    out = []
    comps = result.results[0].components if result.results else []
    for c in comps:
        sp, name = c.species, (c.label or c.species)
        tests = sorted((t for t in result.presence if t.species == sp),
                       key=lambda t: t.series_index)
        flags = [t.present for t in tests]
        first = next((k for k, f in enumerate(flags) if f), None)
        if first is None:
            ul = [t.upper_limit for t in tests if math.isfinite(t.upper_limit)]
            limit = f" (fraction < {_pct(max(ul))} % at every state)" if ul else ""
            out.append(Onset(species=sp, index=None, label=None,
                             sentence=f"{name}: not detected{limit}"))
            continue
        onset = first
        note = ""
        verb = "appears at"
        if rule == "sustained":
            sustained = next((k for k in range(len(flags)) if all(flags[k:])), None)
            if sustained is not None:
                onset = sustained
                if sustained != first:
                    iso = ", ".join(tests[k].label for k in range(sustained) if flags[k])
                    note = f"; isolated earlier detection at {iso}"
            else:
                gaps = ", ".join(t.label for t in tests[first:] if not t.present)
                note = f"; not detected again at {gaps}"
                verb = "detected at"
        t = tests[onset]
        fragile = [u.label for u in tests[onset:] if u.present and not u.background_robust]
        if fragile:
            robust_from = next((u.label for k, u in enumerate(tests) if k >= onset
                                and all(v.present and v.background_robust
                                        for v in tests[k:])), None)
            note += (f"; at {', '.join(fragile)} the detection depends on the background choice "
                     f"(area < 3σ_total)" + (f", robust from {robust_from}" if robust_from
                                             else ""))
        stats = (f"F = {t.F:.1f}, p = {_p(t.p_value)}, "
                 f"fraction = {_pct(t.fraction)} ± {_pct(t.fraction_stderr)} %")
        if onset == 0 and all(flags):
            sentence = (f"{name}: present throughout, {t.label} to {tests[-1].label} "
                        f"(at {t.label}: {stats})")
        else:
            sentence = f"{name}: {verb} {t.label} ({stats}){note}"
        out.append(Onset(species=sp, index=t.series_index, label=t.label, F=t.F,
                         p_value=t.p_value, fraction=t.fraction,
                         fraction_stderr=t.fraction_stderr, sentence=sentence))
    return out


__all__ = ["f_test", "presence_tests", "onsets", "ALPHA", "SIGMA_RULE"]
