"""Fit recipes (TOML) -> validated dataclasses.

CONTRACT (other modules rely on these names; loading/validation is filled in by the recipe issue).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .library import Library


@dataclass
class BackgroundSpec:
    type: str = "shirley"         # shirley | shirley_active | tougaard | linear | none
    endpoints: int = 5            # points averaged at each end (static Shirley / linear)
    tol: float = 1e-6
    max_iter: int = 100
    tougaard_B: float = 2866.0
    tougaard_C: float = 1643.0


@dataclass
class ComponentSpec:
    species: str                  # library key (canonical, aliases resolved)
    label: str                    # display label
    position: float               # start, 2p3/2 for doublets (eV BE)
    window: tuple[float, float]   # absolute bounds of the position
    fwhm: float                   # start value
    fwhm_bounds: tuple[float, float]
    fwhm_vary: bool = True        # False when the recipe gives a number
    doublet: bool = False
    splitting: float = 0.0
    splitting_sigma: float | None = None   # soft prior σ; None = fixed at `splitting`
    ratio: float = 0.5
    ratio_sigma: float | None = None
    lineshape: str | None = None  # None -> recipe.lineshape
    shape: dict[str, float] = field(default_factory=dict)   # shape parameter overrides
    area: float | None = None     # optional start area


@dataclass
class Prior:
    """Soft constraint added as a residual term: (expr − value)/sigma."""
    target: str                   # readable reference, e.g. "position(S0) - position(polysulfide)"
    value: float
    sigma: float


@dataclass
class ChargeReference:
    region: str                   # e.g. "C 1s" or "P 2p"
    species: str                  # e.g. "C-C" or "PS4"
    energy: float                 # value assigned, e.g. 284.8


@dataclass
class SeriesSpec:
    shared: list[str] = field(default_factory=lambda: ["position", "fwhm", "shape"])
    shift: str = "per_spectrum"   # per_spectrum | none
    shift_bounds: tuple[float, float] = (-1.0, 1.0)


@dataclass
class Recipe:
    region: str
    library_name: str
    library: Library
    lineshape: str = "pseudo_voigt"
    shape: dict[str, float] = field(default_factory=dict)  # e.g. {"eta": 0.2} or {"m": 0.3}
    shape_vary: bool = False      # fit the shape parameters (shared by all components)
    range: tuple[float, float] | None = None
    background: BackgroundSpec = field(default_factory=BackgroundSpec)
    components: list[ComponentSpec] = field(default_factory=list)
    links: list[str] = field(default_factory=list)   # "fwhm(S0) = fwhm(polysulfide)"
    priors: list[Prior] = field(default_factory=list)
    charge_reference: ChargeReference | None = None
    series: SeriesSpec = field(default_factory=SeriesSpec)
    source: str = ""              # path it was loaded from (for messages)

    def component(self, species: str) -> ComponentSpec:
        raise NotImplementedError


def load_recipe(path) -> Recipe:
    raise NotImplementedError


def recipe_from_dict(data: dict, *, source: str = "") -> Recipe:
    raise NotImplementedError


def recipe_to_toml(recipe: Recipe) -> str:
    raise NotImplementedError
