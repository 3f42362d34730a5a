"""Independent forward model for synthetic XPS spectra with known truth (tests only).

Written separately from :mod:`xpsfit.engine` on purpose: plain Gaussian/Lorentzian formulas, a
Shirley step from the cumulative peak integral, Poisson noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import integrate, signal, special

from xpsfit.recipe.library import Library, RegionDef
from xpsfit.recipe.spec import BackgroundSpec, ComponentSpec, Recipe
from xpsfit.spectrum import make_spectrum

#: S 2p truth (2p3/2 position, FWHM, total doublet area in counts·eV)
S2P_TRUTH = {
    "PS4": (161.60, 1.00, 9000.0),
    "S2-": (160.20, 1.05, 2500.0),
    "polysulfide": (163.10, 1.30, 3000.0),
    "S0": (164.00, 1.20, 1500.0),
}
SPLIT, RATIO, ETA = 1.18, 0.5, 0.2


def pseudo_voigt(x, area, center, fwhm, eta):
    """Area-normalised pV: η·Lorentzian + (1−η)·Gaussian of equal FWHM."""
    s = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    gauss = np.exp(-0.5 * ((x - center) / s) ** 2) / (s * math.sqrt(2.0 * math.pi))
    gamma = fwhm / 2.0
    lorentz = gamma / math.pi / ((x - center) ** 2 + gamma ** 2)
    return area * (eta * lorentz + (1.0 - eta) * gauss)


def doublet(x, area, center, fwhm, eta=ETA, split=SPLIT, ratio=RATIO):
    return (pseudo_voigt(x, area / (1 + ratio), center, fwhm, eta)
            + pseudo_voigt(x, area * ratio / (1 + ratio), center + split, fwhm, eta))


def synth_s2p(*, seed: int | None = 0, truth=S2P_TRUTH, base=400.0, step=0.02, lo=156.0, hi=170.0,
              npts=141, scale=1.0):
    """S 2p spectrum: doublets on a Shirley-type background (base + step·∫peaks)."""
    x = np.linspace(lo, hi, npts)
    peaks = sum(doublet(x, a * scale, e, f) for e, f, a in truth.values())
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (peaks[1:] + peaks[:-1]) * np.diff(x))])
    clean = peaks + base * scale + step * cum
    y = clean if seed is None else np.random.default_rng(seed).poisson(clean).astype(float)
    return make_spectrum(x, y, region="S 2p", source_file="synthetic"), clean


def s2p_recipe(background="shirley_active", *, truth=S2P_TRUTH, links=(), priors=(),
               splitting_sigma=None, rng=(156.0, 170.0)) -> Recipe:
    comps = []
    for key, (e, f, _a) in truth.items():
        comps.append(ComponentSpec(species=key, label=key, position=round(e + 0.15, 2),
                                   window=(e - 0.6, e + 0.6), fwhm=1.1, fwhm_bounds=(0.6, 2.0),
                                   doublet=True, splitting=SPLIT, ratio=RATIO,
                                   splitting_sigma=splitting_sigma))
    lib = Library(name="test", regions={"S 2p": RegionDef(name="S 2p", doublet=True,
                                                          splitting=SPLIT, ratio=RATIO)})
    return Recipe(region="S 2p", library_name="test", library=lib, lineshape="pseudo_voigt",
                  shape={"eta": ETA}, range=rng, background=BackgroundSpec(type=background),
                  components=comps, links=list(links), priors=list(priors))


def true_fractions(truth=S2P_TRUTH) -> dict[str, float]:
    total = sum(a for *_, a in truth.values())
    return {k: a / total for k, (_e, _f, a) in truth.items()}


# ---------------------------------------------------------------------------------------------
# other line shapes (issue 14 item 4: data whose shape is not the recipe's default), written from
# their textbook/CasaXPS definitions and normalised by quadrature, not with xpsfit.numerics

_G4 = 4.0 * math.log(2.0)


def _gaussian_h1(d, fwhm):
    return np.exp(-_G4 * (d / fwhm) ** 2)


def _lorentzian_h1(d, fwhm):
    return 1.0 / (1.0 + 4.0 * (d / fwhm) ** 2)


@lru_cache(maxsize=64)
def _quad_area(kind: str, fwhm: float, a: float, b: float = 0.0) -> float:
    """Area of a height-1 GL product (m = a) or LA (α = a high-BE side, β = b) by quadrature."""
    if kind == "gl":
        f = lambda d: math.exp(-_G4 * (1.0 - a) * (d / fwhm) ** 2) / (1.0 + 4.0 * a * (d / fwhm) ** 2)
        g = f
    else:
        f = lambda d: (1.0 + 4.0 * (d / fwhm) ** 2) ** -a
        g = lambda d: (1.0 + 4.0 * (d / fwhm) ** 2) ** -b
    return (integrate.quad(g, -np.inf, 0.0, limit=400)[0]
            + integrate.quad(f, 0.0, np.inf, limit=400)[0])


def gl_product_line(x, area, center, fwhm, m):
    """CasaXPS GL(100·m): exp(−4 ln2 (1−m) u²) / (1 + 4 m u²), u = (x − center)/fwhm."""
    d = np.asarray(x, dtype=float) - center
    u2 = (d / fwhm) ** 2
    h = np.exp(-_G4 * (1.0 - m) * u2) / (1.0 + 4.0 * m * u2)
    if m <= 0.0:
        return area * h / (fwhm * math.sqrt(math.pi / _G4))
    if m >= 1.0:
        return area * h / (fwhm * math.pi / 2.0)
    return area * h / _quad_area("gl", float(fwhm), float(m))


def gl_sum_line(x, area, center, fwhm, m):
    """CasaXPS SGL(100·m): (1 − m)·G + m·L by HEIGHT, both of FWHM ``fwhm``."""
    d = np.asarray(x, dtype=float) - center
    h = (1.0 - m) * _gaussian_h1(d, fwhm) + m * _lorentzian_h1(d, fwhm)
    return area * h / (fwhm * ((1.0 - m) * math.sqrt(math.pi / _G4) + m * math.pi / 2.0))


def voigt_line(x, area, center, gauss_fwhm, lorentz_fwhm):
    sigma = gauss_fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    return area * special.voigt_profile(np.asarray(x, dtype=float) - center, sigma,
                                        0.5 * lorentz_fwhm)


@lru_cache(maxsize=64)
def _la_grid(lorentz_fwhm: float, alpha: float, beta: float, gauss_fwhm: float):
    """LA(α, β) ⊗ Gaussian on a fine grid (step 2 meV, ±40 eV), unit area over the real line."""
    step = 0.002
    d = np.arange(-40.0, 40.0 + step / 2, step)
    raw = np.where(d >= 0, _lorentzian_h1(d, lorentz_fwhm) ** alpha,
                   _lorentzian_h1(d, lorentz_fwhm) ** beta)
    sigma = gauss_fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    k = np.arange(-int(8 * sigma / step), int(8 * sigma / step) + 1) * step
    kernel = np.exp(-0.5 * (k / sigma) ** 2)
    smooth = signal.fftconvolve(raw, kernel / kernel.sum(), mode="same")
    return d, smooth / _quad_area("la", float(lorentz_fwhm), float(alpha), float(beta))


def la_line(x, area, center, lorentz_fwhm, alpha, beta, gauss_fwhm):
    """Lorentzian^α on the high-BE side, ^β on the low-BE side (α < β: tail to high BE),
    convolved with a Gaussian: CasaXPS's LA(α, β) with an explicit Gaussian width."""
    d, y = _la_grid(float(lorentz_fwhm), float(alpha), float(beta), float(gauss_fwhm))
    return area * np.interp(np.asarray(x, dtype=float) - center, d, y, left=0.0, right=0.0)


#: true line shapes of the shape benchmark and tests: name -> (kind, shape parameters); widths of
#: voigt/la are given as fractions of the component's width so every shape has a similar FWHM
TRUE_SHAPES = {
    "pV η=0": ("pv", {"eta": 0.0}),
    "pV η=0.2": ("pv", {"eta": 0.2}),
    "pV η=0.5": ("pv", {"eta": 0.5}),
    "pV η=0.6": ("pv", {"eta": 0.6}),
    "pV η=0.8": ("pv", {"eta": 0.8}),
    "GL(30)": ("gl", {"m": 0.3}),
    "GL(50)": ("gl", {"m": 0.5}),
    "SGL(30)": ("sgl", {"m": 0.3}),
    "Voigt G.8 L.4": ("voigt", {"gauss": 0.8, "lorentz": 0.4}),
    "LA(1.3,2) G.8": ("la", {"alpha": 1.3, "beta": 2.0, "lorentz": 0.5, "gauss": 0.8}),
}


def shaped_line(shape: str, x, area, center, fwhm):
    """One line of area ``area`` in the true shape ``shape`` (a key of :data:`TRUE_SHAPES`)."""
    kind, p = TRUE_SHAPES[shape]
    if kind == "pv":
        return pseudo_voigt(x, area, center, fwhm, p["eta"])
    if kind == "gl":
        return gl_product_line(x, area, center, fwhm, p["m"])
    if kind == "sgl":
        return gl_sum_line(x, area, center, fwhm, p["m"])
    if kind == "voigt":
        return voigt_line(x, area, center, p["gauss"] * fwhm, p["lorentz"] * fwhm)
    return la_line(x, area, center, p["lorentz"] * fwhm, p["alpha"], p["beta"], p["gauss"] * fwhm)


@dataclass(frozen=True)
class RegionTruth:
    """A synthetic region: species -> (2p3/2 or singlet position, width, fraction), the grid,
    the doublet constants (splitting 0: singlets) and the count level at scale 1."""
    region: str
    species: dict
    grid: tuple[float, float, float]          # lo, hi, step (eV)
    splitting: float = 0.0
    ratio: float = 0.5
    total: float = 17000.0                    # counts·eV of all peaks
    base: float = 3000.0                      # counts per channel of the flat background
    shirley_k: float = 0.08                   # eV⁻¹: step = k · ∫ peaks

    def fractions(self) -> dict[str, float]:
        return {k: v[2] for k, v in self.species.items()}


#: the example study's S 2p and P 2p (KB 3.8 V, KB 4.0 V) and a C 1s of an oxidised carbon
REGION_TRUTHS = {
    "S 2p": RegionTruth("S 2p", {"PS4": (161.6, 1.0, 0.62), "S2-": (160.1, 1.0, 0.13),
                                 "polysulfide": (163.1, 1.4, 0.19), "S0": (164.0, 1.3, 0.06)},
                        (157.0, 171.0, 0.1), splitting=1.18),
    "P 2p": RegionTruth("P 2p", {"PS4": (132.0, 1.0, 0.68), "P2Sx": (133.1, 1.4, 0.23),
                                 "POx": (133.9, 1.5, 0.09)},
                        (127.0, 138.0, 0.1), splitting=0.87, total=5000.0, base=900.0),
    "C 1s": RegionTruth("C 1s", {"C-C": (284.8, 1.2, 0.60), "C-O": (286.5, 1.3, 0.22),
                                 "C=O": (288.0, 1.3, 0.10), "O-C=O": (289.0, 1.3, 0.08)},
                        (280.0, 295.0, 0.1), total=20000.0, base=2000.0, shirley_k=0.05),
}


def synth_region(truth: RegionTruth, shape: str, *, seed: int | None = 0, scale: float = 1.0):
    """(spectrum, clean model) of ``truth`` drawn in the true line shape ``shape``, on a Shirley-
    type background (base + k·∫peaks), Poisson noise unless ``seed`` is None."""
    lo, hi, step = truth.grid
    x = np.linspace(lo, hi, int(round((hi - lo) / step)) + 1)
    peaks = np.zeros_like(x)
    for e, f, frac in truth.species.values():
        area = frac * truth.total * scale
        if truth.splitting:
            peaks += shaped_line(shape, x, area / (1 + truth.ratio), e, f)
            peaks += shaped_line(shape, x, area * truth.ratio / (1 + truth.ratio),
                                 e + truth.splitting, f)
        else:
            peaks += shaped_line(shape, x, area, e, f)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (peaks[1:] + peaks[:-1]) * np.diff(x))])
    clean = peaks + truth.base * scale + truth.shirley_k * cum
    y = clean if seed is None else np.random.default_rng(seed).poisson(clean).astype(float)
    return make_spectrum(x, y, region=truth.region, source_file=f"synthetic {shape}"), clean


#: a state-of-charge series of the S 2p truth (fractions per state; S⁰ from state 2)
S2P_STATES = [{"PS4": 0.78, "S2-": 0.17, "polysulfide": 0.05, "S0": 0.0},
              {"PS4": 0.71, "S2-": 0.15, "polysulfide": 0.14, "S0": 0.0},
              {"PS4": 0.62, "S2-": 0.13, "polysulfide": 0.19, "S0": 0.06},
              {"PS4": 0.55, "S2-": 0.12, "polysulfide": 0.23, "S0": 0.10}]


def synth_states(shape: str, *, seed: int = 0, states=S2P_STATES, truth=None):
    """One spectrum per state of ``states`` (``REGION_TRUTHS["S 2p"]`` positions and widths),
    drawn in the true shape ``shape`` with seeds seed, seed+1, ...; block k, label "state k"."""
    base = truth or REGION_TRUTHS["S 2p"]
    out = []
    for k, fr in enumerate(states):
        t = replace(base, species={s: (e, f, fr[s]) for s, (e, f, _) in base.species.items()})
        sp, _ = synth_region(t, shape, seed=seed + k)
        out.append(make_spectrum(sp.binding_energy.values, sp.values, region=base.region,
                                 source_file="synthetic", block=k, label=f"state {k}"))
    return out
