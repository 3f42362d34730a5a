"""Make the synthetic example state-of-charge series and its ground truth.

Run from anywhere (``python example_spectra/make_examples.py [--out DIR]``); it rewrites
``cnf_series.vms``, ``kb_series.vms``, ``controls.vms`` and ``truth.json`` beside this script
(or in DIR), byte-identical on every run.

The forward model is plain numpy, deliberately independent of xpsfit's fitting engine (only
``xpsfit.spectrum.make_spectrum`` and the VAMAS writer are used, to make the files):

* every species is an area-true doublet of pseudo-Voigt lines: each line is
  (1 − η)·G + η·L with unit-area Gaussian G and Lorentzian L of the same FWHM, η = 0.2; the
  2p1/2 line sits ``splitting`` above the 2p3/2 line with ``ratio`` = 0.5 of its area and the same
  FWHM; a species' ``area`` is the total of both lines (units: counts·eV, i.e. the sum of counts
  over the points times the 0.1 eV step);
* background B(x) = constant + slope·(x − x0) + shirley_k·∫_{x0}^{x} P(x′) dx′ on ascending binding
  energy x, where P is the peak signal and x0 the low-BE end of the grid (a Shirley-type step
  proportional to the peak area below each energy; the integral is evaluated analytically);
* one rigid charging shift per state of charge, the same for S 2p and P 2p (one acquisition);
* the counts are a Poisson draw of P + B (raw counts; dwell 0.1 s, pass energy 20 eV,
  Al Kα mono hν = 1486.6 eV, written on the kinetic-energy scale as analysers do).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
try:
    from xpsfit.atomic import atomic_write
    from xpsfit.io.vamas_writer import write_vamas
    from xpsfit.spectrum import make_spectrum
except ImportError:  # running from a checkout without an installed xpsfit
    sys.path.insert(0, str(HERE.parent))
    from xpsfit.atomic import atomic_write
    from xpsfit.io.vamas_writer import write_vamas
    from xpsfit.spectrum import make_spectrum

SEED = 20260514
HV = 1486.6          # Al Kα monochromated
DWELL = 0.1          # s per point per scan
PASS_ENERGY = 20.0   # eV
ETA = 0.2            # Lorentzian area fraction of every line
RATIO = 0.5          # area 2p1/2 : 2p3/2
SHIFT_MAX = 0.15     # eV, charging shift drawn uniformly in ±SHIFT_MAX per state of charge

#: region -> grid, doublet constants, acquisition and intensity scale, species (2p3/2 BE, FWHM).
#: The same positions and widths hold for every spectrum (same physical species).
REGIONS = {
    "S 2p": dict(start=157.0, stop=171.0, points=141, splitting=1.18, scans=15,
                 total_area=17000.0, constant=3000.0, slope=0.0, shirley_k=0.08,
                 species=(("PS4", 161.6, 1.0), ("S2-", 160.1, 1.0),
                          ("polysulfide", 163.1, 1.4), ("S0", 164.0, 1.3))),
    "P 2p": dict(start=127.0, stop=138.0, points=111, splitting=0.87, scans=20,
                 total_area=4000.0, constant=1500.0, slope=0.0, shirley_k=0.08,
                 species=(("PS4", 132.0, 1.0), ("P2Sx", 133.1, 1.4), ("POx", 133.9, 1.5))),
}

#: fractions of each region's total doublet area, in the species order of REGIONS.
#: Trends of the reference study: polysulfide grows with voltage and more with KB; S0 appears from
#: 3.8 V with KB and only at 4.3 V with CNF; POx from 4.0 V (KB) and 4.3 V (CNF). Absent = exactly 0.
SERIES = {
    "CNF": [
        ("pristine", None, (0.78, 0.17, 0.05, 0.00), (0.90, 0.10, 0.00)),
        ("3.6 V", 3.6, (0.74, 0.16, 0.10, 0.00), (0.87, 0.13, 0.00)),
        ("3.8 V", 3.8, (0.70, 0.15, 0.15, 0.00), (0.84, 0.16, 0.00)),
        ("4.0 V", 4.0, (0.66, 0.14, 0.20, 0.00), (0.80, 0.20, 0.00)),
        ("4.3 V", 4.3, (0.57, 0.12, 0.23, 0.08), (0.68, 0.22, 0.10)),
    ],
    "KB": [
        ("pristine", None, (0.78, 0.17, 0.05, 0.00), (0.90, 0.10, 0.00)),
        ("3.6 V", 3.6, (0.71, 0.15, 0.14, 0.00), (0.85, 0.15, 0.00)),
        ("3.8 V", 3.8, (0.62, 0.13, 0.19, 0.06), (0.80, 0.20, 0.00)),
        ("4.0 V", 4.0, (0.55, 0.12, 0.23, 0.10), (0.68, 0.23, 0.09)),
        ("4.3 V", 4.3, (0.47, 0.10, 0.28, 0.15), (0.58, 0.27, 0.15)),
    ],
}
#: controls at 4.3 V: polysulfides only (more with KB), no S0, no POx
CONTROLS = [
    ("NMC+SE", (0.72, 0.16, 0.12, 0.00), (0.86, 0.14, 0.00)),
    ("MnO2+SE+CNF", (0.70, 0.15, 0.15, 0.00), (0.84, 0.16, 0.00)),
    ("MnO2+SE+KB", (0.62, 0.13, 0.25, 0.00), (0.78, 0.22, 0.00)),
]
FILES = ("cnf_series.vms", "kb_series.vms", "controls.vms")


# ---------------------------------------------------------------- forward model (plain numpy)

def pseudo_voigt(x: np.ndarray, center: float, fwhm: float, eta: float) -> np.ndarray:
    """Unit-area pseudo-Voigt: (1 − eta)·Gaussian + eta·Lorentzian, both of FWHM ``fwhm``."""
    u = (x - center) / fwhm
    gauss = math.sqrt(4 * math.log(2) / math.pi) / fwhm * np.exp(-4 * math.log(2) * u**2)
    lorentz = 2 / (math.pi * fwhm) / (1 + 4 * u**2)
    return (1 - eta) * gauss + eta * lorentz


def pseudo_voigt_cdf(x: np.ndarray, center: float, fwhm: float, eta: float) -> np.ndarray:
    """∫_{−∞}^{x} of :func:`pseudo_voigt` (closed form, so the Shirley step has no grid error)."""
    from scipy.special import erf  # scipy is an xpsfit dependency anyway
    u = (x - center) / fwhm
    gauss = 0.5 * (1 + erf(2 * math.sqrt(math.log(2)) * u))
    lorentz = 0.5 + np.arctan(2 * u) / math.pi
    return (1 - eta) * gauss + eta * lorentz


def doublet_lines(component: dict) -> list[tuple[float, float]]:
    """(center, area) of the 2p3/2 and 2p1/2 lines of one doublet."""
    area, ratio = component["area"], component["ratio"]
    main = area / (1 + ratio)
    return [(component["position"], main),
            (component["position"] + component["splitting"], area - main)]


def peak_signal(x: np.ndarray, components: list[dict]) -> np.ndarray:
    """P(x): expected counts per point from all doublets."""
    out = np.zeros_like(x)
    for c in components:
        for center, area in doublet_lines(c):
            out += area * pseudo_voigt(x, center, c["fwhm"], c["eta"])
    return out


def background(x: np.ndarray, components: list[dict], bg: dict) -> np.ndarray:
    """B(x) = constant + slope·(x − x0) + shirley_k·∫_{x0}^{x} P dx′ (analytic integral)."""
    integral = np.zeros_like(x)
    for c in components:
        for center, area in doublet_lines(c):
            integral += area * (pseudo_voigt_cdf(x, center, c["fwhm"], c["eta"])
                                - pseudo_voigt_cdf(np.array([bg["x0"]]), center, c["fwhm"],
                                                   c["eta"]))
    return bg["constant"] + bg["slope"] * (x - bg["x0"]) + bg["shirley_k"] * integral


# ---------------------------------------------------------------- the series

def _block(rng: np.random.Generator, region: str, fractions, shift: float, meta: dict):
    """One spectrum (as a Spectrum) and its truth record."""
    r = REGIONS[region]
    be = np.round(np.linspace(r["start"], r["stop"], r["points"]), 10)
    total = round(r["total_area"] * rng.uniform(0.92, 1.08), 1)
    bg = dict(constant=round(r["constant"] * rng.uniform(0.95, 1.05), 1), slope=r["slope"],
              x0=r["start"], shirley_k=r["shirley_k"])
    components = [dict(species=name, position=round(pos + shift, 6), fwhm=fwhm, eta=ETA,
                       area=total * frac, fraction=frac, splitting=r["splitting"], ratio=RATIO,
                       present=frac > 0)
                  for (name, pos, fwhm), frac in zip(r["species"], fractions)]
    expected = peak_signal(be, components) + background(be, components, bg)
    counts = rng.poisson(expected).astype(float)
    species, transition = region.split()
    spectrum = make_spectrum(
        HV - be, counts, axis="KE", excitation_energy=HV, species=species, transition=transition,
        sample=meta["sample"], label=meta["label"], block_name=meta["label"],
        voltage=meta["voltage"] if meta["voltage"] is not None else math.nan,
        scans=r["scans"], dwell=DWELL, pass_energy=PASS_ENERGY,
        comments=(f"synthetic {region} spectrum made by example_spectra/make_examples.py "
                  f"(seed {SEED}); ground truth in truth.json"))
    truth = dict(meta, region=region, charge_shift=shift, points=int(be.size),
                 be_min=float(be[0]), be_max=float(be[-1]), step=round(float(be[1] - be[0]), 10),
                 scans=r["scans"], dwell=DWELL, pass_energy=PASS_ENERGY, excitation_energy=HV,
                 total_area=total, background=bg, components=components)
    return spectrum, truth


def _states(file_name: str):
    """(electrode, label, voltage, sample, S fractions, P fractions) for every state in a file."""
    if file_name == "controls.vms":
        for electrode, s_frac, p_frac in CONTROLS:
            yield electrode, f"{electrode} 4.3 V", 4.3, f"{electrode} 4.3 V", s_frac, p_frac
        return
    electrode = "CNF" if file_name.startswith("cnf") else "KB"
    for label, voltage, s_frac, p_frac in SERIES[electrode]:
        yield electrode, label, voltage, f"{electrode} {label}", s_frac, p_frac


def build(out: Path) -> dict:
    """Write the three VAMAS files and truth.json into ``out``; return the truth."""
    out.mkdir(parents=True, exist_ok=True)
    blocks = []
    for file_no, file_name in enumerate(FILES):
        # one generator per file, so editing one file's table does not reshuffle the others
        rng = np.random.default_rng([SEED, file_no])
        spectra = []
        for electrode, label, voltage, sample, s_frac, p_frac in _states(file_name):
            shift = round(float(rng.uniform(-SHIFT_MAX, SHIFT_MAX)), 3)
            for region, fractions in (("S 2p", s_frac), ("P 2p", p_frac)):
                meta = dict(file=file_name, block_index=len(spectra), label=label,
                            voltage=voltage, electrode=electrode, sample=sample)
                spectrum, truth = _block(rng, region, fractions, shift, meta)
                spectra.append(spectrum)
                blocks.append(truth)
        write_vamas(out / file_name, spectra, institution="xpsfit example series",
                    instrument="synthetic (plain numpy forward model)",
                    experiment="S 2p / P 2p state-of-charge series of Li6PS5Cl composite cathodes",
                    comments=[f"Synthetic data, seed {SEED}; ground truth in truth.json"])
    truth = dict(
        description="Ground truth of the synthetic example series (see README.md)",
        seed=SEED,
        model=dict(
            lineshape="area-normalised pseudo-Voigt (1-eta)*Gaussian + eta*Lorentzian, same FWHM",
            doublet="2p1/2 at position + splitting with area ratio * area(2p3/2), same FWHM; "
                    "area = total of both lines; position = 2p3/2 binding energy incl. charge_shift",
            background="B(x) = constant + slope*(x - x0) + shirley_k * integral_{x0}^{x} P(x') dx'",
            noise="Poisson on P + B (raw counts)",
            area_units="counts*eV (sum of counts times the energy step)",
            excitation_energy=HV),
        blocks=blocks)
    with atomic_write(out / "truth.json", "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(truth, indent=1) + "\n")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: beside "
                        "this script)")
    args = parser.parse_args(argv)
    truth = build(args.out)
    print(f"wrote {len(FILES)} VAMAS files ({len(truth['blocks'])} blocks) and truth.json "
          f"to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
