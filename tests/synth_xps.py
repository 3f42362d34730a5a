"""Independent forward model for synthetic XPS spectra with known truth (tests only).

Written separately from :mod:`xpsfit.engine` on purpose: plain Gaussian/Lorentzian formulas, a
Shirley step from the cumulative peak integral, Poisson noise.
"""
from __future__ import annotations

import math

import numpy as np

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
