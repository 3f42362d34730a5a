"""Peak libraries (TOML) -> validated species records.

CONTRACT (other modules rely on these names; the loader below is filled in by the library issue).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .spectrum import region_key


@dataclass(frozen=True)
class Reference:
    citation: str                 # "Auvergniot et al., Chem. Mater. 29 (2017) 3883"
    year: int | None = None
    confidence: str = "U"         # C | L | T | D | U (see docs / xps_domain.md legend)


@dataclass
class SpeciesDef:
    key: str                      # library key, e.g. "PS4", "S2-", "polysulfide"
    label: str                    # display label, Unicode, e.g. "PS₄³⁻"
    position: float               # start position (2p3/2 for doublets), eV BE
    window: tuple[float, float]   # allowed absolute BE window (lo, hi)
    fwhm: tuple[float, float]     # allowed FWHM range (lo, hi), eV
    lineshape: str | None = None  # optional default line shape name
    references: list[Reference] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class RegionDef:
    name: str                     # core level, e.g. "S 2p"
    doublet: bool = False
    splitting: float = 0.0        # Δ = E(2p1/2) − E(2p3/2), eV
    splitting_sigma: float | None = None   # soft prior σ (None = hard)
    ratio: float = 0.5            # area(minor)/area(major), e.g. 0.5 for p
    ratio_sigma: float | None = None
    sensitivity_factor: float = 1.0        # RSF for atomic % across regions
    sensitivity_source: str = ""
    default_range: tuple[float, float] | None = None
    species: dict[str, SpeciesDef] = field(default_factory=dict)

    def get(self, key: str) -> SpeciesDef:
        """Species by key or alias (exact, then case-insensitive); LibraryError lists choices."""
        raise NotImplementedError


@dataclass
class Library:
    name: str
    description: str = ""
    source: str = ""              # file path it came from
    regions: dict[str, RegionDef] = field(default_factory=dict)

    def region(self, name: str) -> RegionDef:
        """Region by name, matched with :func:`xpsfit.spectrum.region_key`."""
        key = region_key(name)
        for r in self.regions.values():
            if region_key(r.name) == key:
                return r
        raise NotImplementedError


def load_library(name_or_path) -> Library:
    """Built-in name (``"sulfide_electrolytes"``, ``"common"``) or a TOML path."""
    raise NotImplementedError


def list_libraries() -> list[str]:
    raise NotImplementedError
