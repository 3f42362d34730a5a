"""FitResult / SeriesResult: plain data at the public surface (no lmfit internals).

CONTRACT (the engine fills these; export, plots, CLI and GUI read them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from .recipe import Recipe


@dataclass
class ParameterRecord:
    name: str                     # lmfit name, e.g. "PS4_position"
    value: float
    stderr: float = math.nan
    min: float = -math.inf
    max: float = math.inf
    vary: bool = True
    expr: str | None = None       # lmfit expression when linked
    kind: str = "free"            # free | fixed | linked
    at_bound: bool = False


@dataclass
class ComponentResult:
    species: str
    label: str
    lineshape: str
    position: float               # 2p3/2 for doublets, after any charge shift
    position_stderr: float
    fwhm: float                   # true FWHM of the shape (what tables report)
    fwhm_stderr: float
    fwhm_param: float             # width parameter of the shape (== fwhm for G/L/SGL/pV)
    area: float                   # total analytic area (doublet: both lines)
    area_stderr: float
    fraction: float               # area / sum of areas in the region
    fraction_stderr: float        # 1σ from the covariance (correlations included)
    fraction_mc_stderr: float = math.nan   # 1σ from Monte Carlo refits, when run
    area_in_region: float = math.nan       # area inside the fit range
    shape: dict[str, float] = field(default_factory=dict)
    splitting: float = math.nan
    ratio: float = math.nan
    present: bool | None = None   # filled by presence tests (series)


@dataclass
class FitStatistics:
    chisqr: float
    redchi: float
    aic: float
    bic: float
    ndata: int
    nvarys: int
    nfev: int
    success: bool
    message: str
    abbe: float = math.nan        # von Neumann ratio of normalised residuals
    prior_chisqr: float = 0.0     # part of chisqr from soft priors


@dataclass
class FitResult:
    spectrum: xr.DataArray        # the spectrum as fitted (full range, charge shift applied)
    recipe: Recipe
    parameters: dict[str, ParameterRecord]
    covariance: np.ndarray | None # over the varied parameters, order = covariance_names
    covariance_names: list[str]
    components: list[ComponentResult]
    curves: xr.Dataset            # dim binding_energy (fit range): data, envelope, background,
                                  # residual, sigma; components(species, binding_energy)
    statistics: FitStatistics
    warnings: list[str] = field(default_factory=list)   # at bound, |r| > 0.9, ...
    flags: list[str] = field(default_factory=list)      # reasons a result is not trustworthy
    monte_carlo: int = 0
    label: str = ""

    @property
    def success(self) -> bool:
        return bool(self.statistics.success) and not self.flags


@dataclass
class PresenceTest:
    series_index: int
    label: str
    species: str
    present: bool
    F: float
    p_value: float
    fraction: float
    fraction_stderr: float
    area: float
    area_stderr: float
    upper_limit: float = math.nan  # fraction upper limit when not detected


@dataclass
class Onset:
    species: str
    index: int | None
    label: str | None
    F: float = math.nan
    p_value: float = math.nan
    fraction: float = math.nan
    fraction_stderr: float = math.nan
    sentence: str = ""


@dataclass
class SeriesResult:
    results: list[FitResult]      # one per spectrum, in series order (values from the joint fit)
    labels: list[str]
    recipe: Recipe
    mode: str                     # joint | propagate | independent
    parameters: dict[str, ParameterRecord] = field(default_factory=dict)  # all, joint fit
    covariance: np.ndarray | None = None
    covariance_names: list[str] = field(default_factory=list)
    statistics: FitStatistics | None = None
    presence: list[PresenceTest] = field(default_factory=list)
    onsets: list[Onset] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
