"""Series fits: ``fit_series(spectra, recipe) -> SeriesResult``.

Modes
-----
``joint`` (default)
    ONE least-squares problem over every spectrum of the series. Following the recipe's
    ``[series]`` section, the quantities named in ``shared`` (position, fwhm, shape, splitting,
    ratio) are one parameter per species for the whole series; everything else (areas ≥ 0,
    background parameters, unshared quantities) is one parameter per spectrum, named
    ``s{index}_<name>`` (:func:`xpsfit.recipe.naming.param_name`). With shared positions and
    ``shift = "per_spectrum"`` every spectrum gets one rigid energy shift ``s{index}_shift``
    (bounded by ``shift_bounds``); the first spectrum's shift is fixed at 0, so the shared
    positions are those of the first spectrum and the chemical shifts between species are the
    same in every spectrum (a global offset of positions and shifts would otherwise be
    degenerate). The problem is the engine's :class:`~xpsfit.engine.structure.Structure` of
    ``n`` spectra (:mod:`xpsfit.engine`): the stack of every spectrum's Poisson-weighted residual
    plus the recipe's soft priors, once per distinct expression, with the line shapes' own
    derivatives for every shape. Listing a quantity in ``shared`` that the recipe fixes is a
    :class:`~xpsfit.errors.RecipeError` naming ``series.shared``.

    The covariance is (JᵀJ)⁻¹ of the joint weighted Jacobian, scaled like a single fit
    (max(1, χ²_ν) of the joint fit with raw counts, χ²_ν otherwise). Each spectrum's
    :class:`~xpsfit.results.FitResult` gets its parameters' covariance by linear propagation
    from the joint one, so fractions ± σ include the correlations with the shared positions,
    widths and the spectrum's shift. Parameters the data cannot determine at all (the position
    or width of a species whose area is zero in every spectrum) are left out of the inversion
    and get σ = NaN with a warning; any other singular covariance is a :class:`FitError`.
    An active-Shirley joint fit starts from the same joint fit on a static Shirley
    (:func:`_static_prefit`).

``propagate``
    CasaXPS style: fit the first spectrum alone, use its values as the start of the next, etc.

``independent``
    :func:`xpsfit.fit.fit` per spectrum.

Every mode ends with the presence tests and onsets of :mod:`xpsfit.fitting.presence`.
"""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import FitError, Progress, tick
from ..recipe.spec import Recipe, check_range, check_region
from ..results import FitResult, FitStatistics, PresenceTest, SeriesResult
from ..spectrum import region_key
from ..engine import background_variants
from ..engine import goodness as stats
from ..engine.assemble import Solved, joint_notices, joint_records, solved, spectrum_result
from ..engine.data import prepare_spectra
from ..engine.solvers import solve_trf
from ..engine.threads import single_threaded
from ..engine.structure import Structure, compile_problem
from .single import fit, solved_of

MODES = ("joint", "propagate", "independent")

def spectrum_id(spectrum) -> str:
    """``file.vms#3`` (or the block name) — an unambiguous handle for messages and --order."""
    a = spectrum.attrs
    src = str(a.get("source_file", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    if src:
        return f"{src}#{int(a.get('block_index', 0))}"
    return str(a.get("block_name", "") or a.get("label", "") or "spectrum")


def _raw_label(spectrum) -> str:
    a = spectrum.attrs
    for key in ("label", "sample", "block_name"):
        text = str(a.get(key, "") or "").strip()
        if text:
            return text
    v = a.get("voltage", math.nan)
    if isinstance(v, (int, float)) and math.isfinite(v):
        return f"{v:g} V"
    return spectrum_id(spectrum)


def default_labels(spectra: Sequence) -> list[str]:
    """Labels from the spectra's ``label``/``sample``/``block_name`` attrs (voltage as a last
    resort). Leading words common to every label (the electrode name: ``"KB 3.6 V"``,
    ``"KB pristine"``) are dropped unless that leaves bare numbers, so the labels name the states (``"3.6 V"``, ``"pristine"``);
    duplicates get `` (2)``, `` (3)``."""
    raw = [_raw_label(s) for s in spectra]
    words = [r.split() for r in raw]
    common = 0
    if len(raw) > 1:
        while all(len(w) > common + 1 for w in words) and \
                len({w[common] for w in words}) == 1:
            common += 1
    labels = [" ".join(w[common:]) for w in words]
    if any(re.fullmatch(r"[\d.]+", lab) for lab in labels):   # "state 2" -> "2" says nothing
        labels = raw
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", str(text)).lower()


def resolve_order(order, spectra: Sequence, labels: Sequence[str]) -> list[int]:
    """Indices of ``spectra`` in series order. ``order`` is None (as given), ``"label"`` or
    ``"voltage"`` (sorted; pristine/no voltage first), or a list naming every spectrum by label,
    full label, ``file#block`` or index. Unknown names -> FitError listing the labels."""
    n = len(spectra)
    if order is None:
        return list(range(n))
    if isinstance(order, str):
        key = order.strip().lower()
        if key == "voltage":
            def vkey(i):
                v = spectra[i].attrs.get("voltage", math.nan)
                v = float(v) if isinstance(v, (int, float)) else math.nan
                return (0, 0.0, i) if not math.isfinite(v) else (1, v, i)
            return sorted(range(n), key=vkey)
        if key == "label":
            def natural(i):
                return [(0, float(t), "") if re.fullmatch(r"\d+(\.\d+)?", t) else (1, 0.0, t)
                        for t in re.findall(r"\d+(?:\.\d+)?|\D+", labels[i].lower())]
            return sorted(range(n), key=natural)
        order = [t for t in order.split(",")]
    names: dict[str, int] = {}
    for i, s in enumerate(spectra):
        for handle in (labels[i], _raw_label(s), spectrum_id(s), str(i)):
            names.setdefault(_norm(handle), i)
    out, unknown = [], []
    for item in order:
        item = str(item).strip()
        if not item:
            continue
        i = names.get(_norm(item))
        if i is None:
            unknown.append(item)
        elif i in out:
            raise FitError(f"series order names {item!r} twice")
        else:
            out.append(i)
    if unknown:
        raise FitError(f"series order names unknown spectra: {', '.join(map(repr, unknown))}; "
                       f"labels are: {', '.join(labels)}")
    missing = [labels[i] for i in range(n) if i not in out]
    if missing:
        raise FitError(f"series order leaves out: {', '.join(missing)} (name every spectrum, "
                       f"or pass only the spectra you want)")
    return out


def _validate(spectra: Sequence, recipe: Recipe) -> list:
    if not spectra:
        raise FitError("a series needs at least one spectrum")
    regions = {}
    for s in spectra:
        reg = str(s.attrs.get("region", "") or "").strip()
        if reg:
            regions.setdefault(region_key(reg), (reg, spectrum_id(s)))
    if len(regions) > 1:
        listed = "; ".join(f"{reg} ({sid})" for reg, sid in regions.values())
        raise FitError(f"spectra of different regions in one series: {listed}")
    out = []
    for s in spectra:
        s = check_region(recipe, s)
        check_range(recipe, s)
        out.append(s)
    return out






@dataclass
class SeriesFit:
    """What the presence tests need beyond the plain SeriesResult (kept off the public data):
    the joint problem and its solution (joint mode), or each spectrum's own (other modes)."""
    spectra: list
    joint: Solved | None              # joint mode
    singles: list[Solved]             # independent / propagate modes: one per spectrum


@single_threaded
def fit_series(spectra: Sequence, recipe: Recipe, *, order=None, labels: Sequence[str] | None
               = None, mode: str = "joint", progress: Progress | None = None,
               presence: bool = True, alpha: float = 0.05, onset_rule: str = "sustained",
               sigma_bg: bool | None = None) -> SeriesResult:
    """Fit a series of spectra of one region with one recipe (see the module docstring).

    ``order``: None (as given), ``"label"``/``"voltage"``, or a list/comma string of labels.
    ``labels``: one label per spectrum (in the order given), overriding :func:`default_labels`.
    ``presence``: run the nested-model presence tests and onsets (:mod:`xpsfit.fitting.presence`).
    ``sigma_bg`` (default: the recipe's ``[background] sigma_bg``, on): the background-
    systematic σ of every area and fraction, from background variants applied to the whole
    joint problem (:mod:`xpsfit.engine.background_variants`); the presence tests use σ_total.
    """
    if mode not in MODES:
        raise FitError(f"unknown series mode {mode!r} (choose one of {', '.join(MODES)})")
    spectra = _validate(list(spectra), recipe)
    if labels is None:
        labels = default_labels(spectra)
    else:
        labels = [str(x) for x in labels]
        if len(labels) != len(spectra):
            raise FitError(f"{len(labels)} labels for {len(spectra)} spectra")
    idx = resolve_order(order, spectra, labels)
    spectra = [spectra[i] for i in idx]
    labels = [labels[i] for i in idx]
    n = len(spectra)
    total = n + (n if presence else 0)

    def step(done, message):
        tick(progress, done, total, message, what="series fit")

    step(0, "building the joint problem" if mode == "joint" else "fitting")
    with_bg = background_variants.wanted(recipe, sigma_bg)
    if mode == "joint":
        result, state = _fit_joint(spectra, recipe, labels, step, with_bg)
    else:
        result, state = _fit_each(spectra, recipe, labels, mode, step, with_bg)
    if presence:
        from .presence import onsets as find_onsets, presence_tests
        result.presence = presence_tests(result, state, alpha=alpha,
                                         progress=lambda d, t, m: step(n + d, m))
        result.onsets = find_onsets(result, rule=onset_rule)
        for r in result.results:
            for c in r.components:
                hit = [t for t in result.presence if t.label == r.label and
                       t.species == c.species]
                c.present = hit[0].present if hit else None
                if hit:
                    c.presence_F, c.presence_p = hit[0].F, hit[0].p_value
                    c.upper_limit = hit[0].upper_limit
    step(total, "done")
    return result


def _fit_each(spectra, recipe, labels, mode, step, with_bg):
    results, singles = [], []
    start = None
    st = compile_problem(recipe)
    for j, (s, lab) in enumerate(zip(spectra, labels)):
        r = fit(s, recipe, start=start, sigma_bg=with_bg)
        r.label = lab
        results.append(r)
        if mode == "propagate":
            start = {k: p.value for k, p in r.parameters.items() if p.kind == "free"}
        singles.append(solved_of(r, st))
        step(j + 1, f"fitted {lab}")
    res = SeriesResult(results=results, labels=list(labels), recipe=recipe, mode=mode,
                       statistics=_series_statistics(results))
    return res, SeriesFit(list(spectra), None, singles)


def presence_of(results: Sequence[FitResult], *, alpha: float = 0.05) -> list[PresenceTest]:
    """Presence tests of independent single fits (``xpsfit fit --presence``): the nested-model
    test of :mod:`xpsfit.presence` for every species of every result, in independent mode (all
    parameters of the spectrum refitted without the component). ``series_index`` is the
    position in ``results``, ``label`` its spectrum name. Sets each component's ``present``,
    ``presence_F``, ``presence_p`` and ``upper_limit``."""
    from .presence import presence_tests
    results = list(results)
    if not results:
        return []
    singles = []
    for r in results:
        singles.append(solved_of(r))
    labels = [r.spectrum_name() for r in results]
    view = SeriesResult(results=results, labels=labels, recipe=results[0].recipe,
                        mode="independent")
    tests = presence_tests(view, SeriesFit([r.spectrum for r in results], None, singles),
                           alpha=alpha)
    for t in tests:
        c = results[t.series_index].component(t.species)
        c.present, c.presence_F, c.presence_p = t.present, t.F, t.p_value
        c.upper_limit = t.upper_limit
    return tests


def _series_statistics(results) -> FitStatistics:
    chisqr = sum(r.statistics.chisqr for r in results)
    ndata = sum(r.statistics.ndata for r in results)
    nvarys = sum(r.statistics.nvarys for r in results)
    aic, bic = stats.information_criteria(chisqr, ndata, nvarys)
    return FitStatistics(chisqr=chisqr, redchi=chisqr / max(ndata - nvarys, 1), aic=aic,
                         bic=bic, ndata=ndata, nvarys=nvarys,
                         nfev=sum(r.statistics.nfev for r in results),
                         success=all(r.statistics.success for r in results),
                         message="independent fits")


def _fit_joint(spectra, recipe, labels, step, with_bg):
    st = compile_problem(recipe, len(spectra), series=True)
    data = prepare_spectra(st, spectra)
    theta0 = data.theta0[0]
    step(0, "joint fit")
    if st.bg_type == "shirley_active":
        theta0 = _static_prefit(st, spectra, recipe, theta0)
    sol = solve_trf(st, data, theta0, progress=lambda d, t, m: step(0, m),
                    where={"path": recipe.source or None})
    s = solved(st, data, sol)
    if s.cov is None:
        raise FitError("joint series fit: the covariance matrix is singular (parameters are "
                       "degenerate; tie more quantities in [series] shared or links)",
                       path=recipe.source or None)
    records = joint_records(s)
    aic, bic = stats.information_criteria(s.chisqr + s.prior_chisqr, data.n_points, st.n_vars)
    statistics = FitStatistics(chisqr=s.chisqr + s.prior_chisqr, redchi=s.redchi, aic=aic,
                               bic=bic, ndata=data.n_points, nvarys=st.n_vars, nfev=s.nfev,
                               success=s.success, message=s.message, prior_chisqr=s.prior_chisqr)
    results = []
    for j, lab in enumerate(labels):
        results.append(spectrum_result(s, j, label=lab))
        step(j + 1, f"assembled {lab}")
    if with_bg:
        background_variants.apply(background_variants.spread(s), results)
    res = SeriesResult(results=results, labels=list(labels), recipe=recipe, mode="joint",
                       parameters=records, covariance=s.cov, covariance_names=list(st.var_names),
                       statistics=statistics, warnings=joint_notices(s)[:20])
    return res, SeriesFit(list(spectra), s, [])


def _static_prefit(st: Structure, spectra, recipe: Recipe, theta0: np.ndarray) -> np.ndarray:
    """Start values of an active-Shirley joint fit from the same joint fit on a static Shirley.

    Measured on the example P 2p series: started from the single-spectrum heuristics, the
    active joint fit (34 free parameters) falls into a local minimum in which P2Sx sits at the
    bottom of its window with a doubled width (fractions off by up to 29 pp), because the
    background level and step start far from the data. The static-Shirley joint fit has no
    background parameters and converges from the same start; its positions, widths, shifts and
    areas, plus c0 = B(x0) and k = (B(xN) − B(x0)) / ∫peaks of its background, put the active
    fit inside the right basin (about 100 ms more)."""
    static = copy.deepcopy(recipe)
    static.background.type = "shirley"
    try:
        pre = compile_problem(static, len(spectra), series=True)
        pdata = prepare_spectra(pre, spectra)
    except FitError:                  # a static Shirley cannot be built: keep the plain starts
        return theta0
    sol = solve_trf(pre, pdata)
    return background_variants.carry_over(st, theta0, pre, pdata, sol.theta)


__all__ = ["fit_series", "default_labels", "resolve_order", "spectrum_id", "MODES", "SeriesFit"]
