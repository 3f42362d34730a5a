"""Synthetic S 2p maps for demos, tests and benchmarks (plain numpy; never the fitting engine).

The forward model is the one of ``example_spectra/make_examples.py``: every species is an
area-true doublet of pseudo-Voigt lines ((1 − η)·G + η·L, same FWHM, η = 0.2, 2p1/2 at +1.18 eV
with half the 2p3/2 area); the background is constant + k·∫P (a Shirley-type step, integrated
analytically); counts are a Poisson draw. Over the map the composition varies smoothly:

* PS4 (argyrodite) dominates at the left and decays towards the right edge (x);
* polysulfide grows along x, S²⁻ varies gently along y;
* S0 is a Gaussian blob (absent, i.e. exactly zero area, far from it);
* a smooth charging gradient shifts all positions by up to ±0.1 eV; the total intensity
  varies by ±15 % (sample topography).

:func:`demo_map` returns the counts (``xarray.DataArray`` with dims ``y, x, binding_energy``) and
the truth (``xarray.Dataset``); :func:`write_map_hdf5` writes the map in the input layout of
:func:`xpsfit.fitting.maps.fit_map_to_hdf5` (see ``docs/maps.md``).
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy.special import erf

from .spectrum import DIM

ETA = 0.2
SPLITTING = 1.18
RATIO = 0.5
#: species, 2p3/2 binding energy (eV), FWHM (eV) — the S 2p model of the example series
SPECIES = (("PS4", 161.6, 1.0), ("S2-", 160.1, 1.0), ("polysulfide", 163.1, 1.4),
           ("S0", 164.0, 1.3))
AXIS = dict(start=157.0, stop=171.0, points=141)


def _pv(x, center, fwhm):
    u = (x - center) / fwhm
    g = math.sqrt(4 * math.log(2) / math.pi) / fwhm * np.exp(-4 * math.log(2) * u * u)
    lor = 2.0 / (math.pi * fwhm) / (1.0 + 4.0 * u * u)
    return (1 - ETA) * g + ETA * lor


def _pv_cdf(x, center, fwhm):
    u = (x - center) / fwhm
    g = 0.5 * (1 + erf(2 * math.sqrt(math.log(2)) * u))
    lor = 0.5 + np.arctan(2 * u) / math.pi
    return (1 - ETA) * g + ETA * lor


def truth_map(ny: int, nx: int, *, total_area: float = 12000.0) -> xr.Dataset:
    """Smooth composition, positions and areas over a ny × nx map (no noise)."""
    yy, xx = np.meshgrid(np.linspace(0, 1, ny), np.linspace(0, 1, nx), indexing="ij")
    poly = 0.05 + 0.30 * xx
    s2 = 0.12 + 0.06 * np.sin(math.pi * yy)
    s0 = 0.15 * np.exp(-((xx - 0.7) ** 2 + (yy - 0.35) ** 2) / (2 * 0.12 ** 2))
    s0 = np.where(s0 < 0.005, 0.0, s0)          # truly absent away from the blob
    ps4 = 1.0 - poly - s2 - s0
    frac = np.stack([ps4, s2, poly, s0], axis=-1)
    total = total_area * (1.0 + 0.15 * np.cos(2 * math.pi * xx) * np.cos(math.pi * yy))
    shift = 0.1 * (xx - 0.5) + 0.05 * (yy - 0.5)
    base = np.array([p for _, p, _ in SPECIES])
    names = [s for s, _, _ in SPECIES]
    return xr.Dataset(
        {"fraction": (("y", "x", "species"), frac),
         "area": (("y", "x", "species"), frac * total[..., None]),
         "position": (("y", "x", "species"), base + shift[..., None]),
         "fwhm": ("species", np.array([w for *_, w in SPECIES])),
         "shift": (("y", "x"), shift)},
        coords={"y": np.arange(ny), "x": np.arange(nx), "species": names})


def spectra_from_truth(truth: xr.Dataset, energy: np.ndarray, rng: np.random.Generator, *,
                       constant: float = 2000.0, shirley_k: float = 0.08) -> np.ndarray:
    """Poisson counts (..., n_energy) for every pixel of ``truth`` (vectorised over pixels)."""
    area = truth["area"].values
    pos = truth["position"].values
    fwhm = truth["fwhm"].values
    x = energy
    peaks = np.zeros(area.shape[:-1] + (x.size,))
    step = np.zeros_like(peaks)
    for i in range(area.shape[-1]):
        for center_off, weight in ((0.0, 1.0 / (1 + RATIO)), (SPLITTING, RATIO / (1 + RATIO))):
            c = (pos[..., i] + center_off)[..., None]
            a = (area[..., i] * weight)[..., None]
            peaks += a * _pv(x, c, fwhm[i])
            step += a * (_pv_cdf(x, c, fwhm[i]) - _pv_cdf(x[0], c, fwhm[i]))
    expected = peaks + constant + shirley_k * step
    return rng.poisson(expected).astype(float)


def demo_map(ny: int = 100, nx: int = 100, *, seed: int = 0, total_area: float = 12000.0
             ) -> tuple[xr.DataArray, xr.Dataset]:
    """(counts map with dims y, x, binding_energy; truth Dataset). Reproducible for a seed."""
    if ny < 1 or nx < 1:
        raise ValueError("map size must be at least 1 × 1")
    energy = np.round(np.linspace(AXIS["start"], AXIS["stop"], AXIS["points"]), 10)
    truth = truth_map(ny, nx, total_area=total_area)
    rng = np.random.default_rng(seed)
    counts = np.empty((ny, nx, energy.size))
    rows = max(1, 4096 // nx)                    # bounded temporary memory for big maps
    for r0 in range(0, ny, rows):
        counts[r0:r0 + rows] = spectra_from_truth(truth.isel(y=slice(r0, r0 + rows)), energy, rng)
    data = xr.DataArray(counts, dims=("y", "x", DIM),
                        coords={"y": truth.y.values, "x": truth.x.values,
                                DIM: (DIM, energy, {"units": "eV"})},
                        attrs={"region": "S 2p", "counts_unit": "counts",
                               "source_file": "", "comments": f"xpsfit demo-map seed {seed}"},
                        name="intensity")
    return data, truth


def write_map_hdf5(path, data: xr.DataArray, truth: xr.Dataset | None = None) -> None:
    """Write a map in the input layout (atomically): dataset ``intensity`` (energy last) with
    attribute ``dims``, 1-D ``binding_energy`` and one 1-D dataset per other dim; spectrum attrs
    as attributes of ``intensity``; the truth (if given) under group ``truth``."""
    from .atomic import atomic_h5
    from .fitting.maps import energy_last
    data = energy_last(data)
    with atomic_h5(path, what="map") as h5:
        dset = h5.create_dataset("intensity", data=data.values,
                                 chunks=_row_chunks(data.shape), compression="gzip",
                                 compression_opts=1)
        dset.attrs["dims"] = [str(d) for d in data.dims]
        for k, v in data.attrs.items():
            if isinstance(v, (str, int, float, bool, np.number)):
                dset.attrs[k] = v
        for d in data.dims:
            h5.create_dataset(str(d), data=np.asarray(data[d].values))
        if truth is not None:
            g = h5.create_group("truth")
            for name, var in truth.data_vars.items():
                ds = g.create_dataset(name, data=var.values)
                ds.attrs["dims"] = [str(d) for d in var.dims]
            g.create_dataset("species", data=np.array(truth.species.values, dtype="S"))


def _row_chunks(shape: tuple[int, ...]) -> tuple[int, ...]:
    """HDF5 chunks of about 1000 spectra (whole spectra per chunk)."""
    lead = shape[:-1]
    n = 1
    out = []
    for s in reversed(lead):
        c = max(1, min(s, 1000 // n))
        out.append(c)
        n *= c
    return tuple(reversed(out)) + (shape[-1],)


__all__ = ["demo_map", "truth_map", "spectra_from_truth", "write_map_hdf5", "SPECIES"]
