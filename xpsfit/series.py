"""Series fits: ``fit_series(spectra, recipe) -> SeriesResult``.

Modes
-----
``joint`` (default)
    ONE least-squares problem over every spectrum of the series. Following the recipe's
    ``[series]`` section, the quantities named in ``shared`` (position, fwhm, shape, splitting,
    ratio) are one parameter per species for the whole series; everything else (areas ≥ 0,
    background parameters, unshared quantities) is one parameter per spectrum, named
    ``s{index}_<name>`` (:func:`xpsfit.naming.param_name`). With shared positions and
    ``shift = "per_spectrum"`` every spectrum gets one rigid energy shift ``s{index}_shift``
    (bounded by ``shift_bounds``); the first spectrum's shift is fixed at 0, so the shared
    positions are those of the first spectrum and the chemical shifts between species are the
    same in every spectrum (a global offset of positions and shifts would otherwise be
    degenerate). The residual is the stack of every spectrum's Poisson-weighted residual
    (:class:`xpsfit.model.Model` of each spectrum, reused for cropping, weights, background and
    line shapes) plus the recipe's soft priors, once per distinct parameter expression.
    Pseudo-Voigt recipes get an analytic Jacobian.

    The covariance is (JᵀJ)⁻¹ of the joint weighted Jacobian, scaled like a single fit
    (max(1, χ²_ν) of the joint fit with raw counts, χ²_ν otherwise). Each spectrum's
    :class:`~xpsfit.result.FitResult` gets its parameters' covariance by linear propagation
    from the joint one, so fractions ± σ include the correlations with the shared positions,
    widths and the spectrum's shift. Parameters the data cannot determine at all (the position
    or width of a species whose area is zero in every spectrum) are left out of the inversion
    and get σ = NaN with a warning; any other singular covariance is a :class:`FitError`.

``propagate``
    CasaXPS style: fit the first spectrum alone, use its values as the start of the next, etc.

``independent``
    :func:`xpsfit.fit.fit` per spectrum.

Every mode ends with the presence tests and onsets of :mod:`xpsfit.presence`.
"""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import lmfit
import numpy as np

from . import stats
from .errors import Cancelled, FitError
from .model import _GLOBALS, FreeVariables, Model, _cumtrapz, _pv_with_derivs, _topological, build_model
from .recipe import Recipe, check_range, check_region
from .result import FitResult, FitStatistics, ParameterRecord, SeriesResult
from .spectrum import region_key

Progress = Callable[[int, int, str], "bool | None"]

MODES = ("joint", "propagate", "independent")
SHIFT = "shift"
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")


# ------------------------------------------------------------------------- labels and order
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


# --------------------------------------------------------------------------- joint problem
def _is_shape(model: Model, quantity: str) -> bool:
    return any(quantity in c.shape_names for c in model.components)


class JointProblem(FreeVariables):
    """The joint least-squares problem of a series (duck-types the interface that
    :func:`xpsfit.fit.solve` expects of a :class:`~xpsfit.model.Model`)."""

    def __init__(self, models: list[Model], starts: list[lmfit.Parameters], recipe: Recipe):
        self.models = models
        self.recipe = recipe
        self.source = recipe.source or ""
        self.block = None
        self.n_spec = len(models)
        m0 = models[0]
        self.species = m0.species
        qmap = m0._qmap                   # single name -> (quantity, component index)
        shared_q = set(recipe.series.shared)
        single = list(starts[0])

        def category(name):
            q = qmap.get(name, (name, None))[0]
            if q in ("position", "fwhm", "splitting", "ratio"):
                return q
            if _is_shape(m0, q):
                return "shape"
            return q                     # area, bg_*
        shared = {n for n in single if category(n) in shared_q}
        # a shared parameter whose link refers to a per-spectrum one cannot be shared
        changed = True
        while changed:
            changed = False
            for n in list(shared):
                expr = starts[0][n].expr
                if expr and any(t in starts[0] and t not in shared for t in _NAME.findall(expr)):
                    shared.discard(n)
                    changed = True
        self.shared = shared
        self.use_shift = (recipe.series.shift == "per_spectrum" and self.n_spec > 1 and
                          all(c.names["position"] in shared for c in m0.components))
        self.single_names = single
        self.position_names = {c.names["position"] for c in m0.components}

        params = lmfit.Parameters()
        for n in single:
            if n in shared:
                self._add(params, n, starts[0][n], None)
        for j in range(self.n_spec):
            for n in single:
                if n not in shared:
                    self._add(params, self.name(n, j), starts[j][n], j)
            if self.use_shift:
                lo, hi = recipe.series.shift_bounds
                if j == 0:
                    params.add(self.shift_name(0), value=0.0, vary=False)
                else:
                    params.add(self.shift_name(j), value=0.0, min=lo, max=hi)
        try:
            params.update_constraints()
        except Exception as exc:
            raise FitError(f"series links cannot be evaluated: {exc}",
                           path=self.source or None, key="links") from None
        self.params = params
        self._compile_priors()
        self._prepare()

    # -- names
    def name(self, single: str, j: int) -> str:
        """Joint name of a single-model parameter for spectrum ``j``."""
        return single if single in self.shared else f"s{j}_{single}"

    def shift_name(self, j: int) -> str:
        return f"s{j}_{SHIFT}"

    def _rewrite(self, expr: str, j: int) -> str:
        single = set(self.single_names)
        return _NAME.sub(lambda m: self.name(m.group(0), j) if m.group(0) in single
                         else m.group(0), expr)

    def _add(self, params, joint: str, p: lmfit.Parameter, j: int | None) -> None:
        if p.expr:
            params.add(joint, expr=self._rewrite(p.expr, 0 if j is None else j))
        else:
            params.add(joint, value=p.value, min=p.min, max=p.max, vary=p.vary)

    def _compile_priors(self) -> None:
        seen: dict[str, tuple] = {}
        for j, m in enumerate(self.models):
            for label, expr, value, sigma in m.priors:
                e = self._rewrite(expr, j)
                if e not in seen:
                    seen[e] = (label if all(t in self.shared for t in _NAME.findall(e)
                                            if t in self.params) else f"{label} [{j}]",
                               e, value, sigma)
        self.priors = list(seen.values())
        self._prior_code = [compile(e, "<prior>", "eval") for _, e, _, _ in self.priors]

    def _prepare(self) -> None:
        params = self.params
        self.names = list(params)
        self.index = {n: i for i, n in enumerate(self.names)}
        self._var_names = [n for n in self.names if params[n].vary and not params[n].expr]
        self._expr_names = [n for n in self.names if params[n].expr]
        self._expr_code = {n: compile(params[n].expr, "<link>", "eval")
                           for n in self._expr_names}
        self._expr_order = _topological(self._expr_code, set(self._expr_names))
        self.fast = all(m.fast for m in self.models)
        # per spectrum: joint-name indices of each model quantity
        self.slots = []
        for j, m in enumerate(self.models):
            s = {"position": [], "fwhm": [], "area": [], "splitting": [], "ratio": [],
                 "eta": []}
            for c in m.components:
                nm = c.names
                for q in ("position", "fwhm", "area"):
                    s[q].append(self.index[self.name(nm[q], j)])
                for q in ("splitting", "ratio"):
                    s[q].append(self.index[self.name(nm[q], j)] if q in nm else -1)
                s["eta"].append(self.index[self.name(nm["eta"], j)] if "eta" in nm else -1)
            s = {k: np.array(v) for k, v in s.items()}
            s["shift"] = self.index[self.shift_name(j)] if self.use_shift else -1
            if m.bg_type == "shirley_active":
                s["c0"] = self.index[self.name("bg_c0", j)]
                s["k"] = self.index[self.name("bg_k", j)]
            self.slots.append(s)
        self.npts = [m.x.size for m in self.models]
        self.offsets = np.concatenate([[0], np.cumsum(self.npts)])

    # -- var_names / bounds / values_from_vector for xpsfit.fit.solve come from FreeVariables
    @property
    def has_jacobian(self) -> bool:
        return self.fast

    def _vector(self, ns) -> np.ndarray:
        if isinstance(ns, lmfit.Parameters):
            ns = {n: p.value for n, p in ns.items()}
        return np.array([ns[n] for n in self.names], dtype=float)

    def spectrum_arrays(self, v: np.ndarray, j: int):
        """(position incl. shift, fwhm, area, shape, splitting, ratio, c0, k) of spectrum j."""
        s = self.slots[j]
        m = self.models[j]
        shift = v[s["shift"]] if s["shift"] >= 0 else 0.0
        pos = v[s["position"]] + shift
        sp = np.where(s["splitting"] >= 0, v[s["splitting"]], 0.0)
        ra = np.where(s["ratio"] >= 0, v[s["ratio"]], 0.5)
        shape: dict[str, np.ndarray] = {}
        if m.fast:
            shape["eta"] = v[s["eta"]]
        else:
            for i, c in enumerate(m.components):
                for q in c.shape_names:
                    shape.setdefault(q, np.full(m.n_comp, np.nan))[i] = \
                        v[self.index[self.name(c.names[q], j)]]
        c0 = v[s["c0"]] if "c0" in s else 0.0
        k = v[s["k"]] if "k" in s else 0.0
        return pos, v[s["fwhm"]], v[s["area"]], shape, sp, ra, c0, k

    def spectrum_residual(self, v: np.ndarray, j: int) -> np.ndarray:
        m = self.models[j]
        pos, fw, ar, shape, sp, ra, c0, k = self.spectrum_arrays(v, j)
        total = m.lines(pos, fw, ar, shape, sp, ra).sum(axis=0)
        model = total + m.background(total, c0, k)
        return (model - m.y) * m.inv_sigma

    def chi2_per_spectrum(self, ns) -> np.ndarray:
        v = self._vector(ns)
        return np.array([float(np.sum(self.spectrum_residual(v, j) ** 2))
                         for j in range(self.n_spec)])

    def residual(self, ns) -> np.ndarray:
        v = self._vector(ns)
        parts = [self.spectrum_residual(v, j) for j in range(self.n_spec)]
        if self.priors:
            d = ns if isinstance(ns, dict) else {n: p.value for n, p in ns.items()}
            parts.append(np.array([(float(eval(c, _GLOBALS, d)) - t) / s for c, (_, _, t, s)
                                   in zip(self._prior_code, self.priors)]))
        return np.concatenate(parts)

    # -- analytic Jacobian (pseudo-Voigt)
    def gradients(self, ns) -> np.ndarray:
        """G[name, var] = ∂(joint parameter value)/∂(free variable) (links by forward
        differences on the expressions only)."""
        nv = len(self._var_names)
        g = np.zeros((len(self.names), nv))
        for k, n in enumerate(self._var_names):
            g[self.index[n], k] = 1.0
        if self._expr_names:
            base = dict(ns)
            self._eval_exprs(base)
            for k, n in enumerate(self._var_names):
                d = dict(base)
                h = 1e-7 * max(1.0, abs(d[n]))
                d[n] += h
                self._eval_exprs(d)
                for e in self._expr_names:
                    g[self.index[e], k] = (d[e] - base[e]) / h
        return g

    def _spectrum_jacobian(self, v, j, g) -> np.ndarray:
        m = self.models[j]
        s = self.slots[j]
        pos, fw, ar, shape, sp, ra, c0, k = self.spectrum_arrays(v, j)
        eta = shape["eta"]
        lc, minor = m._line_comp, m._line_minor
        dbl = np.array([c.doublet for c in m.components])
        wmaj = np.where(dbl, 1.0 / (1.0 + ra), 1.0)
        w = np.where(minor, (ra / (1.0 + ra))[lc], wmaj[lc])
        center = pos[lc] + np.where(minor, sp[lc], 0.0)
        p, dc, dfw, de = _pv_with_derivs(m.x[None, :], center[:, None], fw[lc][:, None],
                                         eta[lc][:, None])
        amp = (ar[lc] * w)[:, None]
        nc, npts = m.n_comp, m.x.size
        d_pos = np.zeros((nc, npts))
        d_fw = np.zeros((nc, npts))
        d_area = np.zeros((nc, npts))
        d_eta = np.zeros((nc, npts))
        d_split = np.zeros((nc, npts))
        d_ratio = np.zeros((nc, npts))
        np.add.at(d_pos, lc, amp * dc)
        np.add.at(d_fw, lc, amp * dfw)
        np.add.at(d_area, lc, w[:, None] * p)
        np.add.at(d_eta, lc, amp * de)
        r1 = (1.0 + ra[lc])[:, None]
        sign = np.where(minor, 1.0, np.where(dbl[lc], -1.0, 0.0))[:, None]
        np.add.at(d_ratio, lc, sign * ar[lc][:, None] * p / (r1 * r1))
        np.add.at(d_split, lc, np.where(minor[:, None], amp * dc, 0.0))
        rows = [d_pos, d_fw, d_area, d_eta, d_split, d_ratio]
        idx = [s["position"], s["fwhm"], s["area"], s["eta"], s["splitting"], s["ratio"]]
        dpeak = np.vstack(rows)
        gi = np.concatenate(idx)
        gsub = np.where(gi[:, None] >= 0, g[np.maximum(gi, 0)], 0.0)
        if s["shift"] >= 0:
            dpeak = np.vstack([dpeak, d_pos.sum(axis=0)[None, :]])
            gsub = np.vstack([gsub, g[s["shift"]][None, :]])
        if m.static_background is None:
            dmodel = dpeak + k * _cumtrapz(m._half_dx, dpeak, np.empty_like(dpeak))
            total = (amp * p).sum(axis=0)
            dmodel = np.vstack([dmodel, np.ones((1, npts)),
                                _cumtrapz(m._half_dx, total, np.empty(npts))[None, :]])
            gsub = np.vstack([gsub, g[s["c0"]][None, :], g[s["k"]][None, :]])
        else:
            dmodel = dpeak
        return (dmodel * m.inv_sigma).T @ gsub

    def jacobian(self, ns) -> np.ndarray:
        if isinstance(ns, lmfit.Parameters):
            ns = {n: p.value for n, p in ns.items()}
        v = self._vector(ns)
        g = self.gradients(ns)
        blocks = [self._spectrum_jacobian(v, j, g) for j in range(self.n_spec)]
        if self.priors:
            ref = np.array([float(eval(c, _GLOBALS, ns)) for c in self._prior_code])
            jp = np.zeros((len(self.priors), len(self._var_names)))
            for k, n in enumerate(self._var_names):
                d = dict(ns)
                h = 1e-7 * max(1.0, abs(d[n]))
                d[n] += h
                self._eval_exprs(d)
                jp[:, k] = (np.array([float(eval(c, _GLOBALS, d)) for c in self._prior_code])
                            - ref) / h
            sig = np.array([s for *_, s in self.priors])
            blocks.append(jp / sig[:, None])
        return np.vstack(blocks)

    def numeric_jacobian(self, ns) -> np.ndarray:
        """Forward-difference Jacobian (line shapes without analytic derivatives)."""
        theta = np.array([ns[n] for n in self._var_names])
        r0 = self.residual(ns)
        out = np.empty((r0.size, theta.size))
        for k in range(theta.size):
            t = theta.copy()
            h = 1e-7 * max(1.0, abs(t[k]))
            t[k] += h
            out[:, k] = (self.residual(self.values_from_vector(t, ns)) - r0) / h
        return out

    # -- per-spectrum single-model view
    def single_gradients(self, g: np.ndarray, j: int) -> dict[str, np.ndarray]:
        """∂(single-model parameter of spectrum j)/∂(joint free variables)."""
        out = {}
        for n in self.single_names:
            row = g[self.index[self.name(n, j)]].copy()
            if self.use_shift and n in self.position_names:
                row += g[self.index[self.shift_name(j)]]
            out[n] = row
        return out

    def single_values(self, ns: dict, j: int) -> dict[str, float]:
        shift = ns[self.shift_name(j)] if self.use_shift else 0.0
        return {n: ns[self.name(n, j)] + (shift if n in self.position_names else 0.0)
                for n in self.single_names}


# ------------------------------------------------------------------------------ covariance
def joint_covariance(jac: np.ndarray, var_names: list[str]) -> tuple[np.ndarray | None,
                                                                       list[str]]:
    """Unscaled covariance over ``var_names``; columns the data do not constrain at all
    (zero Jacobian column: the position/width of a species with zero area everywhere) are left
    out of the inversion and returned as ``undetermined`` (their rows/columns are 0)."""
    from .fit import _unscaled_covariance
    j = np.asarray(jac, dtype=float)
    norms = np.sqrt(np.sum(j * j, axis=0))
    top = float(norms.max()) if norms.size else 0.0
    keep = norms > 1e-12 * max(top, 1e-300)
    undetermined = [n for n, k in zip(var_names, keep) if not k]
    cov_k = _unscaled_covariance(j[:, keep]) if keep.any() else None
    if cov_k is None:
        return None, undetermined
    cov = np.zeros((len(var_names), len(var_names)))
    ix = np.flatnonzero(keep)
    cov[np.ix_(ix, ix)] = cov_k
    return cov, undetermined


# --------------------------------------------------------------------------------- fitting
@dataclass
class SeriesFit:
    """What the presence tests need beyond the plain SeriesResult (kept off the public data)."""
    models: list[Model]
    problem: JointProblem | None
    values: dict | None               # joint parameter values at the optimum
    singles: list[lmfit.Parameters]   # per-spectrum single-model parameters at the optimum


def fit_series(spectra: Sequence, recipe: Recipe, *, order=None, labels: Sequence[str] | None
               = None, mode: str = "joint", progress: Progress | None = None,
               presence: bool = True, alpha: float = 0.05, onset_rule: str = "sustained"
               ) -> SeriesResult:
    """Fit a series of spectra of one region with one recipe (see the module docstring).

    ``order``: None (as given), ``"label"``/``"voltage"``, or a list/comma string of labels.
    ``labels``: one label per spectrum (in the order given), overriding :func:`default_labels`.
    ``presence``: run the nested-model presence tests and onsets (:mod:`xpsfit.presence`).
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

    def tick(done, message):
        if progress is not None and progress(done, total, message):
            raise Cancelled("series fit cancelled")

    tick(0, "building models")
    if mode == "joint":
        result, state = _fit_joint(spectra, recipe, labels, tick)
    else:
        result, state = _fit_each(spectra, recipe, labels, mode, tick)
    if presence:
        from .presence import onsets as find_onsets, presence_tests
        result.presence = presence_tests(result, state, alpha=alpha,
                                         progress=lambda d, t, m: tick(n + d, m))
        result.onsets = find_onsets(result, rule=onset_rule)
        for r in result.results:
            for c in r.components:
                hit = [t for t in result.presence if t.label == r.label and
                       t.species == c.species]
                c.present = hit[0].present if hit else None
    tick(total, "done")
    return result


def _fit_each(spectra, recipe, labels, mode, tick):
    from .fit import fit
    results, models, singles = [], [], []
    start = None
    for j, (s, lab) in enumerate(zip(spectra, labels)):
        r = fit(s, recipe, start=start)
        r.label = lab
        results.append(r)
        if mode == "propagate":
            start = {k: p.value for k, p in r.parameters.items() if p.kind == "free"}
        model, params = build_model(recipe, s)
        for k, p in params.items():
            if not p.expr and k in r.parameters:
                p.value = r.parameters[k].value
        params.update_constraints()
        models.append(model)
        singles.append(params)
        tick(j + 1, f"fitted {lab}")
    st = _series_statistics(results)
    res = SeriesResult(results=results, labels=list(labels), recipe=recipe, mode=mode,
                       statistics=st)
    return res, SeriesFit(models, None, None, singles)


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


def _fit_joint(spectra, recipe, labels, tick):
    from .fit import Solution, make_result, solve
    built = [build_model(recipe, s) for s in spectra]
    models = [m for m, _ in built]
    starts = [p for _, p in built]
    problem = JointProblem(models, starts, recipe)
    tick(0, "joint fit")
    if any(m.bg_type == "shirley_active" for m in models):
        _static_prefit(problem, spectra, recipe)
    sol = solve(problem, problem.params, progress=lambda d, t, m: tick(0, m))
    ns = {k: p.value for k, p in sol.params.items()}
    var_names = problem.var_names
    jac = problem.jacobian(ns) if problem.has_jacobian else problem.numeric_jacobian(ns)
    cov_u, undetermined = joint_covariance(jac, var_names)
    resid = problem.residual(ns)
    ndata = int(sum(problem.npts))
    chi_data = float(resid[:ndata] @ resid[:ndata])
    chi_prior = float(resid[ndata:] @ resid[ndata:])
    nvarys = len(var_names)
    redchi = chi_data / max(ndata - nvarys, 1)
    absolute = all(m.absolute_weights for m in models)
    if cov_u is None:
        raise FitError("joint series fit: the covariance matrix is singular (parameters are "
                       "degenerate; tie more quantities in [series] shared or links)",
                       path=recipe.source or None)
    cov = cov_u * (max(1.0, redchi) if absolute else redchi)
    g = problem.gradients(ns)
    records = _joint_records(problem, sol.params, g, cov, set(undetermined))
    aic, bic = stats.information_criteria(chi_data + chi_prior, ndata, nvarys)
    st = FitStatistics(chisqr=chi_data + chi_prior, redchi=redchi, aic=aic, bic=bic,
                       ndata=ndata, nvarys=nvarys, nfev=sol.nfev, success=sol.success,
                       message=sol.message, prior_chisqr=chi_prior)
    results, singles = [], []
    for j, (m, start, lab) in enumerate(zip(models, starts, labels)):
        params = _single_params(problem, start, ns, j)
        sv = [k for k, p in params.items() if p.vary and not p.expr]
        sg = problem.single_gradients(g, j)
        gj = np.array([sg[k] for k in sv])
        cov_j = gj @ cov @ gj.T if len(sv) else None
        # make_result scales by the spectrum's own max(1, χ²_ν): undo it, keep the joint scaling
        r = m.residual(params)[:m.x.size]
        red_j = float(r @ r) / max(m.x.size - len(sv), 1)
        factor = max(1.0, red_j) if m.absolute_weights else red_j
        sub = Solution(params, sv, None if cov_j is None else cov_j / factor, sol.success,
                       sol.message, sol.nfev)
        fr = make_result(m, sub, label=lab)
        _mark_undetermined(fr, problem, undetermined, j)
        results.append(fr)
        singles.append(params)
        tick(j + 1, f"assembled {lab}")
    warnings = []
    for a, b, rr in stats.strong_pairs(cov, var_names, 0.95):
        warnings.append(f"{a} and {b} are strongly correlated (r = {rr:+.3f})")
    if undetermined:
        warnings.append("not determined by the data (zero area in every spectrum): "
                        + ", ".join(undetermined))
    if not sol.success:
        warnings.append(f"joint fit did not converge: {sol.message}")
    res = SeriesResult(results=results, labels=list(labels), recipe=recipe, mode="joint",
                       parameters=records, covariance=cov, covariance_names=list(var_names),
                       statistics=st, warnings=warnings[:20])
    return res, SeriesFit(models, problem, ns, singles)


def _static_prefit(problem: JointProblem, spectra, recipe: Recipe) -> None:
    """Start values of an active-Shirley joint fit from the same joint fit on a static Shirley.

    Measured on the example P 2p series: started from the single-spectrum heuristics, the
    active joint fit (34 free parameters) falls into a local minimum in which P2Sx sits at the
    bottom of its window with a doubled width (fractions off by up to 29 pp), because the
    background level and step start far from the data. The static-Shirley joint fit has no
    background parameters and converges from the same start; its positions, widths, shifts and
    areas, plus c0 = B(x0) and k = (B(xN) − B(x0)) / ∫peaks of its background, put the active
    fit inside the right basin (about 100 ms more)."""
    from .fit import solve
    static = copy.deepcopy(recipe)
    static.background.type = "shirley"
    try:
        built = [build_model(static, s) for s in spectra]
    except FitError:                  # a static Shirley cannot be built: keep the plain starts
        return
    pre = JointProblem([m for m, _ in built], [p for _, p in built], static)
    sol = solve(pre, pre.params)
    ns = sol.values
    target = problem.params
    for n in pre._var_names:
        if n in target and target[n].vary and not target[n].expr:
            p = target[n]
            p.value = float(np.clip(ns[n], p.min, p.max))
    v = pre._vector(ns)
    for j, m in enumerate(pre.models):
        pos, fw, ar, shape, sp, ra, _, _ = pre.spectrum_arrays(v, j)
        peaks = m.lines(pos, fw, ar, shape, sp, ra).sum(axis=0)
        bg = m.static_background
        step = float(_cumtrapz(m._half_dx, peaks, np.empty_like(peaks))[-1])
        c0, k = problem.name("bg_c0", j), problem.name("bg_k", j)
        if c0 in target and target[c0].vary:
            target[c0].value = float(bg[0])
        if k in target and target[k].vary and step > 0:
            target[k].value = float((bg[-1] - bg[0]) / step)
    target.update_constraints()


def _single_params(problem: JointProblem, start: lmfit.Parameters, ns: dict, j: int
                   ) -> lmfit.Parameters:
    """Single-model Parameters of spectrum j at the joint optimum (position bounds widened by
    the spectrum's shift so lmfit does not clip shifted positions)."""
    vals = problem.single_values(ns, j)
    params = copy.deepcopy(start)
    shift = ns[problem.shift_name(j)] if problem.use_shift else 0.0
    for n, p in params.items():
        if p.expr:
            continue
        if n in problem.position_names and shift:
            p.set(min=p.min + shift, max=p.max + shift)
        p.set(value=vals[n])
    params.update_constraints()
    return params


def _joint_records(problem, params, g, cov, undetermined) -> dict[str, ParameterRecord]:
    out = {}
    for n, p in params.items():
        kind = "linked" if p.expr else ("free" if p.vary else "fixed")
        err = 0.0 if kind == "fixed" else stats.delta_stderr(g[problem.index[n]], cov)
        if n in undetermined:
            err = math.nan
        at_bound = False
        if kind == "free":
            span = p.max - p.min
            tol = 1e-4 * span if np.isfinite(span) and span > 0 else 1e-8
            at_bound = bool((np.isfinite(p.min) and p.value - p.min <= tol) or
                            (np.isfinite(p.max) and p.max - p.value <= tol))
        out[n] = ParameterRecord(name=n, value=float(p.value), stderr=float(err),
                                 min=float(p.min), max=float(p.max), vary=bool(p.vary),
                                 expr=p.expr, kind=kind, at_bound=at_bound)
    return out


def _mark_undetermined(fr: FitResult, problem: JointProblem, undetermined, j: int) -> None:
    if not undetermined:
        return
    und = set(undetermined)
    for n in problem.single_names:
        if problem.name(n, j) in und and n in fr.parameters:
            fr.parameters[n].stderr = math.nan
    for c, info in zip(fr.components, problem.models[j].components):
        if problem.name(info.names["position"], j) in und:
            c.position_stderr = math.nan
        if problem.name(info.names["fwhm"], j) in und:
            c.fwhm_stderr = math.nan


__all__ = ["fit_series", "default_labels", "resolve_order", "spectrum_id", "JointProblem",
           "joint_covariance", "MODES"]
