"""Area-parametrised XPS line shapes, pure numpy/scipy.

Every shape is called as ``func(x, area, center, fwhm, **shape)`` and returns an ndarray whose
integral over the real line equals ``area`` (for Doniach–Šunjić: over a stated window, see
:func:`doniach_sunjic`). ``x`` is binding energy in eV (ascending in the core, but any order works);
asymmetric shapes put their tail on the HIGH binding-energy side.

``fwhm`` is the width *parameter* of the shape. It equals the measured full width at half maximum
only for pseudo_voigt and gl_sum; :func:`true_fwhm` returns the measured width for every shape, which is
what result tables report.

Widths are guarded like lmfit does (``max(TINY, fwhm)``) and shape parameters are clipped to their
legal range, so no legal (or slightly illegal) parameter set returns NaN. The functions are on the
fitting engine's hot path: everything is vectorised, closed forms are used where they exist (the
GL product area uses erfcx), and the numerically convolved shapes (doniach_sunjic, la) cache their
fine-grid profile per parameter set.

Shapes (keys of :data:`LINESHAPES`): pseudo_voigt, gl_product, gl_sum, voigt, doniach_sunjic, la,
la_casa.

Fitting engine interface: every registered shape also gives its UNIT-AREA profile and the
derivatives with respect to centre, width and each shape parameter for arrays of lines
(:meth:`LineShape.profile` and :meth:`LineShape.derivatives`, arrays of any leading shape, the
energy axis last). pseudo_voigt, gl_sum and gl_product have closed forms; the others use a
central finite difference per line inside the registry (never over the whole model).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import optimize, special

from xpsfit.errors import RecipeError

__all__ = [
    "LineShape", "LINESHAPES", "get_lineshape", "evaluate", "true_fwhm", "doublet",
    "pseudo_voigt", "gl_product", "gl_sum", "voigt", "doniach_sunjic", "la",
    "gl_product_area_factor", "olivero_fwhm", "TINY", "la_casa", "LA_CASA_GAUSS_PER_M",
]

TINY = 1.0e-15                      # smallest width used (lmfit's ``tiny``)
LN2 = math.log(2.0)
GAUSS_AREA = math.sqrt(math.pi / (4.0 * LN2))   # area of a height-1, FWHM-1 Gaussian = 1.0644670
LORENTZ_AREA = math.pi / 2.0                    # area of a height-1, FWHM-1 Lorentzian = 1.5707963
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * LN2))

# Numerically convolved shapes (doniach_sunjic, la): grid step = W / _STEPS_PER_WIDTH and the grid
# spans ±_CORE_WIDTHS·W around the centre, W being the Voigt FWHM of the Gaussian and Lorentzian
# widths. Beyond it the Gaussian smoothing changes the power-law tails by < 1e-6 of the peak
# height, so the unconvolved shape is used there.
_STEPS_PER_WIDTH = 40
_CORE_WIDTHS = 20
DS_WINDOW = (-10.0, 40.0)           # DS normalisation window, in units of W around the centre


def _width(fwhm: float) -> float:
    return max(TINY, float(fwhm))


def _clip(value: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, float(value)))


def _scaled_square(x, center: float, f: float) -> np.ndarray:
    """u² = ((x − center)/f)² as a fresh float array (safe to modify in place)."""
    d = np.array(x, dtype=float)    # a copy, also for scalars (0-d), so in-place ops are safe
    d -= center
    d *= d
    d *= 1.0 / (f * f)              # f ≥ TINY, so this is finite
    return d


# ---------------------------------------------------------------- pseudo-Voigt

def pseudo_voigt(x, area=1.0, center=0.0, fwhm=1.0, eta=0.2):
    """Pseudo-Voigt, lmfit convention: unit-area Gaussian and Lorentzian of the SAME FWHM mixed by
    AREA fraction ``eta`` (0 = Gaussian, 1 = Lorentzian).

    Both components fall to half their height at ±fwhm/2, so the mix does too: the true FWHM is
    ``fwhm`` exactly for every eta. (CasaXPS SGL mixes by height instead: see :func:`gl_sum`.)
    """
    f = _width(fwhm)
    eta = _clip(eta, 0.0, 1.0)
    u2 = _scaled_square(x, center, f)
    # in-place arithmetic: this runs thousands of times per fit
    out = np.exp(u2 * (-4.0 * LN2))
    out *= area * (1.0 - eta) / (GAUSS_AREA * f)
    u2 *= 4.0
    u2 += 1.0
    out += np.divide(area * eta / (LORENTZ_AREA * f), u2, out=u2)
    return out


def _pseudo_voigt_fwhm(fwhm, eta=0.2):
    return _width(fwhm)


# ---------------------------------------------------------------- CasaXPS GL(m) product

def gl_product_area_factor(m: float) -> float:
    """Area / (H·F) of the CasaXPS GL product exp(−4ln2(1−m)u²)/(1+4mu²), u = (x−E)/F.

    Closed form: ∫exp(−a u²)/(1+b u²) du = (π/√b)·erfcx(√(a/b)) with a = 4ln2(1−m), b = 4m
    (erfcx keeps it exact down to m → 0, where it tends to √(π/a)). m = 0.3 gives 1.04199.
    """
    m = _clip(m, 0.0, 1.0)
    a = 4.0 * LN2 * (1.0 - m)
    b = 4.0 * m
    if b == 0.0:
        return GAUSS_AREA
    if a == 0.0:
        return LORENTZ_AREA
    return float(math.pi / math.sqrt(b) * special.erfcx(math.sqrt(a / b)))


def gl_product(x, area=1.0, center=0.0, fwhm=1.0, m=0.3):
    """CasaXPS GL(p) Gaussian–Lorentzian PRODUCT, m = p/100 (GL(30) → m = 0.3; 0 Gaussian, 1 Lorentzian).

    H·exp(−4ln2(1−m)u²)/(1+4mu²) with u = (x − center)/fwhm and H = area/(fwhm·factor(m)), the area
    factor being exact (:func:`gl_product_area_factor`). ``fwhm`` is Casa's width parameter; the
    measured FWHM is smaller for 0 < m < 1 (GL(30): 0.9614·fwhm), see :func:`true_fwhm`.
    """
    f = _width(fwhm)
    m = _clip(m, 0.0, 1.0)
    u2 = _scaled_square(x, center, f)
    out = np.exp(u2 * (-4.0 * LN2 * (1.0 - m)))
    out *= area / (f * gl_product_area_factor(m))
    u2 *= 4.0 * m
    u2 += 1.0
    out /= u2
    return out


@lru_cache(maxsize=1024)
def _gl_product_half_width_ratio(m: float) -> float:
    """Half width at half maximum / F: root t = u² of a·t + ln(1 + b·t) = ln2 (monotone in t)."""
    a = 4.0 * LN2 * (1.0 - m)
    b = 4.0 * m
    upper = min(LN2 / a if a > 0 else math.inf, 1.0 / b if b > 0 else math.inf)
    root = optimize.brentq(lambda t: a * t + math.log1p(b * t) - LN2, 0.0, upper,
                           xtol=1e-15, rtol=1e-15)
    return math.sqrt(root)


def _gl_product_fwhm(fwhm, m=0.3):
    return 2.0 * _width(fwhm) * _gl_product_half_width_ratio(_clip(m, 0.0, 1.0))


# ---------------------------------------------------------------- CasaXPS SGL(m) sum

def gl_sum(x, area=1.0, center=0.0, fwhm=1.0, m=0.3):
    """CasaXPS SGL(p) Gaussian–Lorentzian SUM mixed by HEIGHT, m = p/100.

    H·[(1−m)exp(−4ln2u²) + m/(1+4u²)] with H = area/(fwhm·[(1−m)·1.0644670 + m·1.5707963]).
    The true FWHM equals ``fwhm`` exactly for every m. Note: m is a height fraction, unlike
    pseudo_voigt's area fraction eta (SGL(30) has Lorentzian area fraction 0.387).
    """
    f = _width(fwhm)
    m = _clip(m, 0.0, 1.0)
    height = area / (f * ((1.0 - m) * GAUSS_AREA + m * LORENTZ_AREA))
    u2 = _scaled_square(x, center, f)
    out = np.exp(u2 * (-4.0 * LN2))
    out *= height * (1.0 - m)
    u2 *= 4.0
    u2 += 1.0
    out += np.divide(height * m, u2, out=u2)
    return out


def _gl_sum_fwhm(fwhm, m=0.3):
    return _width(fwhm)


# ---------------------------------------------------------------- Voigt

def olivero_fwhm(gauss_fwhm: float, lorentz_fwhm: float) -> float:
    """Olivero–Longbothum approximation of the Voigt FWHM (accurate to ~2e-4 relative)."""
    fl = max(0.0, float(lorentz_fwhm))
    return 0.5346 * fl + math.sqrt(0.2166 * fl * fl + max(0.0, float(gauss_fwhm)) ** 2)


def voigt(x, area=1.0, center=0.0, fwhm=1.0, lorentz_fwhm=0.1):
    """Voigt profile (Gaussian ⊗ Lorentzian), exactly unit area × ``area`` (scipy.special.voigt_profile).

    ``fwhm`` is the GAUSSIAN FWHM, ``lorentz_fwhm`` the Lorentzian FWHM (2γ). The measured FWHM is
    the Voigt FWHM, see :func:`true_fwhm` (exact root; Olivero–Longbothum in :func:`olivero_fwhm`).
    """
    sigma = _width(fwhm) * FWHM_TO_SIGMA
    gamma = 0.5 * max(0.0, float(lorentz_fwhm))
    return area * special.voigt_profile(np.asarray(x, dtype=float) - center, sigma, gamma)


def _voigt_fwhm(fwhm, lorentz_fwhm=0.1):
    """Measured Voigt FWHM: half-maximum root bracketed around the Olivero value."""
    sigma = _width(fwhm) * FWHM_TO_SIGMA
    gamma = 0.5 * max(0.0, float(lorentz_fwhm))
    if gamma == 0.0:
        return _width(fwhm)
    half = 0.5 * special.voigt_profile(0.0, sigma, gamma)
    guess = 0.5 * olivero_fwhm(_width(fwhm), 2.0 * gamma)
    root = optimize.brentq(lambda d: special.voigt_profile(d, sigma, gamma) - half,
                           0.9 * guess, 1.1 * guess, xtol=1e-14 * guess, rtol=1e-15)
    return 2.0 * root


# ---------------------------------------------------------------- numerically convolved shapes

class _Profile:
    """A unit-area profile in d = x − center: fine-grid values inside, analytic tails outside.

    Between nodes it is a cubic Hermite interpolant with central-difference slopes (error O(h³),
    ~1e-6 of the peak at step W/40, where linear interpolation would be off by ~4e-4).
    """

    def __init__(self, start: float, step: float, values: np.ndarray, tail: Callable):
        self.start = start
        self.step = step
        self.values = values
        self.slopes = np.gradient(values) # per node step, i.e. derivative × step
        self.stop = start + step * (values.size - 1)
        self.tail = tail                  # tail(d) -> normalised unconvolved density (used off-grid)

    def _hermite(self, d: np.ndarray) -> np.ndarray:
        s = (d - self.start) / self.step
        i = np.clip(np.floor(s).astype(np.intp), 0, self.values.size - 2)
        t = s - i
        t2 = t * t
        t3 = t2 * t
        v, m = self.values, self.slopes
        return ((2 * t3 - 3 * t2 + 1) * v[i] + (t3 - 2 * t2 + t) * m[i]
                + (3 * t2 - 2 * t3) * v[i + 1] + (t3 - t2) * m[i + 1])

    def __call__(self, d: np.ndarray) -> np.ndarray:
        inside = (d >= self.start) & (d <= self.stop)
        if inside.all():
            return self._hermite(d)
        out = np.asarray(self.tail(np.where(inside, 0.0, d)), dtype=float)
        if inside.any():
            out[inside] = self._hermite(d[inside])
        return out

    def measured_fwhm(self) -> float:
        """Full width at half maximum of the interpolated profile (what the shape function returns)."""
        v = self.values
        i = int(np.argmax(v))
        f = lambda d: float(self._hermite(np.asarray(d)))
        node = lambda k: self.start + k * self.step
        peak_at = optimize.minimize_scalar(lambda d: -f(d), bounds=(node(i - 1), node(i + 1)),
                                           method="bounded", options={"xatol": 1e-10 * self.step})
        half = -0.5 * peak_at.fun
        below = np.nonzero(v[:i] < half)[0]
        above = np.nonzero(v[i:] < half)[0]
        if below.size == 0 or above.size == 0:   # cannot happen on a ±20·W grid; never NaN-free lie
            return float(self.stop - self.start)
        lo, hi = below[-1], i + above[0]
        g = lambda d: f(d) - half
        x_lo = optimize.brentq(g, node(lo), node(lo + 1), xtol=1e-12 * self.step)
        x_hi = optimize.brentq(g, node(hi - 1), node(hi), xtol=1e-12 * self.step)
        return float(x_hi - x_lo)


def _convolved_profile(mass: Callable, raw: Callable, total: float, gauss_fwhm: float,
                       width: float) -> _Profile:
    """Gaussian-convolve a shape given by its cell masses on a fine grid, normalised to ``total``.

    ``mass(edges)`` returns the exact antiderivative of the unconvolved shape at the cell edges, so
    narrow Lorentzian cores are integrated exactly even when the step does not resolve them; the
    Gaussian kernel is sampled at the nodes and normalised to sum 1 (area preserving).
    """
    step = width / _STEPS_PER_WIDTH
    # Cell averaging blurs like a box of variance step²/12; taking that variance out of the kernel
    # cancels the blur to second order (the profile then matches a Voigt to ~1e-5 of its peak).
    sigma = math.sqrt(max(0.0, (gauss_fwhm * FWHM_TO_SIGMA) ** 2 - step * step / 12.0))
    half_kernel = int(math.ceil(8.0 * sigma / step))   # exp(−32): no visible truncation step
    n_core = _CORE_WIDTHS * _STEPS_PER_WIDTH
    k = np.arange(-n_core - half_kernel, n_core + half_kernel + 1)
    edges = (np.append(k, k[-1] + 1) - 0.5) * step
    cells = np.diff(mass(edges)) / step
    if half_kernel > 0:
        j = np.arange(-half_kernel, half_kernel + 1) * step
        kernel = np.exp(-0.5 * (j / sigma) ** 2)
        cells = np.convolve(cells, kernel / kernel.sum(), mode="valid")
    return _Profile(start=-n_core * step, step=step, values=cells / total,
                    tail=lambda d: raw(d) / total)


def _combined_width(gauss_fwhm: float, lorentz_fwhm: float) -> float:
    return max(TINY, olivero_fwhm(gauss_fwhm, lorentz_fwhm))


def _ds_antiderivative(eps: np.ndarray, alpha: float, gamma: float) -> np.ndarray:
    """∫ DS dε for DS(ε) = Γ(1−α)·Re[e^{iπα/2}(γ − iε)^{α−1}], i.e. Γ(1−α)·Re[e^{iπα/2}·i·((γ−iε)^α − 1)/α].

    The "− 1" keeps it finite as α → 0, where it becomes arctan(ε/γ) (the Lorentzian).
    """
    z = gamma - 1j * np.asarray(eps, dtype=float)
    if alpha < 1e-12:
        core = np.log(z)
    else:
        core = np.expm1(alpha * np.log(z)) / alpha
    return special.gamma(1.0 - alpha) * np.real(np.exp(0.5j * math.pi * alpha) * 1j * core)


def _ds_raw(eps: np.ndarray, alpha: float, gamma: float) -> np.ndarray:
    """Doniach–Šunjić (unconvolved), ε = E₀ − x: Γ(1−α)cos[πα/2 + (1−α)arctan(ε/γ)]/(ε²+γ²)^((1−α)/2)."""
    eps = np.asarray(eps, dtype=float)
    return (special.gamma(1.0 - alpha) * np.cos(0.5 * math.pi * alpha + (1.0 - alpha) * np.arctan2(eps, gamma))
            / (eps * eps + gamma * gamma) ** (0.5 * (1.0 - alpha)))


@lru_cache(maxsize=256)
def _ds_profile(gauss_fwhm: float, alpha: float, lorentz_fwhm: float) -> _Profile:
    gamma = max(TINY, 0.5 * lorentz_fwhm)
    width = _combined_width(gauss_fwhm, lorentz_fwhm)
    lo, hi = DS_WINDOW[0] * width, DS_WINDOW[1] * width          # in d = x − center
    # ε = −d, so the antiderivative in d is minus the one in ε
    total = float(_ds_antiderivative(-lo, alpha, gamma) - _ds_antiderivative(-hi, alpha, gamma))
    return _convolved_profile(mass=lambda d: -_ds_antiderivative(-d, alpha, gamma),
                              raw=lambda d: _ds_raw(-d, alpha, gamma),
                              total=total, gauss_fwhm=gauss_fwhm, width=width)


def doniach_sunjic(x, area=1.0, center=0.0, fwhm=1.0, alpha=0.05, lorentz_fwhm=0.2):
    """Doniach–Šunjić convolved with a Gaussian; tail on the HIGH binding-energy side.

    ``fwhm`` is the Gaussian FWHM, ``lorentz_fwhm`` = 2γ of the DS core, ``alpha`` the asymmetry
    (0 gives a Voigt). DS has an infinite area for alpha > 0, so the normalisation is by window:
    the integral over [center − 10·W, center + 40·W] equals ``area``, where W is the Voigt FWHM of
    (fwhm, lorentz_fwhm) (Olivero–Longbothum). The window mass is computed from the closed-form
    antiderivative; the convolution is numerical on a grid of step W/40 spanning ±20·W (the
    unconvolved DS is used beyond, where the smoothing is negligible). ``center`` is E₀ of the DS
    core; the maximum lies slightly above it for alpha > 0.
    """
    profile = _ds_profile(_width(fwhm), _clip(alpha, 0.0, 0.95), max(0.0, float(lorentz_fwhm)))
    return area * profile(np.asarray(x, dtype=float) - center)


def _ds_fwhm(fwhm, alpha=0.05, lorentz_fwhm=0.2):
    return _ds_profile(_width(fwhm), _clip(alpha, 0.0, 0.95), max(0.0, float(lorentz_fwhm))).measured_fwhm()


def _lorentz_power_antiderivative(t: np.ndarray, power: float) -> np.ndarray:
    """∫₀^t (1+s²)^(−power) ds for t ≥ 0 (power > 1/2): ½·B(½, p−½)·I_{t²/(1+t²)}(½, p−½)."""
    t = np.asarray(t, dtype=float)
    b = power - 0.5
    t2 = t * t
    full = 0.5 * special.beta(0.5, b)
    # for large t use the complementary form, which keeps the tail accurate
    small = t2 <= 1.0
    return np.where(small,
                    full * special.betainc(0.5, b, t2 / (1.0 + t2)),
                    full * (1.0 - special.betainc(b, 0.5, 1.0 / (1.0 + t2))))


def _la_raw(d: np.ndarray, lorentz_fwhm: float, alpha: float, beta: float) -> np.ndarray:
    d = np.asarray(d, dtype=float)
    lorentz = 1.0 / (1.0 + (2.0 * d / lorentz_fwhm) ** 2)
    return np.where(d >= 0.0, lorentz ** alpha, lorentz ** beta)


@lru_cache(maxsize=256)
def _la_profile(lorentz_fwhm: float, alpha: float, beta: float, gauss_fwhm: float) -> _Profile:
    half = 0.5 * lorentz_fwhm          # t = 2d/F = d/half
    total = half * (0.5 * special.beta(0.5, alpha - 0.5) + 0.5 * special.beta(0.5, beta - 0.5))

    def mass(d):
        t = np.abs(d) / half
        return np.where(d >= 0.0, half * _lorentz_power_antiderivative(t, alpha),
                        -half * _lorentz_power_antiderivative(t, beta))

    return _convolved_profile(mass=mass, raw=lambda d: _la_raw(d, lorentz_fwhm, alpha, beta),
                              total=float(total), gauss_fwhm=gauss_fwhm,
                              width=_combined_width(gauss_fwhm, lorentz_fwhm))


LA_POWER_RANGE = (0.55, 50.0)      # powers ≤ 1/2 give an infinite area


def _la_args(fwhm, alpha, beta, gauss_fwhm):
    return (_width(fwhm), _clip(alpha, *LA_POWER_RANGE), _clip(beta, *LA_POWER_RANGE),
            max(0.0, float(gauss_fwhm)))


def la(x, area=1.0, center=0.0, fwhm=1.0, alpha=1.0, beta=1.0, gauss_fwhm=0.5):
    """CasaXPS-like LA(α, β): asymmetric Lorentzian convolved with a Gaussian; tail to HIGH BE for α < β.

    The Lorentzian L = 1/(1 + 4(x−center)²/fwhm²) is raised to ``alpha`` on the high-BE side
    (x > center) and to ``beta`` on the low-BE side, then convolved with a Gaussian of FWHM
    ``gauss_fwhm``. Casa sets that Gaussian through an undocumented integer m; here the width is
    explicit, so areas may differ from Casa's LA(α,β,m). ``fwhm`` is the Lorentzian width parameter.
    The area is exact: the unconvolved area (fwhm/4)·[B(½,α−½) + B(½,β−½)] is analytic and the
    convolution (grid step W/40, ±20·W, W = Voigt FWHM) preserves it. α, β are clipped to
    [0.55, 50] (≤ ½ has no finite area). LA(1, 1) is the Voigt with the same two widths.
    """
    profile = _la_profile(*_la_args(fwhm, alpha, beta, gauss_fwhm))
    return area * profile(np.asarray(x, dtype=float) - center)


def _la_fwhm(fwhm, alpha=1.0, beta=1.0, gauss_fwhm=0.5):
    return _la_profile(*_la_args(fwhm, alpha, beta, gauss_fwhm)).measured_fwhm()


# ---------------------------------------------------------------- CasaXPS LA(α, β, m)

#: Gaussian FWHM per unit of CasaXPS's m, in units of the Lorentzian width: how CasaXPS maps its
#: integer m (0–499) to a Gaussian width is not published (xps_domain.md §4.6, open item 3), so
#: xpsfit uses the documented assumption gauss_fwhm = fwhm · m / 100 (LA(α, β, 100): equal widths).
LA_CASA_GAUSS_PER_M = 0.01


def la_casa(x, area=1.0, center=0.0, fwhm=1.0, alpha=1.0, beta=1.0, m=100.0):
    """CasaXPS notation LA(α, β, m): :func:`la` with a Gaussian of FWHM ``fwhm · m / 100``.

    The mapping of m is an assumption (see :data:`LA_CASA_GAUSS_PER_M`); positions and shapes
    imported from CasaXPS are reproduced only as far as it holds, so areas may differ from
    CasaXPS's. Prefer :func:`la` with an explicit ``gauss_fwhm`` for new work."""
    m = _clip(m, 0.0, 499.0)
    return la(x, area, center, fwhm, alpha, beta, gauss_fwhm=_width(fwhm) * m * LA_CASA_GAUSS_PER_M)


def _la_casa_fwhm(fwhm, alpha=1.0, beta=1.0, m=100.0):
    m = _clip(m, 0.0, 499.0)
    return _la_fwhm(fwhm, alpha, beta, gauss_fwhm=_width(fwhm) * m * LA_CASA_GAUSS_PER_M)


# ---------------------------------------------------------------- unit profiles + derivatives
# Arrays: x (n,), center/fwhm/shape values (..., L); results (..., L, n). Unit area.

def _broadcast_u(x, center, fwhm):
    f = np.maximum(np.asarray(fwhm, dtype=float), TINY)[..., None]
    u = (np.asarray(x, dtype=float) - np.asarray(center, dtype=float)[..., None]) / f
    return u, f


def _pv_profile(x, center, fwhm, eta, *, derivs: bool = False):
    # in-place arithmetic on (..., L, n) arrays: this is the engine's hot path
    inv_f = 1.0 / np.maximum(np.asarray(fwhm, dtype=float), TINY)[..., None]
    u = np.subtract(np.asarray(x, dtype=float), np.asarray(center, dtype=float)[..., None])
    u *= inv_f
    e = np.clip(np.asarray(eta, dtype=float), 0.0, 1.0)[..., None]
    u2 = u * u
    g = np.exp(u2 * (-4.0 * LN2))
    g *= inv_f * (1.0 / GAUSS_AREA)
    u2 *= 4.0
    u2 += 1.0
    q = np.reciprocal(u2, out=u2)
    lor = q * (inv_f * (1.0 / LORENTZ_AREA))
    p = lor * e
    p += g * (1.0 - e)
    if not derivs:
        return p
    # ∂p/∂u = −8u·(η·q·L + (1−η)·ln2·G)
    t = q * lor
    t *= e
    t += g * ((1.0 - e) * LN2)
    t *= u
    t *= -8.0                      # t = ∂p/∂u
    d_center = t * (-inv_f)
    t *= u
    t += p
    t *= -inv_f                    # ∂p/∂F = (−u·∂p/∂u − p)/F
    lor -= g                       # ∂p/∂η = L − G
    return p, d_center, t, {"eta": lor}


def _gl_sum_profile(x, center, fwhm, m, *, derivs: bool = False):
    u, f = _broadcast_u(x, center, fwhm)
    m = np.clip(np.asarray(m, dtype=float), 0.0, 1.0)[..., None]
    u2 = u * u
    gau = np.exp(-4.0 * LN2 * u2)
    q = 1.0 / (1.0 + 4.0 * u2)
    norm = (1.0 - m) * GAUSS_AREA + m * LORENTZ_AREA
    h = 1.0 / (f * norm)
    p = h * ((1.0 - m) * gau + m * q)
    if not derivs:
        return p
    dpdu = h * ((1.0 - m) * (-8.0 * LN2 * u * gau) + m * (-8.0 * u * q * q))
    d_m = h * (q - gau) - p * (LORENTZ_AREA - GAUSS_AREA) / norm
    return p, -dpdu / f, (-dpdu * u - p) / f, {"m": d_m}


_gl_area_factor = np.vectorize(gl_product_area_factor, otypes=[float])


def _gl_product_profile(x, center, fwhm, m, *, derivs: bool = False):
    u, f = _broadcast_u(x, center, fwhm)
    m_arr = np.clip(np.asarray(m, dtype=float), 0.0, 1.0)
    mm = m_arr[..., None]
    k = _gl_area_factor(m_arr)[..., None]
    u2 = u * u
    a = 4.0 * LN2 * (1.0 - mm)
    q = 1.0 / (1.0 + 4.0 * mm * u2)
    core = np.exp(-a * u2) * q
    p = core / (f * k)
    if not derivs:
        return p
    dpdu = p * (-2.0 * a * u - 8.0 * mm * u * q)
    # the area factor's derivative by a central difference of the closed form (a scalar per line)
    h = 1e-6
    lo, hi = np.clip(m_arr - h, 0.0, 1.0), np.clip(m_arr + h, 0.0, 1.0)
    dk = ((_gl_area_factor(hi) - _gl_area_factor(lo)) / np.where(hi > lo, hi - lo, 1.0))[..., None]
    d_m = p * (4.0 * LN2 * u2 - 4.0 * u2 * q) - p * dk / k
    return p, -dpdu / f, (-dpdu * u - p) / f, {"m": d_m}


def _numeric_profile(shape: "LineShape", x, center, fwhm, shape_values: dict, *,
                     derivs: bool = False):
    """Unit profiles of shapes without closed-form derivatives, line by line (each line has its
    own parameter set; the convolved shapes cache their fine-grid profile per set)."""
    x = np.asarray(x, dtype=float)
    center = np.asarray(center, dtype=float)
    fwhm = np.broadcast_to(np.asarray(fwhm, dtype=float), center.shape)
    names = list(shape.shape_params)
    vals = {k: np.broadcast_to(np.asarray(shape_values[k], dtype=float), center.shape)
            for k in names}
    p = np.empty(center.shape + (x.size,))
    if derivs:
        dc, dfw = np.empty_like(p), np.empty_like(p)
        dsh = {k: np.empty_like(p) for k in names}
    for idx in np.ndindex(center.shape):
        c, w = float(center[idx]), float(fwhm[idx])
        kw = {k: float(vals[k][idx]) for k in names}
        p[idx] = shape.func(x, 1.0, c, w, **kw)
        if not derivs:
            continue
        # central differences, steps relative to the line's width (centre, width) or value
        h = 1e-5 * max(w, 1e-6)
        dc[idx] = (shape.func(x, 1.0, c + h, w, **kw) - shape.func(x, 1.0, c - h, w, **kw)) / (2 * h)
        dfw[idx] = (shape.func(x, 1.0, c, w + h, **kw) - shape.func(x, 1.0, c, max(w - h, TINY), **kw)) \
            / (w + h - max(w - h, TINY))
        for k in names:
            _, lo, hi = shape.shape_params[k]
            v = kw[k]
            hk = 1e-5 * max(abs(v), 1e-2)
            up, down = min(v + hk, hi), max(v - hk, lo)
            if up <= down:
                dsh[k][idx] = 0.0
                continue
            dsh[k][idx] = (shape.func(x, 1.0, c, w, **{**kw, k: up})
                           - shape.func(x, 1.0, c, w, **{**kw, k: down})) / (up - down)
    if not derivs:
        return p
    return p, dc, dfw, dsh


# ---------------------------------------------------------------- registry

@dataclass(frozen=True)
class LineShape:
    """One registered line shape: its function, shape parameters (default, min, max), true FWHM,
    and (for the fitting engine) unit profiles of many lines with their derivatives."""
    name: str
    func: Callable            # func(x, area, center, fwhm, **shape) -> ndarray; integral == area
    shape_params: dict[str, tuple[float, float, float]]   # name -> (default, min, max)
    description: str
    true_fwhm: Callable       # true_fwhm(fwhm, **shape) -> float: measured FWHM of the shape
    unit: Callable | None = None   # closed form: unit(x, center, fwhm, *shape, derivs=False)

    @property
    def analytic(self) -> bool:
        return self.unit is not None

    def profile(self, x, center, fwhm, shape: dict) -> np.ndarray:
        """Unit-area profiles (..., L, n) of lines with arrays (..., L) of parameters."""
        if self.unit is not None:
            return self.unit(x, center, fwhm, *(shape[k] for k in self.shape_params))
        return _numeric_profile(self, x, center, fwhm, shape)

    def derivatives(self, x, center, fwhm, shape: dict):
        """(profile, ∂/∂center, ∂/∂fwhm, {shape parameter: ∂/∂it}), each (..., L, n)."""
        if self.unit is not None:
            return self.unit(x, center, fwhm, *(shape[k] for k in self.shape_params), derivs=True)
        return _numeric_profile(self, x, center, fwhm, shape, derivs=True)


LINESHAPES: dict[str, LineShape] = {
    "pseudo_voigt": LineShape(
        "pseudo_voigt", pseudo_voigt, {"eta": (0.2, 0.0, 1.0)},
        "Gaussian + Lorentzian of equal FWHM, mixed by area fraction eta (lmfit); FWHM exact",
        _pseudo_voigt_fwhm, _pv_profile),
    "gl_product": LineShape(
        "gl_product", gl_product, {"m": (0.3, 0.0, 1.0)},
        "CasaXPS GL(p) Gaussian-Lorentzian product, m = p/100; true FWHM < fwhm for 0<m<1",
        _gl_product_fwhm, _gl_product_profile),
    "gl_sum": LineShape(
        "gl_sum", gl_sum, {"m": (0.3, 0.0, 1.0)},
        "CasaXPS SGL(p) Gaussian-Lorentzian sum mixed by height, m = p/100; FWHM exact",
        _gl_sum_fwhm, _gl_sum_profile),
    "voigt": LineShape(
        "voigt", voigt, {"lorentz_fwhm": (0.1, 0.0, 5.0)},
        "Voigt: fwhm is the Gaussian FWHM, lorentz_fwhm the Lorentzian FWHM",
        _voigt_fwhm),
    "doniach_sunjic": LineShape(
        "doniach_sunjic", doniach_sunjic, {"alpha": (0.05, 0.0, 0.5), "lorentz_fwhm": (0.2, 0.0, 5.0)},
        "Doniach-Sunjic (tail to high BE) convolved with a Gaussian of FWHM fwhm; "
        "area counted over center-10W..center+40W",
        _ds_fwhm),
    "la": LineShape(
        "la", la, {"alpha": (1.0, 0.55, 50.0), "beta": (1.0, 0.55, 50.0), "gauss_fwhm": (0.5, 0.0, 5.0)},
        "CasaXPS-like LA(alpha, beta): Lorentzian^alpha (high BE) / ^beta (low BE) of FWHM fwhm, "
        "convolved with a Gaussian of FWHM gauss_fwhm",
        _la_fwhm),
    "la_casa": LineShape(
        "la_casa", la_casa, {"alpha": (1.0, 0.55, 50.0), "beta": (1.0, 0.55, 50.0), "m": (100.0, 0.0, 499.0)},
        "CasaXPS notation LA(alpha, beta, m): la with gauss_fwhm = fwhm*m/100 (assumed mapping of m)",
        _la_casa_fwhm),
}


def get_lineshape(name: str) -> LineShape:
    """The registered shape called ``name``; unknown names raise RecipeError listing the valid ones."""
    try:
        return LINESHAPES[name]
    except (KeyError, TypeError):
        raise RecipeError(f"unknown line shape {name!r}; valid: {', '.join(LINESHAPES)}",
                          key="lineshape") from None


def _shape_kwargs(shape: LineShape, given: dict) -> dict:
    unknown = set(given) - set(shape.shape_params)
    if unknown:
        valid = ", ".join(shape.shape_params) or "none"
        raise RecipeError(f"line shape {shape.name!r} has no parameter {', '.join(sorted(unknown))}; "
                          f"valid: {valid}", key=sorted(unknown)[0])
    return {k: given.get(k, default) for k, (default, _lo, _hi) in shape.shape_params.items()}


def evaluate(name: str, x, area: float, center: float, fwhm: float, **shape) -> np.ndarray:
    """Evaluate the shape ``name``; missing shape parameters take their defaults."""
    ls = get_lineshape(name)
    return ls.func(x, area, center, fwhm, **_shape_kwargs(ls, shape))


def true_fwhm(name: str, fwhm: float, **shape) -> float:
    """Measured FWHM of the shape ``name`` with width parameter ``fwhm``."""
    ls = get_lineshape(name)
    return float(ls.true_fwhm(fwhm, **_shape_kwargs(ls, shape)))


def doublet(name: str, x, area_total: float, center: float, fwhm: float, splitting: float,
            ratio: float, **shape) -> tuple[np.ndarray, np.ndarray]:
    """A spin–orbit doublet as one object: (major, minor) curves of the same shape and fwhm.

    The major line (e.g. 2p3/2) sits at ``center`` with area area_total/(1+ratio); the minor
    (2p1/2) at center + splitting with area ratio·area_total/(1+ratio). ``ratio`` = minor/major.
    """
    ls = get_lineshape(name)
    kwargs = _shape_kwargs(ls, shape)
    major_area = area_total / (1.0 + ratio)
    major = ls.func(x, major_area, center, fwhm, **kwargs)
    minor = ls.func(x, ratio * major_area, center + splitting, fwhm, **kwargs)
    return major, minor
