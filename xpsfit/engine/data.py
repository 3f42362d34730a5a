"""Data preparation, batched over spectra: crop, checks, Poisson weights, static background, starts.

:func:`prepare_spectra` takes Spectrum DataArrays (one fit or one joint series: B = 1, one segment
per spectrum) and raises :class:`~xpsfit.errors.FitError` naming the file and block for data that
cannot be fitted. :func:`prepare_rows` takes B rows on one axis (map pixels) and flags invalid rows
instead (``Segment.valid``), so one bad pixel never stops a map. Both build the same
:class:`Segment` with the same rules, so every front-end fits the same data the same way.

Weights (Poisson): σ = √max(y, 1) for raw counts. For other units the values are first put on an
estimated counts scale s = mean(y)/var_noise(y) (noise variance from second differences),
σ = √max(s·y, 1)/s; such weights are relative (``absolute = False``), so the covariance is scaled by
χ²_ν (:mod:`xpsfit.engine.uncertainty`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..numerics import backgrounds
from ..errors import FitError
from ..recipe.spec import check_range, check_region
from ..spectrum import DIM
from .rules import MIN_EXTRA_POINTS, endpoint_count
from .structure import QUANTITIES, Structure


@dataclass
class Segment:
    """One spectrum's share of the problem, for B problems at once (rows)."""
    x: np.ndarray                 # (n,) ascending binding energy of the fit range
    y: np.ndarray                 # (B, n)
    sigma: np.ndarray             # (B, n)
    inv_sigma: np.ndarray         # (B, n)
    background: np.ndarray | None  # (B, n) static background, None for the active Shirley
    count_scale: np.ndarray       # (B,) counts per unit (1 for raw counts)
    absolute: bool                # weights are absolute (raw counts)
    valid: np.ndarray             # (B,) rows that can be fitted
    bg_converged: np.ndarray      # (B,) the static background's iteration converged
    keep: np.ndarray | None = None  # mask of the fit range on the full axis (ascending)
    clipped: tuple[float, float] | None = None   # the range used when the recipe's was clipped

    @property
    def n(self) -> int:
        return self.x.size


@dataclass
class Data:
    segments: list[Segment]
    theta0: np.ndarray            # (B, nθ) start values
    spectra: list = field(default_factory=list)   # the Spectrum of each segment (B = 1 only)

    @property
    def n_points(self) -> int:
        return sum(s.n for s in self.segments)


# ------------------------------------------------------------------ segments
def _weights(y: np.ndarray, absolute: bool) -> tuple[np.ndarray, np.ndarray]:
    if absolute:
        scale = np.ones(y.shape[0])
    else:
        d2 = np.diff(y, 2, axis=1)
        noise = np.mean(d2 * d2, axis=1) / 6.0 if d2.shape[1] else np.zeros(y.shape[0])
        mean = y.mean(axis=1)
        ok = (noise > 0) & (mean > 0)
        scale = np.where(ok, mean / np.where(ok, noise, 1.0), 1.0)
    sigma = np.sqrt(np.maximum(y * scale[:, None], 1.0)) / scale[:, None]
    return sigma, scale


def _static_background(structure: Structure, x: np.ndarray, y: np.ndarray, valid: np.ndarray,
                       endpoints=None) -> tuple[np.ndarray | None, np.ndarray]:
    spec = structure.recipe.background
    kind = structure.bg_type
    B, n = y.shape
    converged = np.ones(B, bool)
    if kind == "shirley_active":
        return None, converged
    if kind == "none":
        return np.zeros_like(y), converged
    if endpoints is None:
        n_end = np.full(B, endpoint_count(spec.endpoints, n))
    else:
        n_end = np.array([endpoint_count(e, n) for e in np.broadcast_to(endpoints, (B,))])
    if kind == "shirley":
        return backgrounds.shirley_batch(x, y, endpoints=n_end, tol=spec.tol,
                                         max_iter=spec.max_iter)
    out = np.zeros_like(y)
    for b in np.flatnonzero(valid):
        if kind == "linear":
            out[b] = backgrounds.linear(x, y[b], endpoints=int(n_end[b]))
        else:
            out[b] = backgrounds.tougaard(x, y[b], B=spec.tougaard_B, C=spec.tougaard_C,
                                          C_prime=spec.tougaard_C_prime, D=spec.tougaard_D,
                                          endpoints=int(n_end[b]), fit_B=spec.tougaard_fit_B)
    return out, converged


def make_segment(structure: Structure, x: np.ndarray, y: np.ndarray, *, absolute: bool,
                 keep: np.ndarray | None = None, endpoints=None) -> Segment:
    """Weights and static background for rows ``y`` (B, n) on the ascending axis ``x``;
    ``endpoints`` (one count or one per row) overrides the recipe's end-point width."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    valid = np.all(np.isfinite(y), axis=1)
    y = np.where(valid[:, None], y, 1.0)
    valid &= np.all(y >= 0, axis=1) & (np.ptp(y, axis=1) > 0)
    y = np.where(valid[:, None], y, 1.0)
    sigma, scale = _weights(y, absolute)
    bg, converged = _static_background(structure, x, y, valid, endpoints)
    if bg is not None:
        finite = np.all(np.isfinite(bg), axis=1)
        valid &= finite
        bg = np.where(finite[:, None], bg, 0.0)
    return Segment(x=x, y=y, sigma=sigma, inv_sigma=1.0 / sigma, background=bg,
                   count_scale=scale, absolute=absolute, valid=valid, bg_converged=converged,
                   keep=keep)


# ------------------------------------------------------------------ starts
def start_areas(structure: Structure, seg: Segment) -> np.ndarray:
    """Start areas (B, n_comp): the data above a rough background, split among the components
    by the heights at their start positions (better than equal shares when one dominates);
    never exactly 0 (a start on the bound)."""
    y, x = seg.y, seg.x
    rec = structure.recipe
    if seg.background is not None:
        base = seg.background
    else:
        n = endpoint_count(rec.background.endpoints, x.size)
        lo_l, hi_l = y[:, :n].mean(1, keepdims=True), y[:, -n:].mean(1, keepdims=True)
        cum = backgrounds.cumulative_integral(x, np.maximum(y - lo_l, 0.0))
        end = cum[:, -1:]
        base = np.where(end > 0, lo_l + (hi_l - lo_l) * cum / np.where(end > 0, end, 1), lo_l)
    above = np.maximum(y - base, 0.0)
    total = np.trapezoid(above, x, axis=1) if x.size > 1 else np.zeros(y.shape[0])
    total = np.maximum(np.maximum(total, above.max(axis=1) * 0.1), 1e-9)
    heights = np.empty((y.shape[0], len(rec.components)))
    for i, spec in enumerate(rec.components):
        h = _interp_rows(float(spec.position), x, above)
        heights[:, i] = np.maximum(h, 0.0) * max(float(spec.fwhm), 1e-3)
    hs = heights.sum(1, keepdims=True)
    heights = np.where(hs > 0, heights, 1.0)
    share = np.maximum(heights / heights.sum(1, keepdims=True), 0.02)
    return total[:, None] * share / share.sum(1, keepdims=True)


def _interp_rows(x0: float, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if x0 < x[0] or x0 > x[-1]:
        return np.zeros(rows.shape[0])
    j = min(int(np.searchsorted(x, x0, side="right")) - 1, x.size - 2)
    t = (x0 - x[j]) / (x[j + 1] - x[j])
    return rows[:, j] * (1 - t) + rows[:, j + 1] * t


def start_values(structure: Structure, segments: list[Segment]) -> np.ndarray:
    """θ start (B, nθ): the recipe's values, with data-dependent areas and active-Shirley
    c0, k per spectrum."""
    B = segments[0].y.shape[0]
    theta = np.repeat(structure.theta0[None, :], B, axis=0)
    col = {structure.index[n]: k for k, n in enumerate(structure.var_names)}
    a_q = QUANTITIES.index("area")
    rec = structure.recipe
    for j, seg in enumerate(segments):
        areas = start_areas(structure, seg)
        given = [c.area for c in rec.components]
        for ci, pi in enumerate(structure.qidx[j, :, a_q]):
            if pi in col and given[ci] is None:
                theta[:, col[pi]] = areas[:, ci]
        i_c0, i_k = structure.bg_idx[j]
        if i_c0 >= 0:
            n = endpoint_count(rec.background.endpoints, seg.n)
            lo_l, hi_l = seg.y[:, :n].mean(1), seg.y[:, -n:].mean(1)
            total = np.maximum(areas.sum(1), 1e-12)
            if i_c0 in col:
                theta[:, col[i_c0]] = lo_l
            if i_k in col:
                theta[:, col[i_k]] = (hi_l - lo_l) / total
    return np.clip(theta, structure.lo, structure.hi)


# ------------------------------------------------------------------ front-end entries
def _where(spectrum) -> dict:
    a = spectrum.attrs
    return {"path": a.get("source_file") or None, "block": a.get("block_index")}


def crop(recipe, spectrum) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple | None]:
    """(x, y, keep, clipped) of a spectrum in the recipe's range, ascending, with the range checks
    every front-end applies (:func:`xpsfit.recipe.spec.check_region`/`check_range`); ``clipped`` is
    the range used when the recipe's reached beyond the data, else None."""
    spectrum = check_region(recipe, spectrum)
    if DIM not in spectrum.dims:
        raise FitError(f"spectrum has no {DIM!r} axis", **_where(spectrum))
    lo, hi = check_range(recipe, spectrum)
    x = np.asarray(spectrum[DIM].values, dtype=float)
    y = np.asarray(spectrum.values, dtype=float)
    if x.size > 1 and x[0] > x[-1]:
        x, y = x[::-1], y[::-1]
    keep = (x >= lo - 1e-9) & (x <= hi + 1e-9)
    clipped = None
    if recipe.range is not None:
        tol = 0.5 * float(abs(x[1] - x[0])) if x.size > 1 else 0.0
        if lo > recipe.range[0] + tol or hi < recipe.range[1] - tol:
            clipped = (float(x[keep][0]), float(x[keep][-1]))
    return x[keep], y[keep], keep, clipped


def prepare_spectra(structure: Structure, spectra: list) -> Data:
    """One problem (B = 1) from the spectra of a single fit or a joint series."""
    if len(spectra) != structure.n_spectra:
        raise FitError(f"internal: {len(spectra)} spectra for a structure of "
                       f"{structure.n_spectra}")
    segments = []
    for sp in spectra:
        x, y, keep, clipped = crop(structure.recipe, sp)
        where = _where(sp)
        if not np.all(np.isfinite(y)):
            raise FitError("counts contain NaN or infinite values in the fit range", **where)
        if np.any(y < 0):
            raise FitError("negative counts in the fit range (background-subtracted data cannot "
                           "get Poisson weights)", **where)
        if np.ptp(y) == 0:
            raise FitError("counts are constant in the fit range: nothing to fit", **where)
        xlo, xhi = float(x[0]), float(x[-1])
        for spec in structure.recipe.components:
            lo, hi = sorted(spec.window)
            top = hi + (spec.splitting if spec.doublet else 0.0)
            if top < xlo or lo > xhi:
                raise FitError(f"component {spec.species!r} (window {lo:g}–{hi:g} eV) lies "
                               f"entirely outside the data ({xlo:g}–{xhi:g} eV)",
                               key=spec.species, **where)
        absolute = str(sp.attrs.get("counts_unit", "counts")) == "counts"
        seg = make_segment(structure, x, y[None, :], absolute=absolute, keep=keep)
        seg.clipped = clipped
        if not seg.valid[0]:
            raise FitError(f"{structure.bg_type} background is not finite on the fit range",
                           key="background", **where)
        segments.append(seg)
    n_free = structure.n_vars
    n_pts = sum(s.n for s in segments)
    if n_pts < n_free + MIN_EXTRA_POINTS:
        raise FitError(f"too few points in the fit range: {n_pts} points for {n_free} free "
                       f"parameters (need at least {n_free + MIN_EXTRA_POINTS})", key="range",
                       **_where(spectra[0]))
    return Data(segments, start_values(structure, segments), list(spectra))


def prepare_rows(structure: Structure, x: np.ndarray, rows: np.ndarray, *, absolute: bool,
                 keep: np.ndarray | None = None) -> Data:
    """B independent problems (map pixels) on one ascending axis ``x`` (already cropped)."""
    seg = make_segment(structure, x, rows, absolute=absolute, keep=keep)
    return Data([seg], start_values(structure, [seg]))


__all__ = ["Segment", "Data", "make_segment", "start_values", "start_areas", "crop",
           "prepare_spectra", "prepare_rows"]
