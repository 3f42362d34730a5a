"""``evaluate(structure, θ[B, n], data) → residuals, Jacobian`` — the one model of xpsfit.

For spectrum (segment) j of the structure the model is

    y_j(x) = background_j(x) + Σ_lines  A_c · w_l · p_shape(x; E_c + s_j + Δ_l, F_c, shape_c)

with one total area A, position E, width F per component (a doublet's minor line at +Δ with
w = r/(1+r), the major one with 1/(1+r)), s_j the spectrum's rigid shift, p the unit-area line
shape of :mod:`xpsfit.lineshapes` and the background either static (from the data) or the active
Shirley c0 + k·∫Σpeaks. Residuals are Poisson weighted, (model − data)/σ, followed by the soft
priors (value − target)/σ_prior.

The Jacobian is built from the line shapes' own derivatives (analytic or a per-line finite
difference inside the registry): ∂model/∂(line quantity) for every (quantity, line) pair, chained
to θ by the structure's ∂P/∂θ (the constant matrix M for affine links) in one matrix product.
"""
from __future__ import annotations

import numpy as np

from .. import backgrounds
from ..lineshapes import LINESHAPES
from .data import Data
from .structure import QUANTITIES, Structure

_POS, _FWHM, _AREA, _SPLIT, _RATIO = (QUANTITIES.index(q) for q in QUANTITIES)


class _Tables:
    """Per-segment index tables of the line model (built once per structure and segment)."""

    def __init__(self, st: Structure, j: int):
        lc, minor = st.line_comp, st.line_minor
        q = st.qidx[j]
        self.pos, self.fwhm, self.area = q[lc, _POS], q[lc, _FWHM], q[lc, _AREA]
        self.split, self.ratio = q[lc, _SPLIT], q[lc, _RATIO]
        self.shift = int(st.shift_idx[j])
        self.minor = minor
        self.doublet = np.array([st.components[c].doublet for c in lc])
        self.c0, self.k = (int(i) for i in st.bg_idx[j])
        # line groups by shape (one call of the shape's vectorised profile per group)
        self.groups = []
        for name in dict.fromkeys(st.components[c].lineshape for c in lc):
            lines = np.flatnonzero([st.components[c].lineshape == name for c in lc])
            shape_idx = {k: st.shape_idx[k][j, lc[lines]] for k in LINESHAPES[name].shape_params}
            self.groups.append((LINESHAPES[name], lines, shape_idx))
        # per kind of line quantity: which parameters (with coefficients) make it, per line
        fixed = {i for i, p in enumerate(st.params) if p.kind == "fixed"}
        kinds: dict[tuple, list] = {("center", None): [], ("fwhm", None): [], ("area", None): [],
                                    ("ratio", None): []}
        names = sorted({n for c in st.components for n in c.shape_names})
        for n in names:
            kinds[("shape", n)] = []
        for ln in range(lc.size):
            comp = st.components[lc[ln]]
            center = [(self.pos[ln], 1.0)]
            if self.shift >= 0:
                center.append((self.shift, 1.0))
            if minor[ln]:
                center.append((self.split[ln], 1.0))
            kinds[("center", None)].append(center)
            kinds[("fwhm", None)].append([(self.fwhm[ln], 1.0)])
            kinds[("area", None)].append([(self.area[ln], 1.0)])
            kinds[("ratio", None)].append([(self.ratio[ln], 1.0)] if self.doublet[ln] else [])
            for n in names:
                kinds[("shape", n)].append([(st.shape_idx[n][j, lc[ln]], 1.0)]
                                           if n in comp.shape_names else [])
        self.kinds = []
        for key, per_line in kinds.items():
            live = [[(i, a) for i, a in terms if i >= 0 and i not in fixed] for terms in per_line]
            if not any(live):
                continue
            width = max(len(t) for t in live)
            idx = np.full((lc.size, width), -1, dtype=np.intp)
            coef = np.zeros((lc.size, width))
            for ln, terms in enumerate(live):
                for k, (i, a) in enumerate(terms):
                    idx[ln, k], coef[ln, k] = i, a
            chain = _chain(G=st.M, idx=idx, coef=coef) if st.affine else None
            self.kinds.append((key, idx, coef, chain))


def _chain(G: np.ndarray, idx: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """d(line quantity)/dθ per line: (L, nθ) from G (nP+1, nθ), or (B, L, nθ) from (B, nP+1, nθ)."""
    return np.einsum("lk,...lkv->...lv", coef, G[..., idx, :])


def tables(st: Structure, j: int) -> _Tables:
    t = st.cache.get(j)
    if t is None:
        t = st.cache[j] = _Tables(st, j)
    return t


def _lines(st: Structure, t: _Tables, P: np.ndarray, x: np.ndarray, derivs: bool):
    """Line profiles (B, L, n) (and derivatives) and the per-line amplitudes."""
    ratio = P[:, t.ratio]
    r1 = 1.0 + ratio
    w = np.where(t.doublet, np.where(t.minor, ratio / r1, 1.0 / r1), 1.0)
    center = P[:, t.pos] + np.where(t.minor, P[:, t.split], 0.0)
    if t.shift >= 0:
        center = center + P[:, [t.shift]]
    fwhm = P[:, t.fwhm]
    area = P[:, t.area]
    B, L = center.shape
    if len(t.groups) == 1 and t.groups[0][1].size == L:
        shape, _, sidx = t.groups[0]
        vals = {k: P[:, i] for k, i in sidx.items()}
        out = shape.derivatives(x, center, fwhm, vals) if derivs else \
            shape.profile(x, center, fwhm, vals)
        if not derivs:
            return out, None, w, area, r1
        p, dc, df, ds = out
        return p, (dc, df, {k: (np.arange(L), v) for k, v in ds.items()}), w, area, r1
    p = np.empty((B, L, x.size))
    dc = np.empty_like(p) if derivs else None
    df = np.empty_like(p) if derivs else None
    ds: dict = {}
    for shape, lines, sidx in t.groups:
        vals = {k: P[:, i] for k, i in sidx.items()}
        if derivs:
            pg, dcg, dfg, dsg = shape.derivatives(x, center[:, lines], fwhm[:, lines], vals)
            dc[:, lines], df[:, lines] = dcg, dfg
            for k, v in dsg.items():
                ds.setdefault(k, []).append((lines, v))
        else:
            pg = shape.profile(x, center[:, lines], fwhm[:, lines], vals)
        p[:, lines] = pg
    if not derivs:
        return p, None, w, area, r1
    merged = {}
    for k, parts in ds.items():
        lines = np.concatenate([ln for ln, _ in parts])
        merged[k] = (lines, np.concatenate([v for _, v in parts], axis=1))
    return p, (dc, df, merged), w, area, r1


def _shape_rows(merged: dict, name: str, lines: np.ndarray) -> np.ndarray:
    """∂p/∂(shape parameter) for ``lines`` (zero for lines whose shape lacks it)."""
    which, values = merged[name]
    if which.size == lines.size and np.array_equal(which, lines):
        return values
    out = np.zeros(values.shape[:1] + (lines.size,) + values.shape[2:])
    pos = {int(ln): i for i, ln in enumerate(which)}
    for k, ln in enumerate(lines):
        if int(ln) in pos:
            out[:, k] = values[:, pos[int(ln)]]
    return out


def segment_model(st: Structure, j: int, P: np.ndarray, data: Data, rows=None):
    """(components (B, n_comp, n), background (B, n), peak sum (B, n)) of segment j."""
    t = tables(st, j)
    seg = data.segments[j]
    p, _, w, area, _ = _lines(st, t, P, seg.x, False)
    lines = (area * w)[..., None] * p
    comps = np.zeros((P.shape[0], len(st.components), seg.n))
    np.add.at(comps, (slice(None), st.line_comp), lines)
    total = comps.sum(axis=1)
    if seg.background is None:
        bg = P[:, [t.c0]] + P[:, [t.k]] * backgrounds.cumulative_integral(seg.x, total)
    else:
        bg = seg.background if rows is None else seg.background[rows]
    return comps, bg, total


def evaluate(st: Structure, theta: np.ndarray, data: Data, rows: np.ndarray | None = None,
             jacobian: bool = True):
    """Weighted residuals (B, N + n_prior) and Jacobian (B, N + n_prior, nθ) (None when
    ``jacobian`` is False) for θ (B, nθ); ``rows`` selects the data rows of a batch."""
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    P = st.values(theta)
    G = st.gradients(theta, P) if jacobian else None
    res, jac = [], []
    for j, seg in enumerate(data.segments):
        t = tables(st, j)
        y = seg.y if rows is None else seg.y[rows]
        inv_sigma = seg.inv_sigma if rows is None else seg.inv_sigma[rows]
        p, d, w, area, r1 = _lines(st, t, P, seg.x, jacobian)
        amp = area * w
        total = np.einsum("bl,bln->bn", amp, p)
        active = seg.background is None
        if active:
            cum = backgrounds.cumulative_integral(seg.x, total)
            c0, k = P[:, t.c0], P[:, t.k]
            model = total + c0[:, None] + k[:, None] * cum
        else:
            model = total + (seg.background if rows is None else seg.background[rows])
        res.append((model - y) * inv_sigma)
        if not jacobian:
            continue
        dc, df, ds = d
        Jt = None
        for (kind, name), idx, coef, chain in t.kinds:
            if chain is None:
                chain = _chain(G, idx, coef)
            if kind == "center":
                scale, deriv = amp, dc
            elif kind == "fwhm":
                scale, deriv = amp, df
            elif kind == "area":
                scale, deriv = w, p
            elif kind == "ratio":   # ∂w/∂r = −1/(1+r)² (major line), +1/(1+r)² (minor line)
                scale, deriv = np.where(t.minor, 1.0, -1.0) * area / r1 ** 2, p
            else:
                scale, deriv = amp, _shape_rows(ds, name, np.arange(p.shape[1]))
            # Σ_lines (∂P_line/∂θ)·scale_line·∂p_line — one batched product, no (B, L, n) temporary
            part = np.matmul(np.swapaxes(chain, -1, -2) * scale[:, None, :], deriv)
            Jt = part if Jt is None else Jt.__iadd__(part)
        if Jt is None:
            Jt = np.zeros((theta.shape[0], st.n_vars, seg.n))
        if active:
            Jt += k[:, None, None] * backgrounds.cumulative_integral(seg.x, Jt)
            g0, gk = G[..., t.c0, :], G[..., t.k, :]
            Jt += np.atleast_2d(g0)[..., :, None] + cum[:, None, :] * np.atleast_2d(gk)[..., :, None]
        Jt *= inv_sigma[:, None, :]
        jac.append(np.swapaxes(Jt, 1, 2))
    if st.priors:
        sig = np.array([p.sigma for p in st.priors])
        tgt = np.array([p.target for p in st.priors])
        res.append((st.prior_values(theta, P) - tgt) / sig)
        if jacobian:
            jp = st.prior_jacobian(theta, P) / sig[:, None]
            jac.append(np.broadcast_to(jp, (theta.shape[0],) + jp.shape[-2:]))
    r = np.concatenate(res, axis=1)
    return r, (np.concatenate(jac, axis=1) if jacobian else None)


__all__ = ["evaluate", "segment_model", "tables"]
