"""Fast fixed-structure fitting kernel: many spectra on one energy axis, one recipe.

:func:`xpsfit.fit` pays per spectrum for things that are the same for every pixel of a map: building
lmfit Parameters, compiling links, evaluating link expressions with ``eval`` inside every residual
call, scipy's trust-region bookkeeping (an SVD per iteration) and assembling a full
:class:`~xpsfit.result.FitResult`. :class:`MapKernel` does that work ONCE from a template
:class:`xpsfit.model.Model` and then fits a whole batch of spectra together:

* the structure (parameter names, bounds, links, priors, line layout) comes from
  :func:`xpsfit.model.build_model`, so the model is exactly the engine's;
* links and priors are affine in the free variables for all usual recipes
  (``fwhm(S2-) = fwhm(PS4)``, ``position(S0) - position(polysulfide)``): every parameter is then
  ``P = M·θ + c`` and the chain rule is one constant matrix. (Non-affine links or non-pseudo-Voigt
  shapes raise :class:`KernelUnsupported`; :mod:`xpsfit.maps` then falls back to the plain engine);
* residuals and the analytic pseudo-Voigt Jacobian of a batch of B spectra are evaluated as
  ``(B, lines, points)`` arrays, so numpy's per-call overhead is paid once per batch, not per pixel;
* the solver is a batched, bound-constrained Levenberg–Marquardt (Marquardt scaling, variables at
  a bound with the gradient pointing outwards are held, steps projected into the box) — the same
  minimum as scipy's TRF in :func:`xpsfit.fit.solve`, to the tolerances tested in
  ``tests/test_maps.py``;
* starting values: by default the engine's own (recipe positions/widths, per-pixel start areas),
  so the kernel descends into the same basin as :func:`xpsfit.fit` on multimodal problems (S0 vs
  polysulfide); ``warm_start=True`` starts every pixel from the fitted mean spectrum of its batch
  (areas scaled) instead;
* a component whose area ends at its 0 bound is re-seeded once or twice (scan of its window for
  the position/width where adding area lowers χ² most, then refit; kept only if χ² drops): a
  bound-constrained solver cannot move the position of a zero-area line, scipy's interior TRF
  sometimes can. On the tested maps the kernel's objective is never above the engine's.

Uncertainties follow :mod:`xpsfit.fit` exactly: unscaled covariance (JᵀJ)⁻¹ over the free
variables (None when cond > 1e13), times max(1, χ²_ν) for raw counts (χ²_ν for relative weights),
fractions' σ by :func:`xpsfit.stats.fraction_stderr` in batched form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from . import backgrounds
from .errors import FitError
from .model import Model, build_model, values_of
from .recipe import Recipe
from .spectrum import DIM

_G_NORM = 2.0 * math.sqrt(math.log(2.0) / math.pi)
_L_NORM = 2.0 / math.pi
_FOUR_LN2 = 4.0 * math.log(2.0)
_EIGHT_LN2 = 8.0 * math.log(2.0)
_COND_MAX = 1e13          # the engine's limit for a usable covariance (xpsfit.fit)


class KernelUnsupported(Exception):
    """The recipe needs the general engine (non-pseudo-Voigt shape or non-affine links)."""


#: names of the per-pixel outputs, each (B, n_species) unless listed in SCALARS
PER_SPECIES = ("area", "area_stderr", "fraction", "fraction_stderr", "position",
               "position_stderr", "fwhm")
SCALARS = ("success", "redchi", "nfev")


@dataclass
class BatchResult:
    """Plain arrays for B spectra (NaN / success False for pixels that could not be fitted)."""
    species: list[str]
    values: dict[str, np.ndarray]

    def packed(self) -> np.ndarray:
        """All outputs in one (B, n_columns) float array (order: PER_SPECIES then SCALARS)."""
        cols = [self.values[k] for k in PER_SPECIES] + [self.values[k][:, None] for k in SCALARS]
        return np.concatenate([np.asarray(c, dtype=float) for c in cols], axis=1)

    @staticmethod
    def n_columns(n_species: int) -> int:
        return len(PER_SPECIES) * n_species + len(SCALARS)


def unpack_columns(packed: np.ndarray, n_species: int) -> dict[str, np.ndarray]:
    """Inverse of :meth:`BatchResult.packed` along the last axis (any leading shape)."""
    out = {}
    for i, k in enumerate(PER_SPECIES):
        out[k] = packed[..., i * n_species:(i + 1) * n_species]
    base = len(PER_SPECIES) * n_species
    for j, k in enumerate(SCALARS):
        out[k] = packed[..., base + j]
    return out


def template_spectrum(x: np.ndarray, y: np.ndarray, attrs: dict | None = None) -> xr.DataArray:
    """A plain 1-D Spectrum-like DataArray (what :class:`~xpsfit.model.Model` reads)."""
    return xr.DataArray(np.asarray(y, dtype=float), dims=DIM, coords={DIM: np.asarray(x, float)},
                        attrs=dict(attrs or {}))


class MapKernel:
    """Fit many spectra sharing one ascending energy axis ``x`` with one recipe (see module doc).

    ``template`` is any valid spectrum on that axis (usually the mean of a map chunk); it defines
    the starting shapes. :meth:`fit` takes a (B, len(x)) array of counts.
    """

    def __init__(self, recipe: Recipe, x: np.ndarray, template_y: np.ndarray,
                 attrs: dict | None = None, *, warm_start: bool = False):
        x = np.asarray(x, dtype=float)
        if x.ndim != 1 or x.size < 2 or not np.all(np.diff(x) > 0):
            raise FitError("map energy axis must be 1-D and strictly ascending", key=DIM)
        self.recipe = recipe
        self.warm_start = warm_start
        self.attrs = dict(attrs or {})
        self.x_full = x
        model, params = build_model(recipe, template_spectrum(x, template_y, self.attrs))
        if not model.fast:
            raise KernelUnsupported("the fast kernel handles pseudo-Voigt recipes only")
        self.model = model
        self.params = params
        self.species = list(model.species)
        lo, hi = (sorted(float(v) for v in recipe.range) if recipe.range is not None
                  else (x[0], x[-1]))
        self.keep = (x >= lo) & (x <= hi)
        self.x = model.x
        if self.x.size != int(self.keep.sum()) or not np.allclose(self.x, x[self.keep]):
            raise KernelUnsupported("cannot reproduce the model's fit range")
        self.absolute_weights = str(self.attrs.get("counts_unit", "counts")) == "counts"
        self._half_dx = 0.5 * np.diff(self.x)
        self._affine_structure()
        self._line_layout()

    # ------------------------------------------------------------------ structure
    def _affine_structure(self) -> None:
        """P = M·θ + c for all parameters and R·θ + r for the priors; check it really is affine."""
        m = self.model
        self.var_names = m.var_names
        self.names = list(self.params)
        self.lo, self.hi = m.bounds(self.params)
        base = values_of(self.params).copy()
        self._base = base
        theta0 = np.clip(np.array([base[n] for n in self.var_names], float), self.lo, self.hi)
        self.theta_default = theta0
        nv = len(self.var_names)

        def all_values(theta):
            ns = m.values_from_vector(theta, base)
            p = np.array([ns[n] for n in self.names], float)
            pr = np.array([float(eval(code, _globals(), ns)) for code in m._prior_code], float)
            return p, pr

        p0, r0 = all_values(theta0)
        steps = np.maximum(np.abs(theta0), 1.0) * 1e-3
        cols_p, cols_r = [], []
        for j in range(nv):
            t = theta0.copy()
            t[j] += steps[j]
            p, r = all_values(t)
            cols_p.append((p - p0) / steps[j])
            cols_r.append((r - r0) / steps[j])
        # snap to exact coefficients (links are 0, ±1, simple fractions): the structure, hence
        # every pixel's result, must not depend on which template spectrum built the kernel
        self.M = _snap(np.array(cols_p).T.reshape(len(self.names), nv))
        c = p0 - self.M @ theta0
        linked = np.any(self.M != 0, axis=1)          # fixed parameters keep their exact value
        self.c = np.where(linked, _snap(c, scale=1e-3 * np.maximum(np.abs(p0), 1.0)), p0)
        self.R = _snap(np.array(cols_r).T.reshape(len(m.priors), nv))
        self.r0 = _snap(r0 - self.R @ theta0, scale=1e-3 * np.maximum(np.abs(r0), 1.0))
        # affine check at a second, distant point: links like a*b or exp() would fail here
        rng = np.random.default_rng(1)
        t1 = theta0 + steps * 50 * rng.uniform(-1, 1, nv)
        p1, r1 = all_values(t1)
        scale_p = np.maximum(np.abs(p1), 1.0)
        ok = np.all(np.abs(self.M @ t1 + self.c - p1) <= 1e-7 * scale_p)
        if m.priors:
            ok = ok and np.all(np.abs(self.R @ t1 + self.r0 - r1) <= 1e-7 * np.maximum(np.abs(r1), 1))
        if not ok:
            raise KernelUnsupported("links or priors are not affine in the free parameters")
        self.prior_target = np.array([t for _, _, t, _ in m.priors], float)
        self.prior_sigma = np.array([s for *_, s in m.priors], float)

    def _line_layout(self) -> None:
        """Index of each line quantity in P and the chain matrix of every (quantity, line) pair."""
        m = self.model
        idx = {n: i for i, n in enumerate(self.names)}
        lc = m._line_comp
        self.minor = m._line_minor.copy()
        self.doublet_line = np.array([m.components[i].doublet for i in lc])

        def col(q):
            return np.array([idx.get(m.components[ci].names.get(q), -1) for ci in lc])
        self.i_pos, self.i_fwhm, self.i_area = col("position"), col("fwhm"), col("area")
        self.i_eta, self.i_split, self.i_ratio = col("eta"), col("splitting"), col("ratio")
        self.comp_area = np.array([idx[c.names["area"]] for c in m.components])
        self.comp_pos = np.array([idx[c.names["position"]] for c in m.components])
        self.comp_fwhm = np.array([idx[c.names["fwhm"]] for c in m.components])
        self.active = m.static_background is None
        if self.active:
            from .model import bg_name
            self.i_c0, self.i_k = idx[bg_name("c0")], idx[bg_name("k")]
        # (quantity, line) pairs whose parameter depends on θ: the only Jacobian blocks needed
        pairs = []
        for q, cols in (("pos", self.i_pos), ("fwhm", self.i_fwhm), ("area", self.i_area),
                        ("eta", self.i_eta), ("split", self.i_split), ("ratio", self.i_ratio)):
            for line, pi in enumerate(cols):
                if pi < 0 or (q == "split" and not self.minor[line]):
                    continue
                if q == "ratio" and not self.doublet_line[line]:
                    continue
                if np.any(self.M[pi] != 0):
                    pairs.append((q, line, pi))
        # grouped by quantity so each group is one broadcast expression writing one slice
        order = ("pos", "fwhm", "area", "eta", "split", "ratio")
        pairs.sort(key=lambda t: order.index(t[0]))
        self._chain = np.array([self.M[pi] for _, _, pi in pairs]).reshape(len(pairs), -1)
        self._groups = []
        start = 0
        for qn in order:
            lines = np.array([ln for q, ln, _ in pairs if q == qn], dtype=int)
            if lines.size:
                self._groups.append((qn, lines, slice(start, start + lines.size)))
                start += lines.size

    # ------------------------------------------------------------------ data
    def prepare(self, y_full: np.ndarray) -> dict:
        """Crop, validate, weight and (static) background for a (B, n) batch."""
        y = np.asarray(y_full, dtype=float)[:, self.keep]
        valid = np.all(np.isfinite(y), axis=1)
        yv = np.where(valid[:, None], y, 0.0)
        valid &= np.all(yv >= 0, axis=1) & (np.ptp(yv, axis=1) > 0)
        y = np.where(valid[:, None], y, 1.0)
        if self.absolute_weights:
            scale = np.ones(y.shape[0])
        else:
            d2 = np.diff(y, 2, axis=1)
            noise = np.mean(d2 * d2, axis=1) / 6.0
            mean = y.mean(axis=1)
            scale = np.where((noise > 0) & (mean > 0), mean / np.where(noise > 0, noise, 1), 1.0)
        sigma = np.sqrt(np.maximum(y * scale[:, None], 1.0)) / scale[:, None]
        bg = self.static_backgrounds(y, valid)
        return {"y": y, "valid": valid, "inv_sigma": 1.0 / sigma, "bg": bg}

    def static_backgrounds(self, y: np.ndarray, valid: np.ndarray) -> np.ndarray | None:
        """The recipe's static background for every row (same calls/arguments as the engine)."""
        m = self.model
        if self.active:
            return None
        spec = self.recipe.background
        n_end = max(1, min(int(spec.endpoints), self.x.size // 4))
        if m.bg_type == "none":
            return np.zeros_like(y)
        if m.bg_type == "shirley":
            return _shirley_batch(self.x, y, n_end, spec.tol, spec.max_iter)
        out = np.zeros_like(y)
        for b in np.flatnonzero(valid):
            if m.bg_type == "linear":
                out[b] = backgrounds.linear(self.x, y[b], endpoints=n_end)
            else:
                out[b] = backgrounds.tougaard(self.x, y[b], B=spec.tougaard_B, C=spec.tougaard_C,
                                              C_prime=spec.tougaard_C_prime, D=spec.tougaard_D)
        return out

    # ------------------------------------------------------------------ model
    def evaluate(self, theta: np.ndarray, data: dict, rows: np.ndarray, jac: bool = True):
        """Weighted residuals (B, n[+priors]) and Jacobian (B, n[+priors], nv) for pixels ``rows``."""
        p = theta @ self.M.T + self.c                      # (B, n_params)
        ratio = p[:, np.maximum(self.i_ratio, 0)]
        r1 = 1.0 + ratio
        w = np.where(self.minor, ratio / r1, np.where(self.doublet_line, 1.0 / r1, 1.0))
        center = p[:, self.i_pos] + np.where(self.minor, p[:, np.maximum(self.i_split, 0)], 0.0)
        fwhm = p[:, self.i_fwhm]
        eta = p[:, self.i_eta]
        area = p[:, self.i_area]
        amp = area * w                                     # (B, L)
        inv_f = 1.0 / fwhm[..., None]
        u = (self.x - center[..., None]) * inv_f           # (B, L, n)
        u2 = u * u
        q = 1.0 / (1.0 + 4.0 * u2)
        g = (_G_NORM * inv_f) * np.exp(-_FOUR_LN2 * u2)
        lor = (_L_NORM * inv_f) * q
        e = eta[..., None]
        prof = e * lor + (1.0 - e) * g
        total = np.matmul(amp[:, None, :], prof)[:, 0]
        inv_sigma = data["inv_sigma"][rows]
        y = data["y"][rows]
        if self.active:
            cum = backgrounds.cumulative_integral(self.x, total)
            model = total + p[:, [self.i_c0]] + p[:, [self.i_k]] * cum
        else:
            model = total + data["bg"][rows]
        r = (model - y) * inv_sigma
        if self.R.shape[0]:
            pr = (theta @ self.R.T + self.r0 - self.prior_target) / self.prior_sigma
            r = np.concatenate([r, pr], axis=1)
        if not jac:
            return r, None
        # dc = ∂p/∂center, df = ∂p/∂fwhm (df = u·dc − p/F: one product fewer)
        dc = (e * (8.0 * u * q * lor) + (1.0 - e) * (_EIGHT_LN2 * u * g)) * inv_f
        dl = np.empty((theta.shape[0], self._chain.shape[0], self.x.size))
        for qn, lines, sl in self._groups:
            if qn == "pos":
                np.multiply(amp[:, lines, None], dc[:, lines], out=dl[:, sl])
            elif qn == "fwhm":
                dl[:, sl] = amp[:, lines, None] * (u[:, lines] * dc[:, lines]
                                                   - prof[:, lines] * inv_f[:, lines])
            elif qn == "area":
                np.multiply(w[:, lines, None], prof[:, lines], out=dl[:, sl])
            elif qn == "eta":
                dl[:, sl] = amp[:, lines, None] * (lor[:, lines] - g[:, lines])
            elif qn == "split":
                np.multiply(amp[:, lines, None], dc[:, lines], out=dl[:, sl])
            else:  # ratio: ∂w/∂r = −1/(1+r)² (major line) or +1/(1+r)² (minor line)
                sign = np.where(self.minor[lines], 1.0, -1.0)
                dl[:, sl] = (sign * area[:, lines] / r1[:, lines] ** 2)[..., None] * prof[:, lines]
        J = np.matmul(dl.transpose(0, 2, 1), self._chain)  # (B, n, nv)
        if self.active:
            k = p[:, self.i_k]
            J = J + k[:, None, None] * backgrounds.cumulative_integral(
                self.x, J.transpose(0, 2, 1)).transpose(0, 2, 1)
            J = J + self.M[self.i_c0][None, None, :] + cum[..., None] * self.M[self.i_k]
        J = J * inv_sigma[..., None]
        if self.R.shape[0]:
            jp = np.broadcast_to(self.R / self.prior_sigma[:, None], (J.shape[0],) + self.R.shape)
            J = np.concatenate([J, jp], axis=1)
        return r, J

    # ------------------------------------------------------------------ solver
    def solve(self, theta0: np.ndarray, data: dict, rows: np.ndarray, *, max_iter: int = 200,
              ftol: float = 1e-9, xtol: float = 1e-9):
        """Batched bound-constrained Levenberg–Marquardt. Returns (θ, success, nfev, J at θ)."""
        lo, hi = self.lo, self.hi
        theta = np.clip(np.array(theta0, float), lo, hi)
        B, nv = theta.shape
        r, J = self.evaluate(theta, data, rows)
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
            at_lo = (ta <= lo) & (g > 0)
            at_hi = (ta >= hi) & (g < 0)
            free = ~(at_lo | at_hi)
            d = np.diagonal(H, axis1=1, axis2=2)
            dmax = d.max(axis=1, keepdims=True)
            dscale = np.maximum(d, 1e-12 * np.maximum(dmax, 1e-300))
            ff = free[:, :, None] & free[:, None, :]
            A = np.where(ff, H, 0.0) + eye * np.where(free, lam[act, None] * dscale, 1.0)[:, None, :]
            rhs = np.where(free, -g, 0.0)
            try:
                step = np.linalg.solve(A, rhs[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = _solve_each(A, rhs)
            tn = np.clip(ta + step, lo, hi)
            rn, Jn = self.evaluate(tn, data, rows[act])
            nfev[act] += 1
            cn = 0.5 * np.einsum("bi,bi->b", rn, rn)
            ok = np.isfinite(cn) & (cn <= cost[act])
            # convergence only counts for near-Gauss-Newton steps: a heavily damped step is
            # always tiny and would stop the fit far from the minimum
            gn = lam[act] <= 1.0
            moved = np.abs(tn - ta)
            small_x = gn & np.all(moved <= xtol * (np.abs(ta) + xtol), axis=1)
            small_f = gn & ok & ((cost[act] - cn) <= ftol * cost[act])
            acc = act[ok]
            theta[acc], r[acc], J[acc], cost[acc] = tn[ok], rn[ok], Jn[ok], cn[ok]
            lam[acc] = np.maximum(lam[acc] * 0.3, 1e-12)
            rej = act[~ok]
            lam[rej] *= 10.0
            finished = small_f | small_x | (lam[act] > 1e12)
            success[act[finished]] = True
            done[act[finished]] = True
            if it % 10 == 9:
                # stalled in a flat valley (a nearly unidentifiable direction): the cost no
                # longer moves, which is convergence for every quantity we report
                stalled = act[(checkpoint[act] - cost[act]) <= 100 * ftol * cost[act]]
                success[stalled] = True
                done[stalled] = True
                checkpoint[act] = cost[act]
        return theta, success & np.isfinite(cost), nfev, J, r

    # ------------------------------------------------------------------ public
    def start_values(self, data: dict, template_theta: np.ndarray | None = None) -> np.ndarray:
        """Starting vectors for a batch.

        Default (``template_theta=None``): the engine's own start — recipe positions and widths,
        areas from the data above a rough background split by the heights at the recipe
        positions (batched :meth:`xpsfit.model.Model._start_areas`), so the kernel descends into
        the same basin as :func:`xpsfit.fit` on multimodal problems. With ``template_theta``
        (warm start): that vector, areas scaled by each pixel's signal above background."""
        B = data["y"].shape[0]
        if template_theta is None:
            theta = np.repeat(self.theta_default[None, :], B, axis=0)
            areas = self._start_areas(data)                     # (B, n_comp)
            for ci, pi in enumerate(self.comp_area):
                vi = self._var_of_param(pi)
                if vi is not None:
                    theta[:, vi] = areas[:, ci]
            if self.active:
                n = max(1, min(int(self.recipe.background.endpoints), self.x.size // 4))
                lo_l, hi_l = data["y"][:, :n].mean(1), data["y"][:, -n:].mean(1)
                total = np.maximum(areas.sum(1), 1e-12)
                for pi, v in ((self.i_c0, lo_l), (self.i_k, (hi_l - lo_l) / total)):
                    vi = self._var_of_param(pi)
                    if vi is not None:
                        theta[:, vi] = v
            return np.clip(theta, self.lo, self.hi)
        theta = np.repeat(template_theta[None, :], B, axis=0)
        sig = self._signal(data)
        ref = float(np.median(sig[data["valid"]])) if data["valid"].any() else 1.0
        scale = np.where(sig > 0, sig / ref if ref > 0 else 1.0, 1.0)
        for pi in self.comp_area:
            vi = self._var_of_param(pi)
            if vi is not None:
                theta[:, vi] = theta[:, vi] * scale
        return np.clip(theta, self.lo, self.hi)

    def _var_of_param(self, pi: int) -> int | None:
        """Index of the free variable that IS parameter ``pi`` (None when fixed or linked)."""
        name = self.names[pi]
        return self.var_names.index(name) if name in self.var_names else None

    def _start_areas(self, data: dict) -> np.ndarray:
        """Batched copy of the engine's start areas (see :meth:`start_values`)."""
        y, x = data["y"], self.x
        if data["bg"] is not None and self.model.bg_type != "none":
            base = data["bg"]
        elif self.model.bg_type == "none":
            base = np.zeros_like(y)
        else:
            n = max(1, min(int(self.recipe.background.endpoints), x.size // 4))
            lo_l, hi_l = y[:, :n].mean(1, keepdims=True), y[:, -n:].mean(1, keepdims=True)
            sig = np.maximum(y - lo_l, 0.0)
            cum = backgrounds.cumulative_integral(x, sig)
            end = cum[:, -1:]
            base = np.where(end > 0, lo_l + (hi_l - lo_l) * cum / np.where(end > 0, end, 1), lo_l)
        above = np.maximum(y - base, 0.0)
        total = np.trapezoid(above, x, axis=1) if x.size > 1 else np.zeros(y.shape[0])
        total = np.maximum(np.maximum(total, above.max(axis=1) * 0.1), 1e-9)
        heights = np.empty((y.shape[0], len(self.recipe.components)))
        for i, spec in enumerate(self.recipe.components):
            h = _interp_rows(float(spec.position), x, above)
            heights[:, i] = np.maximum(h, 0.0) * max(float(spec.fwhm), 1e-3)
        hs = heights.sum(1, keepdims=True)
        heights = np.where(hs > 0, heights, 1.0)
        share = heights / heights.sum(1, keepdims=True)
        share = np.maximum(share, 0.02)
        return total[:, None] * share / share.sum(1, keepdims=True)

    def _signal(self, data: dict) -> np.ndarray:
        if data["bg"] is not None:
            above = data["y"] - data["bg"]
        else:
            above = data["y"] - data["y"][:, :1]
        return np.maximum(np.trapezoid(np.maximum(above, 0.0), self.x, axis=1), 1e-12)

    def _reseed(self, theta, r, data, rows, min_gain: float = 0.01):
        """Components whose area sits at 0 may hide a better minimum elsewhere in their window:
        at area 0 the position has no gradient, so a bound-constrained solver cannot move it
        (scipy's TRF, which stays strictly inside the bounds, sometimes can). For every such
        component scan its window for the position where adding area lowers χ² most; return
        new starting vectors for the pixels where that gain exceeds ``min_gain`` (in ½χ²)."""
        p = theta @ self.M.T + self.c
        n = self.x.size
        rw = r[:, :n] * data["inv_sigma"][rows]            # (B, n): r·(1/σ)
        isig2 = data["inv_sigma"][rows] ** 2
        new = theta.copy()
        improved = np.zeros(theta.shape[0], bool)
        gains = np.zeros(theta.shape[0])
        for ci, spec in enumerate(self.recipe.components):
            va, vp = self._var_of_param(self.comp_area[ci]), self._var_of_param(self.comp_pos[ci])
            if va is None or vp is None:
                continue
            at0 = theta[:, va] <= self.lo[va]
            if not at0.any():
                continue
            vf = self._var_of_param(self.comp_fwhm[ci])
            pa = p[at0]
            # candidate (position, FWHM) pairs: the window at 0.05 eV × a few widths, since the
            # better minimum often needs a narrower/broader line than the stalled one
            egrid = np.arange(self.lo[vp], self.hi[vp] + 1e-9, 0.05)
            cur = pa[:, self.comp_fwhm[ci]]
            if vf is not None:
                f_opts = np.stack([cur, np.full_like(cur, self.lo[vf]),
                                   np.full_like(cur, 0.5 * (self.lo[vf] + self.hi[vf]))], axis=1)
            else:
                f_opts = cur[:, None]
            nf_ = f_opts.shape[1]
            grid = np.tile(egrid, nf_)                          # (G,)
            fwg = np.repeat(f_opts, egrid.size, axis=1)         # (b, G)
            lines = np.flatnonzero(self.model._line_comp == ci)
            prof = np.zeros((at0.sum(), grid.size, n))
            for ln in lines:
                shift = pa[:, self.i_split[ln]] if self.minor[ln] else 0.0
                ratio = pa[:, self.i_ratio[ln]] if self.doublet_line[ln] else None
                w = (1.0 if ratio is None else
                     (ratio / (1 + ratio) if self.minor[ln] else 1 / (1 + ratio)))
                c = grid[None, :] + np.broadcast_to(shift, (pa.shape[0],))[:, None]
                fw = fwg[..., None]
                et = pa[:, self.i_eta[ln]][:, None, None]
                u = (self.x - c[..., None]) / fw
                prof += np.asarray(w).reshape(-1, 1, 1) * (
                    et * (_L_NORM / fw) / (1 + 4 * u * u) +
                    (1 - et) * (_G_NORM / fw) * np.exp(-_FOUR_LN2 * u * u))
            if self.active:
                k = pa[:, self.i_k][:, None, None]
                prof = prof + k * backgrounds.cumulative_integral(self.x, prof)
            g = np.einsum("ben,bn->be", prof, rw[at0])
            h = np.einsum("ben,bn->be", prof * prof, isig2[at0])
            gain = np.where(g < 0, 0.5 * g * g / np.maximum(h, 1e-300), 0.0)
            best = gain.argmax(axis=1)
            bg = gain[np.arange(best.size), best]
            idx = np.flatnonzero(at0)
            take = (bg > min_gain) & (bg > gains[idx])
            sel = idx[take]
            gains[sel] = bg[take]
            new[sel, vp] = grid[best[take]]
            bb = best[take]
            if vf is not None:
                new[sel, vf] = fwg[take, bb]
            new[sel, va] = -g[take, bb] / h[take, bb]
            improved[sel] = True
        return np.clip(new, self.lo, self.hi), improved

    def fit(self, y_full: np.ndarray) -> BatchResult:
        """Fit a (B, len(x)) batch of spectra; failed pixels get NaN and success False."""
        y_full = np.atleast_2d(np.asarray(y_full, dtype=float))
        data = self.prepare(y_full)
        B = y_full.shape[0]
        nv = len(self.var_names)
        valid = np.flatnonzero(data["valid"])
        theta = np.full((B, nv), np.nan)
        success = np.zeros(B, bool)
        nfev = np.zeros(B, int)
        J = r = None
        if valid.size:
            if self.warm_start:
                # template: the mean of the valid pixels, fitted from the recipe's own start
                mean = data["y"][valid].mean(axis=0)
                mean_data = self.prepare(_embed(self, mean))
                m0 = self.start_values(mean_data)
                t_theta, t_ok, *_ = self.solve(m0, mean_data, np.array([0]))
                theta0 = self.start_values(data, t_theta[0] if t_ok[0] else None)[valid]
            else:
                theta0 = self.start_values(data)[valid]
            th, ok, nf, Jv, rv = self.solve(theta0, data, valid)
            if self.warm_start and not ok.all():   # retry from the engine's start values
                bad = np.flatnonzero(~ok)
                cold = self.start_values(data)[valid[bad]]
                th2, ok2, nf2, J2, r2 = self.solve(cold, data, valid[bad])
                nf[bad] += nf2
                th[bad[ok2]], ok[bad[ok2]] = th2[ok2], True
                Jv[bad[ok2]], rv[bad[ok2]] = J2[ok2], r2[ok2]
            for _ in range(2):                    # escape "area stuck at 0" stationary points
                seeds, which = self._reseed(th, rv, data, valid)
                which &= ok
                if not which.any():
                    break
                sub = np.flatnonzero(which)
                th2, ok2, nf2, J2, r2 = self.solve(seeds[sub], data, valid[sub])
                nf[sub] += nf2
                better = ok2 & (np.einsum("bi,bi->b", r2, r2) <
                                np.einsum("bi,bi->b", rv[sub], rv[sub]))
                sel = sub[better]
                th[sel], Jv[sel], rv[sel] = th2[better], J2[better], r2[better]
            theta[valid], success[valid], nfev[valid] = th, ok, nf
            J, r = Jv, rv
        return self._results(theta, success, nfev, data, valid, J, r)

    def _results(self, theta, success, nfev, data, valid, J, r) -> BatchResult:
        B = theta.shape[0]
        nc = len(self.species)
        vals = {k: np.full((B, nc), np.nan) for k in PER_SPECIES}
        vals["success"] = success.astype(float)
        vals["redchi"] = np.full(B, np.nan)
        vals["nfev"] = nfev.astype(float)
        if valid.size:
            n = self.x.size
            nv = len(self.var_names)
            th = theta[valid]
            p = th @ self.M.T + self.c
            rd = r[:, :n]
            redchi = np.einsum("bi,bi->b", rd, rd) / max(n - nv, 1)
            cov = _covariance(J)                               # (b, nv, nv), NaN when unusable
            factor = np.maximum(1.0, redchi) if self.absolute_weights else redchi
            cov = cov * factor[:, None, None]
            areas = p[:, self.comp_area]
            total = areas.sum(axis=1, keepdims=True)
            ga = self.M[self.comp_area]                        # d area / d θ (affine: constant)
            unusable = np.all(np.isnan(cov), axis=(1, 2))
            cov0 = np.nan_to_num(cov, nan=0.0)             # dropped variables: zero gradient
            cov_a = np.einsum("iv,bvw,jw->bij", ga, cov0, ga)
            cov_a[unusable] = np.nan
            frac = np.where(total > 0, areas / np.where(total > 0, total, 1.0), np.nan)
            D = (np.eye(nc)[None] - frac[:, :, None]) / total[:, :, None]
            cov_f = np.einsum("bik,bkl,bjl->bij", D, cov_a, D)
            gp = self.M[self.comp_pos]
            var_p = np.einsum("iv,bvw,iw->bi", gp, cov0, gp)
            dead = np.isnan(np.einsum("iv,bvv->bi", np.abs(gp), cov))
            var_p = np.where(dead | unusable[:, None], np.nan, var_p)
            vals["area"][valid] = areas
            vals["area_stderr"][valid] = np.sqrt(np.clip(np.diagonal(cov_a, axis1=1, axis2=2), 0, None))
            vals["fraction"][valid] = frac
            vals["fraction_stderr"][valid] = np.sqrt(np.clip(np.diagonal(cov_f, axis1=1, axis2=2),
                                                             0, None))
            vals["position"][valid] = p[:, self.comp_pos]
            vals["position_stderr"][valid] = np.sqrt(np.clip(var_p, 0, None))
            vals["fwhm"][valid] = p[:, self.comp_fwhm]    # pseudo-Voigt: parameter = true FWHM
            vals["redchi"][valid] = redchi
        failed = vals["success"] == 0
        for k in PER_SPECIES:
            vals[k][failed] = np.nan
        vals["redchi"][failed] = np.nan
        return BatchResult(self.species, vals)


def _embed(kernel: MapKernel, y_cropped: np.ndarray) -> np.ndarray:
    """A full-axis row whose cropped part is ``y_cropped`` (outside the range: its edge values)."""
    out = np.interp(kernel.x_full, kernel.x, y_cropped)
    out[kernel.keep] = y_cropped
    return out[None, :]


def _snap(a: np.ndarray, scale: np.ndarray | float = 1.0) -> np.ndarray:
    """Round finite-difference coefficients to the nearest multiple of 2⁻¹⁶ when within 1e-6."""
    q = np.round(a * 65536.0) / 65536.0
    return np.where(np.abs(a - q) <= 1e-6 * scale, q, a)


def _interp_rows(x0: float, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """np.interp(x0, x, row, left=0, right=0) for every row."""
    if x0 < x[0] or x0 > x[-1]:
        return np.zeros(rows.shape[0])
    j = min(int(np.searchsorted(x, x0, side="right")) - 1, x.size - 2)
    t = (x0 - x[j]) / (x[j + 1] - x[j])
    return rows[:, j] * (1 - t) + rows[:, j + 1] * t


def _globals() -> dict:
    from .model import _GLOBALS
    return _GLOBALS


def _solve_each(A: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    out = np.zeros_like(rhs)
    for b in range(A.shape[0]):
        try:
            out[b] = np.linalg.solve(A[b], rhs[b])
        except np.linalg.LinAlgError:
            out[b] = np.linalg.lstsq(A[b], rhs[b], rcond=None)[0]
    return out


def _covariance(J: np.ndarray) -> np.ndarray:
    """Batched version of xpsfit.fit._unscaled_covariance (NaN matrices where it gives None).

    One difference, deliberate: variables whose Jacobian column vanishes (the position/width of
    a component whose area sits exactly at 0 — the engine's interior solver never reaches exactly
    0) are left out of the inversion and get NaN rows, instead of making every σ of the pixel
    NaN; areas, fractions and the other parameters keep their σ."""
    B, _, nv = J.shape
    out = np.full((B, nv, nv), np.nan)
    finite = np.all(np.isfinite(J), axis=(1, 2))
    Jf = np.where(finite[:, None, None], J, 0.0)
    H = np.matmul(Jf.transpose(0, 2, 1), Jf)
    d = np.sqrt(np.diagonal(H, axis1=1, axis2=2))
    live = d > 1e-10 * d.max(axis=1, keepdims=True)
    d_safe = np.where(live, d, 1.0)
    dd = d_safe[:, :, None] * d_safe[:, None, :]
    mask = live[:, :, None] & live[:, None, :]
    hs = np.where(mask, H / dd, np.eye(nv))
    good = finite & live.any(axis=1)
    idx = np.flatnonzero(good)
    if idx.size == 0:
        return out
    cond = np.linalg.cond(hs[idx])
    ok = np.isfinite(cond) & (cond <= _COND_MAX)
    idx = idx[ok]
    if idx.size:
        cov = np.linalg.inv(hs[idx]) / dd[idx]
        cov = np.where(mask[idx], cov, np.nan)
        diag = np.diagonal(cov, axis1=1, axis2=2)
        pos = np.all((diag > 0) | ~live[idx], axis=1)
        out[idx[pos]] = cov[pos]
    return out


def _shirley_batch(x: np.ndarray, y: np.ndarray, endpoints: int, tol: float,
                   max_iter: int) -> np.ndarray:
    """:func:`xpsfit.backgrounds.shirley` for every row of ``y`` at once.

    Rows stop updating at the iteration where they converge, so each row gets exactly the
    single-spectrum result; rows the vectorised loop cannot handle go through the original."""
    B = y.shape[0]
    i_lo = y[:, :endpoints].mean(axis=1, keepdims=True)
    i_hi = y[:, -endpoints:].mean(axis=1, keepdims=True)
    step = i_hi - i_lo
    bg = np.repeat(i_lo, y.shape[1], axis=1)
    limit = tol * np.abs(step[:, 0])
    active = step[:, 0] != 0.0
    special = np.zeros(B, bool)
    for _ in range(max_iter):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        s = backgrounds.cumulative_integral(x, y[a] - bg[a])
        end = s[:, -1:]
        bad = ~np.isfinite(end[:, 0]) | (end[:, 0] == 0.0)
        new = i_lo[a] + step[a] * (s / np.where(bad[:, None], 1.0, end))
        change = np.max(np.abs(new - bg[a]), axis=1)
        upd = ~bad
        bg[a[upd]] = new[upd]
        conv = upd & (change < limit[a])
        active[a[conv | bad]] = False
        special[a[bad]] = True
    for b in np.flatnonzero(special):
        bg[b] = backgrounds.shirley(x, y[b], endpoints=endpoints, tol=tol, max_iter=max_iter)
    return bg


def fit_spectra(recipe: Recipe, x: np.ndarray, y: np.ndarray, attrs: dict | None = None, *,
                warm_start: bool = False, batch: int = 256) -> BatchResult:
    """Fit every row of ``y`` (B, len(x)) with ``recipe``: the fast kernel when the recipe allows,
    else the plain engine pixel by pixel. Never raises for a bad pixel (it is flagged).

    Rows go through the kernel ``batch`` at a time: large enough to amortise numpy's per-call
    overhead, small enough for the (batch, lines, points) temporaries to stay in cache
    (measured: 256 beats both 100 and 1000)."""
    x = np.asarray(x, dtype=float)
    y = np.atleast_2d(np.asarray(y, dtype=float))
    template = _template(y)
    try:
        if template is None:
            raise KernelUnsupported("no valid pixel")
        kernel = MapKernel(recipe, x, template, attrs, warm_start=warm_start)
    except KernelUnsupported:
        return _fit_plain(recipe, x, y, attrs)
    parts = [kernel.fit(y[i:i + batch]) for i in range(0, y.shape[0], max(1, batch))]
    return BatchResult(kernel.species, {k: np.concatenate([p.values[k] for p in parts])
                                        for k in parts[0].values})


def _template(y: np.ndarray) -> np.ndarray | None:
    ok = np.all(np.isfinite(y), axis=1) & np.all(y >= 0, axis=1) & (np.ptp(y, axis=1) > 0)
    return y[ok].mean(axis=0) if ok.any() else None


def _fit_plain(recipe: Recipe, x, y, attrs) -> BatchResult:
    """Reference path: :func:`xpsfit.fit.fit` for each row (slow, any recipe)."""
    from .fit import fit as plain_fit
    species = [c.species for c in recipe.components]
    B, nc = y.shape[0], len(species)
    vals = {k: np.full((B, nc), np.nan) for k in PER_SPECIES}
    vals.update(success=np.zeros(B), redchi=np.full(B, np.nan), nfev=np.zeros(B))
    for b in range(B):
        try:
            res = plain_fit(template_spectrum(x, y[b], attrs), recipe)
        except FitError:
            continue
        species = [c.species for c in res.components]
        if not res.statistics.success:
            vals["nfev"][b] = res.statistics.nfev
            continue
        for i, c in enumerate(res.components):
            for k in PER_SPECIES:
                vals[k][b, i] = getattr(c, k)
        vals["success"][b] = 1.0
        vals["redchi"][b] = res.statistics.redchi
        vals["nfev"][b] = res.statistics.nfev
    return BatchResult(species, vals)


__all__ = ["MapKernel", "BatchResult", "KernelUnsupported", "fit_spectra", "unpack_columns",
           "PER_SPECIES", "SCALARS", "template_spectrum"]
