"""Background-systematic uncertainty σ_bg of every area and fraction (docs/reliability.md).

σ_stat (the covariance) treats the background as known. It is not: the recipe fixes choices
that the data do not, and each admissible choice gives other areas. The variants are the
background's stated freedom, applied to every spectrum of the problem at once:

* end-point width: each of 1–7 points and the recipe's ``endpoints`` ± 2 (static backgrounds;
  the active Shirley fits its end levels);
* region limits: the start and the end each moved by ∓``sigma_bg_range`` eV
  (``[background]``, default 0.4 eV, at least one step), with the recipe's end-point width;
* static ↔ active Shirley, when the background is one of the two — a different background
  model on the same points, so the data can judge it: when its χ² is worse than the fit's by
  more than ``SWAP_CHI2`` (rules) times max(1, χ²ᵣ), the data reject it and it is not used.

Each variant is solved by its linear response from the base solution: one bounded Gauss–Newton
step (:func:`~xpsfit.engine.solvers.gauss_newton_step`, the box kept exactly), then
Levenberg–Marquardt steps with a fresh Jacobian while it still moves by more than
:data:`REFINE` (at most :data:`MAX_STEPS`); all end-point and limit variants of a problem are
rows of one batch. The
rows share one axis, the union of every variant's range, and a row's weights are 0 outside its
own range, so a row fits exactly its own points; its static background is computed on its own
range (:func:`~xpsfit.engine.data.make_segment`). An active Shirley's integral then starts at the
union's first point, which only moves the fitted level c0 (mapped for the start).
``tests/test_background_variants.py`` checks the warm start against full independent refits.

σ_bg of a quantity is the largest change any used variant makes: max_v |q_v − q_0|. The
variants are a handful of admissible alternatives, not random draws, and the reported value is
the recipe's own choice, not their centre: a standard deviation would understate the spread
and a half range would be centred elsewhere; the maximum change is the smallest σ for which
f ± σ_bg holds every admissible background. σ_total = √(σ_stat² + σ_bg²).

A variant that cannot be built (a limit beyond the data, too few points, a width capped to the
recipe's own at a quarter of the region) or that fails (a static Shirley with no solution that
falls back to a line, a non-finite model) is left out of σ_bg and named in a
``background_variants`` notice. Map pixels do not pay for this (σ_total = σ_stat there).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import FitError
from ..numerics.backgrounds import cumulative_integral
from ..results import FitResult, Notice, combined_sigma
from ..spectrum import DIM
from .assemble import Solved
from .data import Data, Segment, make_segment, prepare_spectra
from .evaluate import evaluate, segment_model
from .rules import MIN_EXTRA_POINTS, SWAP_CHI2, endpoint_count
from .solvers import gauss_newton_step
from .structure import Structure, compile_problem

#: a variant whose last step moved an area (relative to the total) or a fraction by more than
#: this gets another Levenberg–Marquardt step with a fresh Jacobian, at most MAX_STEPS in all
#: (measured against full refits: docs/reliability.md)
REFINE = 0.002
MAX_STEPS = 6
#: end-point widths every static background is tried with, besides the recipe's ± 2
WIDTHS = tuple(range(1, 8))
#: static ↔ active Shirley
_SHIRLEY_SWAP = {"shirley": "shirley_active", "shirley_active": "shirley"}


@dataclass
class Variant:
    """One background choice and what it gives (n_spectra, n_comp), or why it was not used."""
    label: str
    areas: np.ndarray | None = None
    fractions: np.ndarray | None = None
    problem: str = ""             # empty when used in σ_bg


@dataclass
class Spread:
    """σ_bg of a solved problem: per spectrum × component, with the variants behind it."""
    areas: np.ndarray             # (n_spectra, n_comp) of the base solution
    fractions: np.ndarray
    variants: list[Variant] = field(default_factory=list)

    def _sigma(self, what: str) -> np.ndarray:
        base = getattr(self, what)
        used = [getattr(v, what) for v in self.variants if not v.problem]
        if not used:
            return np.full(base.shape, np.nan)
        return np.nanmax(np.abs(np.array(used) - base[None]), axis=0)

    @property
    def area_sigma(self) -> np.ndarray:
        return self._sigma("areas")

    @property
    def fraction_sigma(self) -> np.ndarray:
        return self._sigma("fractions")

    def notice(self) -> Notice | None:
        """The variants left out of σ_bg, by name and reason (None when every one was used)."""
        left = [v for v in self.variants if v.problem]
        if not left:
            return None
        used = len(self.variants) - len(left)
        text = "; ".join(f"{v.label} ({v.problem})" for v in left)
        return Notice(f"σ_bg from {used} of {len(self.variants)} background variants; not used: "
                      f"{text}", "background_variants", parameter="background")


def wanted(recipe, sigma_bg: bool | None) -> bool:
    """The API's ``sigma_bg`` argument when given, else the recipe's ``[background] sigma_bg``."""
    return bool(recipe.background.sigma_bg if sigma_bg is None else sigma_bg)


def apply(spread: Spread, results: list[FitResult]) -> None:
    """Put σ_bg and σ_total into the components of each spectrum's result (and the notice)."""
    a_sig, f_sig = spread.area_sigma, spread.fraction_sigma
    note = spread.notice()
    for j, result in enumerate(results):
        for i, c in enumerate(result.components):
            c.area_stderr_bg = float(a_sig[j, i])
            c.fraction_stderr_bg = float(f_sig[j, i])
            c.area_stderr_total = combined_sigma(c.area_stderr, c.area_stderr_bg)
            c.fraction_stderr_total = combined_sigma(c.fraction_stderr, c.fraction_stderr_bg)
        if note is not None:
            result.warnings.append(note)


# ------------------------------------------------------------------ the variants
def spread(s: Solved) -> Spread:
    """σ_bg of a solved single fit or joint series (module docstring)."""
    st, data = s.st, s.data
    base_a, base_f = _quantities(st, s.theta[None])
    out = Spread(base_a[0], base_f[0])
    plans = _plans(st)
    rows, segments = _batch(st, data, plans, out)
    if rows:
        start = _union_start(st, data, segments, s.theta)
        J = _model_jacobian(st, segments, start)
        w = np.concatenate([seg.inv_sigma for seg in segments], axis=1)
        n = w.shape[1]
        J = np.concatenate([w[:, :, None] * J[None, :n], np.repeat(J[None, n:], len(rows), 0)],
                           axis=1)
        theta, finite = _respond(st, Data(segments, None), np.repeat(start[None], len(rows), 0), J)
        areas, fractions = _quantities(st, theta)
        for k, v in enumerate(rows):
            if finite[k]:
                v.areas, v.fractions = areas[k], fractions[k]
            elif not v.problem:
                v.problem = "the model is not finite"
    if st.bg_type in _SHIRLEY_SWAP:
        out.variants.append(_swapped(s))
    return out


def _respond(st: Structure, data: Data, theta0: np.ndarray, jacobian: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """θ (B, nθ) of each variant row: the linear response — one bounded Gauss–Newton step from
    θ0 with the Jacobian given — then, while a row still moves (areas or fractions by more than
    :data:`REFINE`), Levenberg–Marquardt steps: the Jacobian evaluated anew after a step that
    lowers χ², the same one with ten times the damping after a step that raises it (not
    taken); at most :data:`MAX_STEPS` steps. Also (B,): the row's model is finite."""
    rows = np.arange(theta0.shape[0])
    with np.errstate(all="ignore"):
        r = evaluate(st, theta0, data, rows, jacobian=False)[0]
    finite = np.all(np.isfinite(r), axis=1)
    cost = np.where(finite, np.einsum("bi,bi->b", r, r), np.inf)
    theta = np.array(theta0, dtype=float)
    J = np.array(jacobian, dtype=float)
    lam = np.zeros(theta.shape[0])
    live = rows[finite]
    fresh = np.zeros(theta.shape[0], bool)
    for _ in range(MAX_STEPS):
        if live.size == 0:
            break
        stale = live[fresh[live]]
        if stale.size:
            with np.errstate(all="ignore"):
                r[stale], J[stale] = evaluate(st, theta[stale], data, stale)
            fresh[stale] = False
        new = gauss_newton_step(st, theta[live], r[live], J[live], lam[live])
        with np.errstate(all="ignore"):
            r_new = evaluate(st, new, data, live, jacobian=False)[0]
        c_new = np.einsum("bi,bi->b", r_new, r_new)
        better = np.isfinite(c_new) & (c_new <= cost[live] * (1 + 1e-12))
        a0, f0 = _quantities(st, theta[live])
        a1, f1 = _quantities(st, new)
        scale = np.maximum(a0.sum(axis=-1, keepdims=True), 1e-300)
        with warnings.catch_warnings():   # a variant with no finite quantity: moved = NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            moved = np.nanmax(np.maximum(np.abs(f1 - f0), np.abs(a1 - a0) / scale),
                              axis=(1, 2))
        ok, bad = live[better], live[~better]
        theta[ok], cost[ok], r[ok] = new[better], c_new[better], r_new[better]
        fresh[ok] = True
        lam[ok] *= 0.1
        lam[bad] = np.maximum(10 * lam[bad], 1e-3)
        live = np.concatenate([ok[moved[better] > REFINE], bad[lam[bad] < 1e4]])
    return theta, finite & np.all(np.isfinite(theta), axis=1)


def _quantities(st: Structure, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(areas, fractions) (B, n_spectra, n_comp) at θ (B, nθ)."""
    P = st.values(theta)
    areas = P[:, st.qidx[:, :, 2]]
    total = areas.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = np.where(total > 0, areas / total, np.nan)
    return areas, fractions


def _plans(st: Structure) -> list[tuple[str, int, int, int | None]]:
    """(label, start move, end move (in units of the limit step: −1, 0, +1), width or None)."""
    bg = st.recipe.background
    plans = []
    if st.bg_type not in ("shirley_active", "none"):
        n0 = int(bg.endpoints)
        widths = sorted({*WIDTHS, max(1, n0 - 2), n0 + 2} - {n0})
        plans += [(f"endpoints {w}", 0, 0, w) for w in widths]
    d = f"{bg.sigma_bg_range:g} eV"
    plans += [(f"start −{d}", -1, 0, None), (f"start +{d}", 1, 0, None),
              (f"end −{d}", 0, -1, None), (f"end +{d}", 0, 1, None)]
    return plans


def _ascending(spectrum) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(spectrum[DIM].values, dtype=float)
    y = np.asarray(spectrum.values, dtype=float)
    if x.size > 1 and x[0] > x[-1]:
        x, y = x[::-1], y[::-1]
    return x, y


def _batch(st: Structure, data: Data, plans, out: Spread) -> tuple[list[Variant], list[Segment]]:
    """The usable variants as rows of one batch (one union segment per spectrum); the others go
    to ``out.variants`` with their reason."""
    n_free = st.n_vars
    per_spectrum = []          # per spectrum: (x_all, y_all, i0, i1, move, u0, u1)
    for seg, spectrum in zip(data.segments, data.spectra):
        x_all, y_all = _ascending(spectrum)
        idx = np.flatnonzero(seg.keep)
        i0, i1 = int(idx[0]), int(idx[-1])
        step = float(np.median(np.diff(x_all))) if x_all.size > 1 else 1.0
        move = max(1, int(round(st.recipe.background.sigma_bg_range / step)))
        per_spectrum.append((x_all, y_all, i0, i1, move))
    rows: list[Variant] = []
    ranges: list[list[tuple[int, int, int | None]]] = []
    for label, ds, de, width in plans:
        v = Variant(label)
        spans = []
        for x_all, _, i0, i1, move in per_spectrum:
            a, b = i0 + ds * move, i1 + de * move
            n = b - a + 1
            if a < 0 or b >= x_all.size:
                v.problem = "beyond the data"
            elif n < n_free + MIN_EXTRA_POINTS:
                v.problem = "too few points"
            elif width is not None and endpoint_count(width, n) == endpoint_count(
                    st.recipe.background.endpoints, n):
                v.problem = "capped at a quarter of the region: the recipe's width"
            spans.append((a, b, width))
        out.variants.append(v)
        if not v.problem:
            rows.append(v)
            ranges.append(spans)
    if not rows:
        return rows, []
    segments = []
    for j, (x_all, y_all, _, _, _) in enumerate(per_spectrum):
        spans = [r[j] for r in ranges]
        u0, u1 = min(a for a, _, _ in spans), max(b for _, b, _ in spans)
        segments.append(_union_segment(st, data.segments[j], x_all, y_all, u0, u1, spans, rows))
    return rows, segments


def _union_segment(st, seg: Segment, x_all, y_all, u0, u1, spans, rows) -> Segment:
    """One segment on x_all[u0..u1] with one row per variant: the row's weights and static
    background on its own span, weight 0 elsewhere."""
    V, x = len(spans), x_all[u0:u1 + 1]
    y = np.repeat(y_all[None, u0:u1 + 1], V, axis=0)
    sigma = np.ones_like(y)
    inv = np.zeros_like(y)
    active = seg.background is None
    bg = None if active else np.zeros_like(y)
    scale = np.ones(V)
    converged = np.ones(V, bool)
    groups: dict[tuple[int, int], list[int]] = {}
    for k, (a, b, _) in enumerate(spans):
        groups.setdefault((a, b), []).append(k)
    for (a, b), ks in groups.items():
        widths = [spans[k][2] if spans[k][2] is not None else st.recipe.background.endpoints
                  for k in ks]
        part = make_segment(st, x_all[a:b + 1], np.repeat(y_all[None, a:b + 1], len(ks), 0),
                            absolute=seg.absolute, endpoints=widths)
        cols = slice(a - u0, b - u0 + 1)
        for m, k in enumerate(ks):
            if not part.valid[m]:
                rows[k].problem = "no finite background"
                continue
            if not part.bg_converged[m]:
                rows[k].problem = "no Shirley between these end levels (a line was used)"
            sigma[k, cols], inv[k, cols] = part.sigma[m], part.inv_sigma[m]
            scale[k], converged[k] = part.count_scale[m], part.bg_converged[m]
            if bg is not None:
                bg[k, cols] = part.background[m]
    return Segment(x=x, y=y, sigma=sigma, inv_sigma=inv, background=bg, count_scale=scale,
                   absolute=seg.absolute, valid=np.ones(V, bool), bg_converged=converged)


def _model_jacobian(st: Structure, segments: list[Segment], theta: np.ndarray) -> np.ndarray:
    """The unweighted model derivative (N + n_prior, nθ) at θ on the segments' points."""
    unit = [replace(seg, y=seg.y[:1], sigma=np.ones((1, seg.n)), inv_sigma=np.ones((1, seg.n)),
                    background=None if seg.background is None else seg.background[:1])
            for seg in segments]
    return evaluate(st, np.asarray(theta, dtype=float)[None], Data(unit, theta[None]))[1][0]


def _union_start(st: Structure, data: Data, segments: list[Segment], theta: np.ndarray
                 ) -> np.ndarray:
    """θ of the base solution on the union axes: an active Shirley's c0 moved so that the same
    background curve results although its integral now starts at the union's first point."""
    theta = np.array(theta, dtype=float)
    if st.bg_type != "shirley_active":
        return theta
    P = st.values(theta[None])
    union = Data(segments, theta[None])
    col = {st.index[n]: k for k, n in enumerate(st.var_names)}
    for j, (seg, useg) in enumerate(zip(data.segments, segments)):
        i_c0, i_k = (int(i) for i in st.bg_idx[j])
        if i_c0 not in col:
            continue
        _, _, peaks = segment_model(st, j, P, union)
        cum = cumulative_integral(useg.x, peaks[0])
        start = int(np.searchsorted(useg.x, seg.x[0] - 1e-9))
        theta[col[i_c0]] -= P[0, i_k] * cum[start]
    return np.clip(theta, st.lo, st.hi)


def _swapped(s: Solved) -> Variant:
    """The same problem with the static and active Shirley exchanged, warm-started."""
    st, data = s.st, s.data
    kind = _SHIRLEY_SWAP[st.bg_type]
    v = Variant(f"background {kind}")
    recipe = replace(st.recipe, background=replace(st.recipe.background, type=kind))
    try:
        alt = compile_problem(recipe, st.n_spectra, series=st.series)
        alt_data = prepare_spectra(alt, list(data.spectra))
    except FitError as exc:
        v.problem = f"cannot be built: {exc.message}"
        return v
    if not all(seg.bg_converged[0] for seg in alt_data.segments):
        v.problem = "no Shirley between these end levels (a line was used)"
        return v
    theta0 = carry_over(alt, alt_data.theta0[0], st, data, s.theta)
    theta, finite = _respond(alt, alt_data, theta0[None], evaluate(alt, theta0[None], alt_data)[1])
    if not finite[0]:
        v.problem = "the model is not finite"
        return v
    r = evaluate(alt, theta, alt_data, jacobian=False)[0][0]
    worse = (float(r @ r) - (s.chisqr + s.prior_chisqr)) / max(1.0, s.redchi)
    if worse > SWAP_CHI2:
        v.problem = f"the data reject it: χ² worse by {worse:.3g} χ²ᵣ"
        return v
    areas, fractions = _quantities(alt, theta)
    v.areas, v.fractions = areas[0], fractions[0]
    return v


def carry_over(to: Structure, theta_to: np.ndarray, frm: Structure, data: Data,
               theta: np.ndarray) -> np.ndarray:
    """Start values of problem ``to`` from the solution ``theta`` of problem ``frm`` on
    ``data``: every variable of the same name, and — from a static background to an active
    Shirley — c0 = B(x₀) and k = (B(x_N) − B(x₀)) / ∫peaks of the static background, which
    puts the active fit in the basin of the static one."""
    out = np.array(theta_to, dtype=float)
    col = {n: k for k, n in enumerate(to.var_names)}
    for k, n in enumerate(frm.var_names):
        if n in col:
            out[col[n]] = theta[k]
    if to.bg_type == "shirley_active" and frm.bg_type != "shirley_active":
        P = frm.values(np.asarray(theta, dtype=float)[None, :])
        for j, seg in enumerate(data.segments):
            _, bg, peaks = segment_model(frm, j, P, data)
            step = float(cumulative_integral(seg.x, peaks[0])[-1])
            i_c0, i_k = (to.names[i] if i >= 0 else None for i in to.bg_idx[j])
            if i_c0 in col:
                out[col[i_c0]] = float(bg[0, 0])
            if i_k in col and step > 0:
                out[col[i_k]] = float((bg[0, -1] - bg[0, 0]) / step)
    return np.clip(out, to.lo, to.hi)


__all__ = ["Variant", "Spread", "spread", "apply", "wanted", "carry_over", "REFINE", "MAX_STEPS", "WIDTHS"]
