"""Recipe + Spectrum -> lmfit Parameters and one fast vectorised residual.

The model of one region is

    y(x) = background(x) + sum_c  A_c * [ w1_c * p(x; E_c, F_c) + w2_c * p(x; E_c + Δ_c, F_c) ]

where every component ``c`` is ONE object (a doublet has one position E (2p3/2), one FWHM F and
one total area A; the minor line sits at +Δ with w2 = r/(1+r), w1 = 1/(1+r)).  ``p`` is the
area-normalised line shape of :mod:`xpsfit.lineshapes`.

Speed: all lines are evaluated in one broadcast numpy expression ``(n_lines, n_points)``.  The
default pseudo-Voigt has a built-in kernel with analytic derivatives, so the fit gets an analytic
Jacobian (``Dfun``); other line shapes go through ``LINESHAPES[name].func`` with lmfit's finite
differences.

Weights (Poisson): ``sigma = sqrt(max(counts, 1))`` when ``attrs["counts_unit"] == "counts"``.
For other units (counts/s, arbitrary) the values are first put on an estimated counts scale
``s = mean(y) / var_noise(y)`` (noise variance from second differences), ``sigma =
sqrt(max(s*y, 1))/s``; such weights are only relative, so :mod:`xpsfit.fit` scales the
covariance by the reduced χ² (``Model.absolute_weights`` is False).

Series fits reuse :class:`Model`: :meth:`Model.lines` and :meth:`Model.peaks` evaluate
components from plain arrays (or :meth:`Model.peaks_from_values` from a dict per species) with a
global energy ``shift``; :meth:`Model.background` turns the peak sum into the background.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import lmfit
import numpy as np
import xarray as xr

from .errors import FitError
from .naming import param_name
from .recipe import Recipe
from .spectrum import DIM

LN2 = math.log(2.0)
_G_NORM = 2.0 * math.sqrt(LN2 / math.pi)      # unit-area Gaussian: _G_NORM/F * exp(-4 ln2 u^2)
_L_NORM = 2.0 / math.pi                        # unit-area Lorentzian: _L_NORM/F / (1 + 4 u^2)
_FOUR_LN2 = 4.0 * LN2

BACKGROUNDS = ("shirley", "shirley_active", "tougaard", "linear", "none")
STATIC_BACKGROUNDS = ("shirley", "tougaard", "linear", "none")
# fallback defaults when xpsfit.lineshapes is not importable (only pseudo-Voigt is built in)
_PV_SHAPE = {"eta": (0.5, 0.0, 1.0)}


def bg_name(quantity: str, spectrum: int | None = None) -> str:
    """Name of a background parameter: ``bg_c0``, ``bg_k`` (``s3_bg_k`` in a series)."""
    name = f"bg_{quantity}"
    return name if spectrum is None else f"s{spectrum}_{name}"


def pv_unit(x: np.ndarray, center: np.ndarray, fwhm: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Area-normalised pseudo-Voigt (η = Lorentzian AREA fraction, lmfit convention), broadcast."""
    u = (x - center) / fwhm
    u2 = u * u
    g = (_G_NORM / fwhm) * np.exp(-_FOUR_LN2 * u2)
    lor = (_L_NORM / fwhm) / (1.0 + 4.0 * u2)
    return eta * lor + (1.0 - eta) * g


def _pv_with_derivs(x, center, fwhm, eta):
    """Unit-area pseudo-Voigt and its derivatives d/dcenter, d/dfwhm, d/deta (all broadcast)."""
    inv_f = 1.0 / fwhm
    u = (x - center) * inv_f
    u2 = u * u
    q = 1.0 / (1.0 + 4.0 * u2)
    g = (_G_NORM * inv_f) * np.exp(-_FOUR_LN2 * u2)
    lor = (_L_NORM * inv_f) * q
    e1 = 1.0 - eta
    p = eta * lor + e1 * g
    # dg/du = -8 ln2 u g ; dl/du = -8 u q l ; du/dE = -1/F ; du/dF = -u/F
    gu = 8.0 * LN2 * u * g
    lu = 8.0 * u * q * lor
    d_center = (eta * lu + e1 * gu) * inv_f
    d_fwhm = (eta * (lu * u - lor) + e1 * (gu * u - g)) * inv_f
    d_eta = lor - g
    return p, d_center, d_fwhm, d_eta


def _cumtrapz(x_half_dx: np.ndarray, y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Cumulative trapezoid along the last axis into ``out`` (first column 0)."""
    seg = (y[..., 1:] + y[..., :-1]) * x_half_dx
    out[..., 0] = 0.0
    np.cumsum(seg, axis=-1, out=out[..., 1:])
    return out


@dataclass
class ComponentInfo:
    """What the model knows about one component (plain data, used by fit/result/series)."""
    species: str
    label: str
    lineshape: str
    doublet: bool
    shape_names: list[str]
    names: dict[str, str] = field(default_factory=dict)   # quantity -> lmfit name


class FreeVariables:
    """The vector interface :func:`xpsfit.fit.solve` works on, shared by the single-spectrum
    :class:`Model` and the joint series problem: the free-variable names (``_var_names``), their
    bounds, and full values with the links (``_expr_order``/``_expr_code``) evaluated."""

    _var_names: list[str]
    _expr_order: list[str]
    _expr_code: dict

    @property
    def var_names(self) -> list[str]:
        return list(self._var_names)

    def bounds(self, params) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([params[n].min for n in self._var_names], dtype=float)
        hi = np.array([params[n].max for n in self._var_names], dtype=float)
        return lo, hi

    def values_from_vector(self, theta, base: dict) -> dict:
        """All parameter values for free-variable vector ``theta`` (links evaluated)."""
        ns = dict(base)
        ns.update(zip(self._var_names, theta))
        self._eval_exprs(ns)
        return ns

    def _eval_exprs(self, ns: dict) -> None:
        # link expressions were checked by xpsfit.links and compiled once; no builtins
        for n in self._expr_order:
            ns[n] = float(eval(self._expr_code[n], _GLOBALS, ns))


class Model(FreeVariables):
    """The fit model of one spectrum under one recipe (see module docstring)."""

    def __init__(self, recipe: Recipe, spectrum: xr.DataArray):
        self.recipe = recipe
        self.spectrum = spectrum
        self.source = str(spectrum.attrs.get("source_file", "") or recipe.source or "")
        self.block = spectrum.attrs.get("block_index", None)
        self._crop_and_weights()
        self._compile_components()
        self.bg_type = (recipe.background.type or "none").lower()
        if self.bg_type not in BACKGROUNDS:
            raise FitError(f"unknown background type {recipe.background.type!r} "
                           f"(choose one of {', '.join(BACKGROUNDS)})", path=recipe.source or None,
                           key="background")
        self.static_background = self._static_background()
        self._half_dx = 0.5 * np.diff(self.x)
        self._cum = np.empty(self.x.size)
        self.priors: list[tuple[str, str, float, float]] = []   # (label, lmfit expr, value, σ)
        self._prior_code: list = []

    # ------------------------------------------------------------------ data
    def _err(self, message: str, key: str | None = None) -> FitError:
        return FitError(message, path=self.source or None, block=self.block, key=key)

    def _crop_and_weights(self) -> None:
        sp = self.spectrum
        if DIM not in sp.dims:
            raise self._err(f"spectrum has no {DIM!r} axis")
        x = np.asarray(sp[DIM].values, dtype=float)
        y = np.asarray(sp.values, dtype=float)
        if x.size > 1 and x[0] > x[-1]:
            x, y = x[::-1], y[::-1]
        rng = self.recipe.range
        if rng is not None:
            lo, hi = sorted(float(v) for v in rng)
            keep = (x >= lo) & (x <= hi)
            if not keep.any():
                raise self._err(f"recipe range {lo:g}–{hi:g} eV holds no data (spectrum covers "
                                f"{x.min():g}–{x.max():g} eV)", key="range")
            x, y = x[keep], y[keep]
        if not np.all(np.isfinite(y)):
            raise self._err("counts contain NaN or infinite values in the fit range")
        if np.any(y < 0):
            raise self._err("negative counts in the fit range (background-subtracted data cannot "
                            "get Poisson weights)")
        if np.ptp(y) == 0:
            raise self._err("counts are constant in the fit range: nothing to fit")
        self.x = x
        self.y = y
        unit = str(sp.attrs.get("counts_unit", "counts"))
        self.absolute_weights = unit == "counts"
        if self.absolute_weights:
            self.count_scale = 1.0
        else:
            d2 = np.diff(y, 2)
            noise_var = float(np.mean(d2 * d2) / 6.0) if d2.size else 0.0
            mean = float(np.mean(y))
            self.count_scale = mean / noise_var if noise_var > 0 and mean > 0 else 1.0
        s = self.count_scale
        self.sigma = np.sqrt(np.maximum(y * s, 1.0)) / s
        self.inv_sigma = 1.0 / self.sigma
        self._wy = y * self.inv_sigma

    # ------------------------------------------------------------ components
    def _shape_defaults(self, lineshape: str) -> dict[str, tuple[float, float, float]]:
        try:
            from .lineshapes import LINESHAPES
        except ImportError:
            LINESHAPES = None
        if LINESHAPES is not None:
            if lineshape not in LINESHAPES:
                raise FitError(f"unknown line shape {lineshape!r} (choose one of "
                               f"{', '.join(sorted(LINESHAPES))})", path=self.recipe.source or None,
                               key="lineshape")
            return dict(LINESHAPES[lineshape].shape_params)
        if lineshape == "pseudo_voigt":
            return dict(_PV_SHAPE)
        raise FitError(f"line shape {lineshape!r} needs xpsfit.lineshapes, which is unavailable")

    def _compile_components(self) -> None:
        rec = self.recipe
        if not rec.components:
            raise FitError("recipe has no components", path=rec.source or None, key="components")
        xlo, xhi = float(self.x[0]), float(self.x[-1])
        self.components: list[ComponentInfo] = []
        for c in rec.components:
            ls = c.lineshape or rec.lineshape or "pseudo_voigt"
            shape_defaults = self._shape_defaults(ls)
            lo, hi = sorted(c.window)
            top = hi + (c.splitting if c.doublet else 0.0)
            if top < xlo or lo > xhi:
                raise self._err(f"component {c.species!r} (window {lo:g}–{hi:g} eV) lies entirely "
                                f"outside the data ({xlo:g}–{xhi:g} eV)", key=c.species)
            info = ComponentInfo(c.species, c.label or c.species, ls, bool(c.doublet),
                                 list(shape_defaults))
            for q in ("position", "fwhm", "area", *shape_defaults):
                info.names[q] = param_name(c.species, q)
            if c.doublet:
                info.names["splitting"] = param_name(c.species, "splitting")
                info.names["ratio"] = param_name(c.species, "ratio")
            self.components.append(info)
        keys = [c.species for c in self.components]
        if len(set(keys)) != len(keys):
            raise FitError("a species appears twice in the recipe's components",
                           path=rec.source or None, key="components")
        self.species = keys
        self.n_comp = len(keys)
        self.fast = all(c.lineshape == "pseudo_voigt" for c in self.components)
        # line -> component index and whether it is the minor (2p1/2) line
        comp_of, minor = [], []
        for i, c in enumerate(self.components):
            comp_of.append(i)
            minor.append(False)
            if c.doublet:
                comp_of.append(i)
                minor.append(True)
        self._line_comp = np.array(comp_of)
        self._line_minor = np.array(minor)
        self._minor_idx = np.flatnonzero(self._line_minor)
        self._major_idx = np.flatnonzero(~self._line_minor)

    # ---------------------------------------------------------- backgrounds
    def _static_background(self) -> np.ndarray | None:
        spec = self.recipe.background
        t = self.bg_type
        if t == "none":
            return np.zeros_like(self.y)
        if t == "shirley_active":
            return None
        from . import backgrounds
        n_end = max(1, min(int(spec.endpoints), self.x.size // 4))
        try:
            if t == "shirley":
                bg = backgrounds.shirley(self.x, self.y, endpoints=n_end, tol=spec.tol,
                                         max_iter=spec.max_iter)
            elif t == "linear":
                bg = backgrounds.linear(self.x, self.y, endpoints=n_end)
            else:
                bg = backgrounds.tougaard(self.x, self.y, B=spec.tougaard_B, C=spec.tougaard_C,
                                          C_prime=spec.tougaard_C_prime, D=spec.tougaard_D)
        except FitError:
            raise
        except Exception as exc:   # a background that cannot be built is bad input for the fit
            raise self._err(f"{t} background failed: {exc}", key="background") from None
        bg = np.asarray(bg, dtype=float)
        if bg.shape != self.y.shape or not np.all(np.isfinite(bg)):
            raise self._err(f"{t} background is not finite on the fit range", key="background")
        return bg

    def endpoint_levels(self) -> tuple[float, float]:
        n = max(1, min(int(self.recipe.background.endpoints), self.x.size // 4))
        return float(np.mean(self.y[:n])), float(np.mean(self.y[-n:]))

    def background(self, peak_sum: np.ndarray, c0: float = 0.0, k: float = 0.0) -> np.ndarray:
        """Background for a given total peak curve: active Shirley c0 + k·∫peaks, else static."""
        if self.static_background is not None:
            return self.static_background
        cum = _cumtrapz(self._half_dx, peak_sum, np.empty_like(peak_sum))
        return c0 + k * cum

    # -------------------------------------------------------- evaluation API
    def lines(self, position, fwhm, area, shape: dict[str, np.ndarray], splitting, ratio,
              shift: float = 0.0) -> np.ndarray:
        """All lines, shape (n_lines, n_points); arrays are per component (length n_comp)."""
        position = np.asarray(position, float) + shift
        fwhm = np.asarray(fwhm, float)
        area = np.asarray(area, float)
        splitting = np.asarray(splitting, float)
        ratio = np.asarray(ratio, float)
        lc = self._line_comp
        center = position[lc] + np.where(self._line_minor, splitting[lc], 0.0)
        w = np.where(self._line_minor, ratio[lc] / (1.0 + ratio[lc]), 1.0 / (1.0 + ratio[lc]))
        # singlets: ratio is irrelevant, weight 1
        singlet = np.array([not self.components[i].doublet for i in lc])
        w = np.where(singlet, 1.0, w)
        amp = (area[lc] * w)[:, None]
        x = self.x[None, :]
        if self.fast:
            eta = np.asarray(shape["eta"], float)[lc][:, None]
            return amp * pv_unit(x, center[:, None], fwhm[lc][:, None], eta)
        from .lineshapes import LINESHAPES
        out = np.empty((lc.size, self.x.size))
        for j, ci in enumerate(lc):
            c = self.components[ci]
            kw = {n: float(np.asarray(shape[n])[ci]) for n in c.shape_names}
            out[j] = LINESHAPES[c.lineshape].func(self.x, float(amp[j, 0]), float(center[j]),
                                                   float(fwhm[ci]), **kw)
        return out

    def peaks(self, *args, **kwargs) -> np.ndarray:
        """Component curves (n_comp, n_points): each doublet's two lines summed."""
        ln = self.lines(*args, **kwargs)
        out = np.zeros((self.n_comp, self.x.size))
        np.add.at(out, self._line_comp, ln)
        return out

    def arrays_from_values(self, values: dict[str, dict[str, float]]):
        """Per-species dicts {position, fwhm, area, <shape>, splitting, ratio} -> arrays."""
        pos, fw, ar, sp, ra = (np.zeros(self.n_comp) for _ in range(5))
        shape: dict[str, np.ndarray] = {}
        for i, c in enumerate(self.components):
            v = values[c.species]
            pos[i], fw[i], ar[i] = v["position"], v["fwhm"], v["area"]
            sp[i] = v.get("splitting", 0.0)
            ra[i] = v.get("ratio", 0.5)
            for n in c.shape_names:
                shape.setdefault(n, np.full(self.n_comp, np.nan))[i] = v[n]
        return pos, fw, ar, shape, sp, ra

    def peaks_from_values(self, values: dict[str, dict[str, float]], shift: float = 0.0):
        """Component curves from a plain dict per species plus a global energy shift."""
        pos, fw, ar, shape, sp, ra = self.arrays_from_values(values)
        return self.peaks(pos, fw, ar, shape, sp, ra, shift=shift)

    # ---------------------------------------------------------- parameters
    def make_params(self) -> lmfit.Parameters:
        """lmfit Parameters with starting values, bounds from windows, links and priors."""
        rec = self.recipe
        params = lmfit.Parameters()
        self.priors_soft: list[tuple[str, str, float, float]] = []
        areas = self._start_areas()
        shape_vary = bool(rec.shape_vary)
        first_shape: dict[str, str] = {}
        for i, (c, spec) in enumerate(zip(self.components, rec.components)):
            lo, hi = sorted(spec.window)
            pos = min(max(float(spec.position), lo), hi)
            params.add(c.names["position"], value=pos, min=lo, max=hi)
            flo, fhi = sorted(spec.fwhm_bounds)
            fw = float(spec.fwhm) if flo <= spec.fwhm <= fhi else 0.5 * (flo + fhi)
            if spec.fwhm_vary:
                if fw <= flo or fw >= fhi:      # start strictly inside: lmfit bounds transform
                    fw = 0.5 * (flo + fhi)
                params.add(c.names["fwhm"], value=fw, min=flo, max=fhi)
            else:
                params.add(c.names["fwhm"], value=float(spec.fwhm), vary=False)
            params.add(c.names["area"], value=areas[i], min=0.0)
            defaults = self._shape_defaults(c.lineshape)
            for n, (dflt, smin, smax) in defaults.items():
                pname = c.names[n]
                if n in spec.shape:
                    params.add(pname, value=float(spec.shape[n]), vary=False)
                    continue
                val = float(rec.shape.get(n, dflt))
                if shape_vary and n in first_shape:
                    params.add(pname, expr=first_shape[n])
                else:
                    params.add(pname, value=val, min=smin, max=smax, vary=shape_vary)
                    first_shape.setdefault(n, pname)
            if c.doublet:
                self._add_soft(params, c.names["splitting"], spec.splitting, spec.splitting_sigma,
                               f"splitting({c.species})", lower=0.0)
                self._add_soft(params, c.names["ratio"], spec.ratio, spec.ratio_sigma,
                               f"ratio({c.species})", lower=0.0)
        if self.bg_type == "shirley_active":
            lo_level, hi_level = self.endpoint_levels()
            total = max(float(np.sum(areas)), 1e-12)
            params.add(bg_name("c0"), value=lo_level)
            params.add(bg_name("k"), value=(hi_level - lo_level) / total)
        self._apply_links(params)
        self._compile_priors(params)
        return params

    def _add_soft(self, params, name, value, sigma, label, lower):
        if sigma is None or not (sigma > 0):
            params.add(name, value=float(value), vary=False)
            return
        params.add(name, value=float(value), min=max(lower, value - 10 * sigma),
                   max=value + 10 * sigma)
        self.priors_soft.append((label, name, float(value), float(sigma)))

    def _start_areas(self) -> np.ndarray:
        """Data above a rough background, split among components by the height at their
        positions (a better start than equal shares when one species dominates)."""
        if self.static_background is not None and self.bg_type != "none":
            base = self.static_background
        else:
            lo_level, hi_level = self.endpoint_levels()
            # Shirley-like step: proportional to the cumulative signal above the low end
            sig = np.maximum(self.y - lo_level, 0.0)
            cum = np.concatenate([[0.0], np.cumsum(0.5 * (sig[1:] + sig[:-1]) * np.diff(self.x))])
            base = lo_level + (hi_level - lo_level) * cum / cum[-1] if cum[-1] > 0 else \
                np.full_like(self.y, lo_level)
            if self.bg_type == "none":
                base = np.zeros_like(self.y)
        above = np.maximum(self.y - base, 0.0)
        total = float(np.trapezoid(above, self.x)) if self.x.size > 1 else 0.0
        total = max(total, float(np.max(above)) * 0.1, 1e-9)
        heights = []
        for spec in self.recipe.components:
            h = float(np.interp(spec.position, self.x, above, left=0.0, right=0.0))
            heights.append(max(h, 0.0) * max(float(spec.fwhm), 1e-3))
        heights = np.array(heights)
        if heights.sum() <= 0:
            heights = np.ones(len(heights))
        share = heights / heights.sum()
        share = np.maximum(share, 0.02)          # never start at the area bound 0
        return total * share / share.sum()

    def _apply_links(self, params: lmfit.Parameters) -> None:
        if not self.recipe.links:
            return
        from .links import parse_link
        for text in self.recipe.links:
            target, expr = parse_link(text, self.species)
            if target not in params:
                raise FitError(f"link {text!r} targets {target!r}, which is not a parameter",
                               path=self.recipe.source or None, key="links")
            p = params[target]
            p.set(expr=expr)
        try:
            params.update_constraints()
        except Exception as exc:
            raise FitError(f"links cannot be evaluated: {exc}", path=self.recipe.source or None,
                           key="links") from None

    def _compile_priors(self, params: lmfit.Parameters) -> None:
        self.priors = []
        for label, name, value, sigma in getattr(self, "priors_soft", []):
            self.priors.append((label, name, value, sigma))
        if self.recipe.priors:
            from .links import parse_expression
            for pr in self.recipe.priors:
                if not (pr.sigma > 0):
                    raise FitError(f"prior {pr.target!r} needs a positive sigma",
                                   path=self.recipe.source or None, key="priors")
                expr = parse_expression(pr.target, self.species)
                self.priors.append((pr.target, expr, float(pr.value), float(pr.sigma)))
        self._prior_code = [compile(e, "<prior>", "eval") for _, e, _, _ in self.priors]
        ns = self._namespace(params)
        for (label, *_), code in zip(self.priors, self._prior_code):
            try:
                float(eval(code, _GLOBALS, ns))
            except Exception as exc:
                raise FitError(f"prior {label!r} cannot be evaluated: {exc}",
                               path=self.recipe.source or None, key="priors") from None

    # ------------------------------------------------------------ hot path
    def prepare(self, params: lmfit.Parameters) -> None:
        """Cache index maps for the residual/Jacobian (call once the Parameters are final)."""
        self._names = list(params)
        self._var_names = [n for n in self._names if params[n].vary and not params[n].expr]
        self._expr_names = [n for n in self._names if params[n].expr]
        self._expr_code = {n: compile(params[n].expr, "<link>", "eval") for n in self._expr_names}
        self._expr_order = _topological(self._expr_code, set(self._expr_names))
        q = {}
        for i, c in enumerate(self.components):
            for quantity, name in c.names.items():
                q[name] = (quantity, i)
        self._qmap = q
        self.n_prior = len(self.priors)
        self._doublet_line = np.array([self.components[i].doublet for i in self._line_comp])
        self._prepare_jacobian()

    def _namespace(self, params) -> dict:
        """Plain dict name -> float (from lmfit Parameters or a dict of floats)."""
        return values_of(params)

    def unpack(self, params) -> tuple:
        """Parameter values -> (position, fwhm, area, shape, splitting, ratio, c0, k)."""
        v = values_of(params)
        n = self.n_comp
        pos, fw, ar = np.empty(n), np.empty(n), np.empty(n)
        sp, ra = np.zeros(n), np.full(n, 0.5)
        shape: dict[str, np.ndarray] = {}
        for i, c in enumerate(self.components):
            nm = c.names
            pos[i] = v[nm["position"]]
            fw[i] = v[nm["fwhm"]]
            ar[i] = v[nm["area"]]
            for s in c.shape_names:
                shape.setdefault(s, np.full(n, np.nan))[i] = v[nm[s]]
            if c.doublet:
                sp[i] = v[nm["splitting"]]
                ra[i] = v[nm["ratio"]]
        if self.bg_type == "shirley_active":
            c0, k = v[bg_name("c0")], v[bg_name("k")]
        else:
            c0 = k = 0.0
        return pos, fw, ar, shape, sp, ra, c0, k

    def model_curves(self, params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(components (n_comp, n), background (n), envelope (n)) at the parameter values."""
        pos, fw, ar, shape, sp, ra, c0, k = self.unpack(params)
        comps = self.peaks(pos, fw, ar, shape, sp, ra)
        total = comps.sum(axis=0)
        bg = self.background(total, c0, k)
        return comps, bg, total + bg

    def prior_values(self, params) -> np.ndarray:
        if not self.priors:
            return np.zeros(0)
        ns = self._namespace(params)
        return np.array([float(eval(code, _GLOBALS, ns)) for code in self._prior_code])

    def residual(self, params) -> np.ndarray:
        """Weighted residual (model − data)/σ, with soft-prior terms (value − target)/σ appended."""
        pos, fw, ar, shape, sp, ra, c0, k = self.unpack(params)
        total = self.lines(pos, fw, ar, shape, sp, ra).sum(axis=0)
        if self.static_background is None:
            model = total + c0 + k * _cumtrapz(self._half_dx, total, self._cum)
        else:
            model = total + self.static_background
        r = model * self.inv_sigma - self._wy
        if self.priors:
            vals = self.prior_values(params)
            pr = np.array([(v - t) / s for v, (_, _, t, s) in zip(vals, self.priors)])
            r = np.concatenate([r, pr])
        return r

    # ------------------------------------------------------------ Jacobian
    @property
    def has_jacobian(self) -> bool:
        return self.fast

    def _prepare_jacobian(self) -> None:
        """Index maps for the vectorised Jacobian (which parameter each line derivative feeds)."""
        names = self._names
        row = {n: i for i, n in enumerate(names)}
        zero = len(names)                               # index of an all-zero chain row
        lc = self._line_comp
        self._jq = ("position", "fwhm", "area", "eta", "splitting", "ratio")
        idx = np.full((len(self._jq), lc.size), zero)
        for qi, q in enumerate(self._jq):
            for j, ci in enumerate(lc):
                name = self.components[ci].names.get(q)
                if name is not None:
                    idx[qi, j] = row[name]
        free = set(self._var_names) | set(self._expr_names)
        needed = [any(names[i] in free for i in idx[qi] if i != zero)
                  for qi in range(len(self._jq))]
        self._jq_needed = np.array(needed)
        self._jidx = idx[self._jq_needed].ravel()
        chain = np.zeros((zero + 1, len(self._var_names)))
        for vi, v in enumerate(self._var_names):
            chain[row[v], vi] = 1.0
        self._chain_static = chain
        self._chain_row = row
        self._bg_rows = (row.get(bg_name("c0"), zero), row.get(bg_name("k"), zero))

    def jacobian(self, params) -> np.ndarray:
        """Analytic Jacobian d residual / d free variables, shape (n_residuals, n_vars).

        Derivatives are analytic with respect to the model quantities (all lines in one
        broadcast expression); links (lmfit expressions) and priors are chained with a small
        finite difference on the expressions only (no model evaluations)."""
        vals = values_of(params)
        pos, fw, ar, shape, sp, ra, c0, k = self.unpack(vals)
        eta = shape["eta"]
        lc = self._line_comp
        minor = self._line_minor
        dbl = self._doublet_line
        r1 = 1.0 + ra[lc]
        w = np.where(minor, ra[lc] / r1, np.where(dbl, 1.0 / r1, 1.0))
        center = pos[lc] + np.where(minor, sp[lc], 0.0)
        p, dc, dfw, de = _pv_with_derivs(self.x[None, :], center[:, None], fw[lc][:, None],
                                         eta[lc][:, None])
        amp = (ar[lc] * w)[:, None]
        sign = np.where(minor, 1.0, np.where(dbl, -1.0, 0.0))
        blocks = []
        need = self._jq_needed
        if need[0]:
            blocks.append(amp * dc)
        if need[1]:
            blocks.append(amp * dfw)
        if need[2]:
            blocks.append(w[:, None] * p)
        if need[3]:
            blocks.append(amp * de)
        if need[4]:
            blocks.append(np.where(minor[:, None], amp * dc, 0.0))
        if need[5]:
            blocks.append((sign * ar[lc] / (r1 * r1))[:, None] * p)
        dlines = np.concatenate(blocks, axis=0)
        chain = self._chain_static
        if self._expr_names:
            chain = chain.copy()
            for n, d in self._expr_derivs(vals).items():
                chain[self._chain_row[n]] = d
        m = chain[self._jidx]                        # (n_line_quantities, n_vars)
        jac = m.T @ dlines                           # (n_vars, npts): d peak-sum / d var
        if self.static_background is None:
            total = (amp * p).sum(axis=0)
            jac = jac + k * _cumtrapz(self._half_dx, jac, np.empty_like(jac))
            i_c0, i_k = self._bg_rows
            jac = jac + np.outer(chain[i_c0], np.ones(self.x.size))
            jac = jac + np.outer(chain[i_k], _cumtrapz(self._half_dx, total, np.empty(total.size)))
        jac = jac * self.inv_sigma
        if self.priors:
            jp = self._prior_chain(vals)             # (n_prior, n_vars)
            return np.hstack([jac, jp.T]).T
        return jac.T

    def _expr_derivs(self, params) -> dict[str, np.ndarray]:
        """d(expression parameter)/d(free variables) by forward differences on the expressions."""
        base = self._namespace(params)
        self._eval_exprs(base)
        ref = {n: base[n] for n in self._expr_names}
        out = {n: np.zeros(len(self._var_names)) for n in self._expr_names}
        for j, v in enumerate(self._var_names):
            ns = dict(base)
            h = 1e-7 * max(1.0, abs(ns[v]))
            ns[v] = ns[v] + h
            self._eval_exprs(ns)
            for n in self._expr_names:
                out[n][j] = (ns[n] - ref[n]) / h
        return out

    def _prior_chain(self, params) -> np.ndarray:
        base = self._namespace(params)
        self._eval_exprs(base)
        ref = np.array([float(eval(c, _GLOBALS, base)) for c in self._prior_code])
        out = np.zeros((self.n_prior, len(self._var_names)))
        for j, v in enumerate(self._var_names):
            ns = dict(base)
            h = 1e-7 * max(1.0, abs(ns[v]))
            ns[v] = ns[v] + h
            self._eval_exprs(ns)
            val = np.array([float(eval(c, _GLOBALS, ns)) for c in self._prior_code])
            out[:, j] = (val - ref) / h
        sig = np.array([s for *_, s in self.priors])
        return out / sig[:, None]


_MATH = {n: getattr(np, n) for n in ("sqrt", "exp", "log", "log10", "sin", "cos", "tan", "abs",
                                      "arctan", "pi")}
_MATH.update(min=min, max=max, abs=abs)
_GLOBALS = {"__builtins__": {}, **_MATH}


def values_of(params) -> dict:
    """Plain dict name -> float from lmfit Parameters (a dict of floats is returned as is)."""
    if isinstance(params, lmfit.Parameters):
        return {n: p.value for n, p in params.items()}
    return params


def _topological(code: dict, expr_names: set) -> list[str]:
    """Order expression parameters so each is evaluated after the ones it references."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(n, stack=()):
        if n in seen:
            return
        if n in stack:
            raise FitError(f"circular link involving {n!r}", key="links")
        for dep in code[n].co_names:
            if dep in expr_names:
                visit(dep, stack + (n,))
        seen.add(n)
        order.append(n)

    for n in code:
        visit(n)
    return order


def build_model(recipe: Recipe, spectrum: xr.DataArray) -> tuple[Model, lmfit.Parameters]:
    """Model and its starting Parameters for one spectrum (see :class:`Model`)."""
    model = Model(recipe, spectrum)
    params = model.make_params()
    model.prepare(params)
    n_free = sum(1 for p in params.values() if p.vary and not p.expr)
    if model.x.size < n_free + 5:
        raise FitError(f"too few points in the fit range: {model.x.size} points for {n_free} free "
                       f"parameters (need at least {n_free + 5})", path=model.source or None,
                       block=model.block, key="range")
    return model, params


__all__ = ["Model", "ComponentInfo", "build_model", "bg_name", "pv_unit",
           "BACKGROUNDS"]
