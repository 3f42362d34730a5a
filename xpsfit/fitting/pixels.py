"""Many spectra on one energy axis with one recipe (map pixels, long uniform series).

The same engine as :func:`xpsfit.fit` — the structure is compiled once from the recipe, the data of
B pixels are prepared together and every iteration evaluates all of them in one batched call —
with the batched Levenberg–Marquardt of :mod:`xpsfit.engine.solvers`. Every line shape, background,
link and prior works here as in a single fit.

Start values are the engine's own (recipe positions and widths, per-pixel start areas), so pixels
descend into the same basin as :func:`xpsfit.fit` on multimodal problems (S0 vs polysulfide). A
component whose area ends at its 0 bound is re-seeded once or twice (its window scanned for the
position/width where adding area lowers χ² most, then refitted; kept only if χ² drops): a
bound-constrained solver cannot move the position of a zero-area line.

A pixel that cannot be fitted keeps a reason code (``status``): 0 fitted, 1 invalid data (NaN,
negative or constant counts), 2 not converged (its best parameters are still reported), 3 no
covariance (values reported, σ NaN).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import FitError
from ..numerics.lineshapes import LINESHAPES
from ..recipe.spec import Recipe
from ..spectrum import DIM
from ..engine import uncertainty
from ..engine.data import Data, prepare_rows
from ..engine.evaluate import tables
from ..engine.solvers import solve_lm
from ..engine.threads import single_threaded
from ..engine.structure import QUANTITIES, Structure, compile_problem
from ..numerics import backgrounds

#: per-pixel outputs, each (B, n_species) unless listed in SCALARS — the names of FitResult's
#: components and of FitResult.to_dataset()
PER_SPECIES = ("area", "area_stderr", "fraction", "fraction_stderr", "position",
               "position_stderr", "fwhm")
SCALARS = ("success", "redchi", "nfev", "status", "verdict")
#: status codes of a pixel
STATUS = {0: "fitted", 1: "invalid data", 2: "not converged", 3: "no covariance"}
#: verdict codes of a pixel (:func:`xpsfit.engine.verdict.judge`, the rules of every fit)
VERDICT_CODES = {-1: "not fitted", 0: "ok", 1: "doubtful", 2: "bad"}

_AREA, _POS, _FWHM = (QUANTITIES.index(q) for q in ("area", "position", "fwhm"))


@dataclass
class BatchResult:
    """Plain arrays for B spectra."""
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
    """A plain 1-D Spectrum DataArray on ``x`` (e.g. one pixel, for :func:`xpsfit.fit`)."""
    return xr.DataArray(np.asarray(y, dtype=float), dims=DIM, coords={DIM: np.asarray(x, float)},
                        attrs=dict(attrs or {}))


def fit_range(recipe: Recipe, x: np.ndarray) -> np.ndarray:
    """Mask of the recipe's range on an ascending axis (the whole axis without a range);
    the same rule as :func:`xpsfit.recipe.spec.check_range`."""
    from ..recipe.spec import check_range
    lo, hi = check_range(recipe, template_spectrum(x, np.zeros_like(x)))
    return (x >= lo - 1e-9) & (x <= hi + 1e-9)


@single_threaded
def fit_spectra(recipe: Recipe, x: np.ndarray, y: np.ndarray, attrs: dict | None = None, *,
                batch: int = 256) -> BatchResult:
    """Fit every row of ``y`` (B, len(x)) with ``recipe``; never raises for a bad pixel.

    Rows go through the engine ``batch`` at a time: large enough to amortise numpy's per-call
    overhead, small enough for the (batch, lines, points) temporaries to stay in cache."""
    x = np.asarray(x, dtype=float)
    y = np.atleast_2d(np.asarray(y, dtype=float))
    if x.ndim != 1 or x.size < 2 or not np.all(np.diff(x) > 0):
        raise FitError("map energy axis must be 1-D and strictly ascending", key=DIM)
    st = compile_problem(recipe)
    keep = fit_range(recipe, x)
    absolute = str((attrs or {}).get("counts_unit", "counts")) == "counts"
    parts = [_fit_block(st, x[keep], y[i:i + batch, keep], absolute)
             for i in range(0, y.shape[0], max(1, batch))]
    return BatchResult(st.species, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]})


def _fit_block(st: Structure, x: np.ndarray, y: np.ndarray, absolute: bool) -> dict:
    data = prepare_rows(st, x, y, absolute=absolute)
    B = y.shape[0]
    valid = np.flatnonzero(data.segments[0].valid)
    theta = np.full((B, st.n_vars), np.nan)
    success = np.zeros(B, bool)
    nfev = np.zeros(B, int)
    J = r = None
    if valid.size:
        th, ok, nf, Jv, rv = solve_lm(st, data, data.theta0[valid], valid)
        for _ in range(2):                # escape "area stuck at 0" stationary points
            seeds, which = _reseed(st, data, th, rv, valid)
            which &= ok
            if not which.any():
                break
            sub = np.flatnonzero(which)
            th2, ok2, nf2, J2, r2 = solve_lm(st, data, seeds[sub], valid[sub])
            nf[sub] += nf2
            better = ok2 & (np.einsum("bi,bi->b", r2, r2) < np.einsum("bi,bi->b", rv[sub], rv[sub]))
            sel = sub[better]
            th[sel], Jv[sel], rv[sel] = th2[better], J2[better], r2[better]
        theta[valid], success[valid], nfev[valid] = th, ok, nf
        J, r = Jv, rv
    return _outputs(st, data, theta, success, nfev, valid, J, r)


def _outputs(st: Structure, data: Data, theta, success, nfev, valid, J, r) -> dict:
    B = theta.shape[0]
    nc = len(st.components)
    vals = {k: np.full((B, nc), np.nan) for k in PER_SPECIES}
    vals["success"] = success.astype(float)
    vals["redchi"] = np.full(B, np.nan)
    vals["nfev"] = nfev.astype(float)
    status = np.ones(B)
    if valid.size:
        n = data.n_points
        th = theta[valid]
        P = st.values(th)
        redchi = np.einsum("bi,bi->b", r[:, :n], r[:, :n]) / max(n - st.n_vars, 1)
        cov = uncertainty.covariance(J) * uncertainty.scale_factor(
            redchi, data.segments[0].absolute)[:, None, None]
        q = st.qidx[0]
        G = st.gradients(th, P)
        g_area = G[..., q[:, _AREA], :]
        g_pos = G[..., q[:, _POS], :]
        if g_area.ndim == 2:
            g_area = np.broadcast_to(g_area, (th.shape[0],) + g_area.shape)
            g_pos = np.broadcast_to(g_pos, (th.shape[0],) + g_pos.shape)
        cov_a = uncertainty.propagate(g_area, cov)
        areas = P[:, q[:, _AREA]]
        frac, frac_err = uncertainty.fractions(areas, cov_a)
        vals["area"][valid] = areas
        vals["area_stderr"][valid] = np.sqrt(np.clip(np.diagonal(cov_a, axis1=1, axis2=2), 0, None))
        vals["fraction"][valid] = frac
        vals["fraction_stderr"][valid] = frac_err
        vals["position"][valid] = P[:, q[:, _POS]]
        vals["position_stderr"][valid] = uncertainty.stderr(g_pos, cov)
        fw = P[:, q[:, _FWHM]]
        for ci, comp in enumerate(st.components):
            if comp.lineshape not in ("pseudo_voigt", "gl_sum"):   # parameter != true FWHM
                from ..numerics.lineshapes import true_fwhm
                shp = {k: P[:, st.shape_idx[k][0, ci]] for k in comp.shape_names}
                fw[:, ci] = [true_fwhm(comp.lineshape, fw[b, ci], **{k: v[b] for k, v in shp.items()})
                             for b in range(fw.shape[0])]
        vals["fwhm"][valid] = fw
        vals["redchi"][valid] = redchi
        no_cov = ~np.isfinite(vals["fraction_stderr"][valid]).any(axis=1)
        status[valid] = np.where(~success[valid], 2, np.where(no_cov, 3, 0))
    vals["status"] = status
    vals["verdict"] = np.full(B, -1.0)
    if valid.size:
        vals["verdict"][valid] = _verdicts(st, data, P, r[:, :data.n_points], vals, valid,
                                           status[valid])
    return vals


def _verdicts(st: Structure, data: Data, P, r, vals, valid, status) -> np.ndarray:
    """The verdict code of every fitted pixel, from the same :func:`judge` as a single fit; the
    pixel's notices are the ones its arrays carry (not converged, no covariance, positions and
    widths at their bounds)."""
    from types import SimpleNamespace
    from ..engine.rules import at_bound
    from ..engine.verdict import VERDICTS, judge
    from ..recipe.naming import param_name
    from ..results import Notice
    seg = data.segments[0]
    static = seg.background is not None
    rows = valid
    q = st.qidx[0]
    out = np.empty(len(valid))
    for k, b in enumerate(rows):
        flags = []
        if status[k] == 2:
            flags.append(Notice("fit did not converge", "not_converged"))
        elif status[k] == 3:
            flags.append(Notice("no covariance", "covariance_singular"))
        comps, warnings = [], []
        for ci, c in enumerate(st.components):
            names = {qq: param_name(c.species, qq) for qq in ("position", "fwhm", "area")}
            for qq, qi in (("position", _POS), ("fwhm", _FWHM)):
                p = st.params[int(q[ci, qi])]
                if p.kind == "free" and at_bound(float(P[k, q[ci, qi]]), p.min, p.max):
                    warnings.append(Notice(f"{names[qq]} is at a bound", "at_bound", c.species,
                                           names[qq]))
            comps.append(SimpleNamespace(
                species=c.species, parameters=names, area=vals["area"][b, ci],
                area_stderr=vals["area_stderr"][b, ci], fraction=vals["fraction"][b, ci],
                fraction_stderr=vals["fraction_stderr"][b, ci]))
        verdict, _ = judge(r[k], nvarys=st.n_vars, absolute=bool(seg.absolute),
                           warnings=warnings, flags=flags, components=comps, data=seg.y[b],
                           background=seg.background[b] if static else None,
                           sigma=seg.sigma[b])
        out[k] = VERDICTS.index(verdict)
    return out


def _reseed(st: Structure, data: Data, theta, r, rows, min_gain: float = 0.01):
    """For every component whose area sits at 0, scan its window (position × a few widths) for
    the line that lowers χ² most when added; new starts where that gain exceeds ``min_gain``."""
    P = st.values(theta)
    seg = data.segments[0]
    x, n = seg.x, seg.n
    inv = seg.inv_sigma[rows]
    rw = r[:, :n] * inv
    isig2 = inv ** 2
    new = theta.copy()
    improved = np.zeros(theta.shape[0], bool)
    gains = np.zeros(theta.shape[0])
    col = {st.index[nm]: k for k, nm in enumerate(st.var_names)}
    t = tables(st, 0)
    q = st.qidx[0]
    for ci, comp in enumerate(st.components):
        va, vp, vf = (col.get(int(q[ci, k])) for k in (_AREA, _POS, _FWHM))
        if va is None or vp is None:
            continue
        at0 = theta[:, va] <= st.lo[va]
        if not at0.any():
            continue
        pa = P[at0]
        egrid = np.arange(st.lo[vp], st.hi[vp] + 1e-9, 0.05)
        cur = pa[:, q[ci, _FWHM]]
        f_opts = (np.stack([cur, np.full_like(cur, st.lo[vf]),
                            np.full_like(cur, 0.5 * (st.lo[vf] + st.hi[vf]))], axis=1)
                  if vf is not None else cur[:, None])
        grid = np.tile(egrid, f_opts.shape[1])                  # (G,)
        fwg = np.repeat(f_opts, egrid.size, axis=1)              # (b, G)
        shape = LINESHAPES[comp.lineshape]
        prof = np.zeros((pa.shape[0], grid.size, n))
        for ln in np.flatnonzero(st.line_comp == ci):
            split = pa[:, t.split[ln]] if t.minor[ln] else 0.0
            if t.doublet[ln]:
                ratio = pa[:, t.ratio[ln]]
                w = ratio / (1 + ratio) if t.minor[ln] else 1 / (1 + ratio)
            else:
                w = np.ones(pa.shape[0])
            center = grid[None, :] + np.broadcast_to(split, (pa.shape[0],))[:, None]
            vals = {k: np.repeat(pa[:, st.shape_idx[k][0, ci]][:, None], grid.size, axis=1)
                    for k in comp.shape_names}
            prof += w[:, None, None] * shape.profile(x, center, fwg, vals)
        if seg.background is None:
            prof = prof + pa[:, t.k][:, None, None] * backgrounds.cumulative_integral(x, prof)
        g = np.einsum("ben,bn->be", prof, rw[at0])
        h = np.einsum("ben,bn->be", prof * prof, isig2[at0])
        gain = np.where(g < 0, 0.5 * g * g / np.maximum(h, 1e-300), 0.0)
        best = gain.argmax(axis=1)
        bgain = gain[np.arange(best.size), best]
        idx = np.flatnonzero(at0)
        take = (bgain > min_gain) & (bgain > gains[idx])
        sel = idx[take]
        gains[sel] = bgain[take]
        bb = best[take]
        new[sel, vp] = grid[bb]
        if vf is not None:
            new[sel, vf] = fwg[take, bb]
        new[sel, va] = -g[take, bb] / h[take, bb]
        improved[sel] = True
    return np.clip(new, st.lo, st.hi), improved


__all__ = ["fit_spectra", "BatchResult", "unpack_columns", "template_spectrum", "PER_SPECIES",
           "SCALARS", "STATUS", "VERDICT_CODES", "fit_range"]
