"""Fit recipes (TOML) -> validated dataclasses.

One format for GUI, CLI and Python API (see docs/recipes.md)::

    region = "S 2p"
    library = "sulfide_electrolytes"
    lineshape = "pseudo_voigt"
    shape = {eta = 0.2}
    range = [157.0, 171.0]
    links = ["fwhm(S2-) = fwhm(PS4)"]
    [background]
    type = "shirley"
    [[components]]
    species = "PS4"
    window = 0.4          # ± eV around the position, or [lo, hi]
    fwhm = [0.6, 1.5]     # bounds, or a number to fix it

Components resolve against the library: whatever the recipe gives overrides the library entry.
Every problem is one :class:`RecipeError` line with the file, line and key path.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from ..errors import FitError, LibraryError, RecipeError
from ..io.limits import MAX_BACKGROUND_ITER, MAX_ENDPOINTS
from ..numerics.backgrounds import BACKGROUNDS
from ..numerics.lineshapes import LINESHAPES
from .library import (ENERGY_LIMITS, FWHM_LIMITS, Checker, Library, RegionDef, SpeciesDef,
                      lineshape_names, load_library, parse_toml, read_text)
from .links import parse_expression, parse_link, valid_quantities
from .naming import species_prefix
from ..spectrum import DIM, region_key

SERIES_SHARED = ("position", "fwhm", "shape", "splitting", "ratio")
SERIES_SHIFTS = ("per_spectrum", "none")

_TOP_KEYS = ("region", "library", "lineshape", "shape", "shape_vary", "range", "background",
             "components", "links", "priors", "charge_reference", "series", "description")
_BACKGROUND_KEYS = ("type", "endpoints", "tol", "max_iter", "tougaard_B", "tougaard_C",
                    "tougaard_fit_B", "tougaard_C_prime", "tougaard_D", "sigma_bg",
                    "sigma_bg_range")
#: how far (eV) the background-systematics variants may move a region limit
SIGMA_BG_RANGE_MAX = 5.0
_COMPONENT_KEYS = ("species", "label", "position", "window", "fwhm", "fwhm_start", "lineshape",
                   "shape", "shape_vary", "area", "splitting", "splitting_sigma", "ratio",
                   "ratio_sigma", "name")
_PRIOR_KEYS = ("target", "value", "sigma")
_CHARGE_KEYS = ("region", "species", "energy")
_SERIES_KEYS = ("shared", "shift", "shift_bounds")

#: a free component without a window or fwhm gets these (eV)
FREE_WINDOW_HALF = 1.0
FREE_FWHM_BOUNDS = (0.3, 5.0)
#: minor/major area of a spin-orbit doublet by subshell, (2l)/(2l+2), for free doublets
_SUBSHELL_RATIO = {"p": 0.5, "d": 2.0 / 3.0, "f": 0.75}


def shape_params(lineshape: str) -> dict[str, tuple[float, float, float]]:
    """``{name: (default, min, max)}`` of a line shape's shape parameters ({} if unknown)."""
    shape = LINESHAPES.get(lineshape)
    return dict(shape.shape_params) if shape is not None else {}


@dataclass
class BackgroundSpec:
    type: str = "shirley"         # shirley | shirley_active | tougaard | linear | none
    endpoints: int = 5            # points averaged at each end (static Shirley / linear)
    tol: float = 1e-6
    max_iter: int = 100
    tougaard_B: float = 2866.0
    tougaard_C: float = 1643.0
    tougaard_fit_B: bool = True   # rescale B so the background meets the high-BE end; False:
                                  # use tougaard_B as given
    tougaard_C_prime: float = 1.0  # K(T) = B·T/((C + C'·T²)² + D·T²); C' = −1 with D: CasaXPS U 3
    tougaard_D: float = 0.0
    sigma_bg: bool = True         # background-systematic σ from background variants
                                  # (xpsfit.engine.background_variants)
    sigma_bg_range: float = 0.4   # eV the variants move each region limit (at least one step)


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
    # None: the recipe's rule (fitted and shared when recipe.shape_vary, an override fixed);
    # True: this component fits its own shape parameters; False: they are held
    shape_vary: bool | None = None
    area: float | None = None     # optional start area
    free: bool = False            # not from the library: every value is the recipe's own
    library_species: str = ""     # library key it started from when ``species`` renames it


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
    # a shared quantity is fitted once for the series; "shape" joins by default only when the
    # recipe fits shape parameters (shape_vary), since a fixed quantity cannot be shared
    shared: list[str] = field(default_factory=lambda: ["position", "fwhm"])
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
    source: str = field(default="", compare=False)   # path it was loaded from (for messages)
    description: str = ""         # added: free text kept through the round trip

    def component(self, species: str) -> ComponentSpec:
        """Component by species key or library alias (case-insensitive fallback)."""
        for c in self.components:
            if c.species == species:
                return c
        try:
            key = self.library.region(self.region).get(species).key
        except LibraryError:
            key = None
        for c in self.components:
            if c.species == key or (key is None and c.species.lower() == str(species).lower()):
                return c
        raise RecipeError(f"no component {species!r} in the recipe; components: "
                          f"{', '.join(c.species for c in self.components)}",
                          path=self.source or None)

    def species_map(self) -> dict[str, str]:
        """Every accepted spelling (key and library aliases) -> canonical component key."""
        out: dict[str, str] = {}
        region = self.library.region(self.region)
        for c in self.components:
            out[c.species] = c.species
            if c.species in region.species:
                for alias in region.species[c.species].aliases:
                    out.setdefault(alias, c.species)
        return out

    def link_pairs(self, spectrum: int | None = None) -> list[tuple[str, str]]:
        """The links as ``(target parameter, lmfit expression)``."""
        return [parse_link(t, self.species_map(), spectrum=spectrum) for t in self.links]

    def prior_exprs(self, spectrum: int | None = None) -> list[tuple[str, float, float]]:
        """The priors as ``(lmfit expression, value, sigma)``."""
        return [(parse_expression(p.target, self.species_map(), spectrum=spectrum), p.value,
                 p.sigma) for p in self.priors]


# ---------------------------------------------------------------------------------------------
# loading

def load_recipe(path) -> Recipe:
    """Read and validate a recipe file. A relative ``library`` path is taken from the recipe's
    folder."""
    path = Path(path)
    text = read_text(path, RecipeError)
    data = parse_toml(text, str(path), RecipeError)
    return recipe_from_dict(data, source=str(path), _text=text)


def recipe_from_dict(data: dict, *, source: str = "", _text: str = "",
                     library: Library | None = None) -> Recipe:
    """Validate raw recipe data (as from TOML) against its library and build the Recipe.

    ``library``: the already loaded library named by ``data["library"]`` (recipe edits rebuild
    through here and must not reread the library on every keystroke)."""
    check = Checker(RecipeError, source, _text)
    check.table(data, (), _TOP_KEYS)
    if "region" not in data:
        raise check.fail((), "the recipe needs 'region'")
    region_name = check.string(data["region"], ("region",))
    if "library" in data:
        library_name = check.string(data["library"], ("library",))
        if library is None:
            library = _load_recipe_library(check, library_name, source)
    else:   # a recipe of free components only: its region stands alone
        library_name = ""
        library = Library(name="", description="no library: free components only",
                          regions={region_name: RegionDef(name=region_name)})
    try:
        region = library.region(region_name)
    except LibraryError as exc:
        raise check.fail(("region",), exc.message) from None

    shapes = lineshape_names()
    lineshape = _lineshape(check, data.get("lineshape", "pseudo_voigt"), ("lineshape",), shapes)
    recipe = Recipe(region=region.name, library_name=library_name, library=library,
                    lineshape=lineshape, source=source)
    recipe.description = check.string(data.get("description", ""), ("description",),
                                      nonempty=False)
    recipe.shape = _shape(check, data.get("shape", {}), ("shape",), lineshape)
    recipe.shape_vary = check.boolean(data.get("shape_vary", False), ("shape_vary",))
    if "range" in data:
        recipe.range = check.pair(data["range"], ("range",), "range", within=ENERGY_LIMITS)
    recipe.background = _background(check, data.get("background", {}))

    raw_components = data.get("components")
    if raw_components is None or raw_components == []:
        raise check.fail(("components",), f"the recipe needs at least one [[components]]; "
                                          f"species in {region.name}: {region.choices()}")
    if not isinstance(raw_components, list):
        raise check.fail(("components",), "components must be an array of tables "
                                          "([[components]])")
    for i, raw in enumerate(raw_components):
        comp = _component(check, raw, i, region, recipe, shapes)
        key_name = "name" if isinstance(raw, dict) and "name" in raw else "species"
        if any(c.species == comp.species for c in recipe.components):
            raise check.fail(("components", i, key_name),
                             f"component {comp.species} appears twice in the components; give "
                             f"each one a distinct 'name'")
        clash = [c.species for c in recipe.components
                 if species_prefix(c.species) == species_prefix(comp.species)]
        if clash:   # parameter names would collide (e.g. "C 1s_1" and "C 1s 1")
            raise check.fail(("components", i, key_name),
                             f"component names {clash[0]!r} and {comp.species!r} give the same "
                             f"parameter names; rename one")
        recipe.components.append(comp)
    if recipe.range is not None:
        lo, hi = recipe.range
        for i, c in enumerate(recipe.components):
            if not lo <= c.position <= hi:
                given = isinstance(raw_components[i], dict) and "position" in raw_components[i]
                raise check.fail(("components", i, "position") if given else ("range",),
                                 f"{c.species} position {c.position:g} lies outside the "
                                 f"recipe range ({lo:g}, {hi:g})")

    species = recipe.species_map()
    quantities = valid_quantities()
    links = data.get("links", [])
    recipe.links = check.string_list(links, ("links",))
    targets: dict[str, int] = {}
    for i, text in enumerate(recipe.links):
        try:
            target, _ = parse_link(text, species, quantities=quantities)
        except RecipeError as exc:
            raise check.fail(("links",), f"links[{i + 1}]: {exc.message}") from None
        if target in targets:
            raise check.fail(("links",), f"links[{i + 1}] {text!r} sets the same parameter as "
                                         f"links[{targets[target] + 1}]")
        targets[target] = i
    recipe.priors = _priors(check, data.get("priors", []), species, quantities)
    if "charge_reference" in data:
        recipe.charge_reference = _charge_reference(check, data["charge_reference"], library)
    recipe.series = _series(check, data.get("series", {}))
    if recipe.shape_vary and "shared" not in (data.get("series") or {}):
        recipe.series.shared.append("shape")
    return recipe


def _load_recipe_library(check: Checker, name: str, source: str) -> Library:
    base = Path(source).parent if source else None
    target: Any = name
    if base is not None and (name.endswith(".toml") or "/" in name or "\\" in name):
        candidate = Path(name).expanduser()
        target = candidate if candidate.is_absolute() else base / candidate
    try:
        return load_library(target)
    except LibraryError as exc:
        if exc.path:   # the library file itself is broken: its own message says where
            raise
        raise check.fail(("library",), exc.message) from None


def _lineshape(check: Checker, value: Any, parts: tuple, shapes: tuple[str, ...]) -> str:
    name = check.string(value, parts)
    if name not in shapes:
        raise check.fail(parts, f"unknown line shape {name!r}; valid: {', '.join(shapes)}")
    return name


def _shape(check: Checker, value: Any, parts: tuple, lineshape: str) -> dict[str, float]:
    check.table(value, parts)
    known = shape_params(lineshape)
    out = {}
    for k, v in value.items():
        if k not in known:
            raise check.fail(parts + (k,), f"line shape {lineshape} has no shape parameter "
                                           f"{k!r}; valid: {', '.join(known) or '(none)'}")
        x = check.number(v, parts + (k,))
        _, lo, hi = known[k]
        lo = -math.inf if lo is None else float(lo)
        hi = math.inf if hi is None else float(hi)
        if not lo <= x <= hi:
            raise check.fail(parts + (k,), f"{k} = {x:g} is outside ({lo:g}, {hi:g}) for "
                                           f"{lineshape}")
        out[k] = x
    return out


def _background(check: Checker, raw: Any) -> BackgroundSpec:
    parts = ("background",)
    check.table(raw, parts, _BACKGROUND_KEYS)
    bg = BackgroundSpec()
    if "type" in raw:
        bg.type = check.string(raw["type"], parts + ("type",))
        if bg.type not in BACKGROUNDS:
            raise check.fail(parts + ("type",), f"unknown background {bg.type!r}; valid: "
                                                f"{', '.join(BACKGROUNDS)}")
    if "endpoints" in raw:
        bg.endpoints = check.integer(raw["endpoints"], parts + ("endpoints",), minimum=1,
                                     maximum=MAX_ENDPOINTS)
    if "tol" in raw:
        bg.tol = check.number(raw["tol"], parts + ("tol",), positive=True)
    if "max_iter" in raw:
        bg.max_iter = check.integer(raw["max_iter"], parts + ("max_iter",), minimum=1,
                                    maximum=MAX_BACKGROUND_ITER)
    for k in ("tougaard_B", "tougaard_C"):
        if k in raw:
            setattr(bg, k, check.number(raw[k], parts + (k,), positive=True))
    if "tougaard_fit_B" in raw:
        bg.tougaard_fit_B = check.boolean(raw["tougaard_fit_B"], parts + ("tougaard_fit_B",))
    if "tougaard_C_prime" in raw:
        bg.tougaard_C_prime = check.number(raw["tougaard_C_prime"], parts + ("tougaard_C_prime",))
    if "tougaard_D" in raw:
        bg.tougaard_D = check.number(raw["tougaard_D"], parts + ("tougaard_D",), nonneg=True)
    if "sigma_bg" in raw:
        bg.sigma_bg = check.boolean(raw["sigma_bg"], parts + ("sigma_bg",))
    if "sigma_bg_range" in raw:
        bg.sigma_bg_range = check.number(raw["sigma_bg_range"], parts + ("sigma_bg_range",),
                                         positive=True, within=(0.0, SIGMA_BG_RANGE_MAX))
    return bg


def _component(check: Checker, raw: Any, i: int, region: RegionDef, recipe: Recipe,
               shapes: tuple[str, ...]) -> ComponentSpec:
    """One ``[[components]]`` table: a library species (``species``, optionally renamed with
    ``name``) or a free component (``name`` only: every value from the recipe)."""
    parts = ("components", i)
    check.table(raw, parts, _COMPONENT_KEYS)
    if "species" not in raw and "name" not in raw:
        raise check.fail(parts, f"component {i + 1} needs 'species' (a library key; valid: "
                                f"{region.choices()}) or 'name' (a free component)")
    name = None
    if "name" in raw:
        name = check.string(raw["name"], parts + ("name",))
        if "(" in name or ")" in name:
            raise check.fail(parts + ("name",), f"component name {name!r} may not contain "
                                                "parentheses (links write fwhm(name))")
    if "species" in raw:
        key = check.string(raw["species"], parts + ("species",))
        try:
            sp = region.get(key)
        except LibraryError as exc:
            raise check.fail(parts + ("species",), exc.message) from None
        doublet = region.doublet
    else:
        if "position" not in raw:
            raise check.fail(parts, f"free component {name!r} needs a 'position'")
        position = check.number(raw["position"], parts + ("position",), positive=True)
        sp = SpeciesDef(key=name, label=name, position=position,
                        window=(position - FREE_WINDOW_HALF, position + FREE_WINDOW_HALF),
                        fwhm=FREE_FWHM_BOUNDS)
        doublet = "splitting" in raw
    where = f"{name or sp.key}: "

    position = sp.position
    if "position" in raw:
        position = check.number(raw["position"], parts + ("position",), positive=True,
                                within=ENERGY_LIMITS)
    window = sp.window
    if "window" in raw:
        w = raw["window"]
        if isinstance(w, (int, float)) and not isinstance(w, bool):
            half = check.number(w, parts + ("window",), positive=True)
            window = check.pair([position - half, position + half], parts + ("window",),
                                "window", within=ENERGY_LIMITS)
        else:
            window = check.pair(w, parts + ("window",), "window", within=ENERGY_LIMITS)
    if not window[0] <= position <= window[1]:
        raise check.fail(parts + ("window",), f"{where}window ({window[0]:g}, {window[1]:g}) "
                                              f"excludes the start position {position:g}")

    fwhm_bounds, fwhm_vary = sp.fwhm, True
    if "fwhm" in raw:
        f = raw["fwhm"]
        if isinstance(f, (int, float)) and not isinstance(f, bool):
            value = check.number(f, parts + ("fwhm",), positive=True, within=FWHM_LIMITS)
            # a fixed width keeps bounds that contain it (lmfit wants min < max)
            fwhm_bounds = (min(sp.fwhm[0], value / 2), max(sp.fwhm[1], value * 2))
            fwhm_vary = False
            fwhm = value
        else:
            fwhm_bounds = check.pair(f, parts + ("fwhm",), "fwhm bounds", positive=True,
                                     within=FWHM_LIMITS)
    if fwhm_vary:
        fwhm = 0.5 * (fwhm_bounds[0] + fwhm_bounds[1])
        if "fwhm_start" in raw:
            fwhm = check.number(raw["fwhm_start"], parts + ("fwhm_start",), positive=True)
            if not fwhm_bounds[0] <= fwhm <= fwhm_bounds[1]:
                raise check.fail(parts + ("fwhm_start",), f"{where}fwhm_start {fwhm:g} is "
                                 f"outside the fwhm bounds ({fwhm_bounds[0]:g}, "
                                 f"{fwhm_bounds[1]:g})")
    elif "fwhm_start" in raw:
        raise check.fail(parts + ("fwhm_start",), f"{where}fwhm_start given but fwhm is fixed")

    lineshape = sp.lineshape
    if "lineshape" in raw:
        lineshape = _lineshape(check, raw["lineshape"], parts + ("lineshape",), shapes)
    shape = _shape(check, raw.get("shape", {}), parts + ("shape",),
                   lineshape or recipe.lineshape)

    free = "species" not in raw
    comp = ComponentSpec(species=name or sp.key, label=sp.label, position=position, window=window,
                         fwhm=fwhm, fwhm_bounds=fwhm_bounds, fwhm_vary=fwhm_vary,
                         doublet=doublet, lineshape=lineshape, shape=shape, free=free,
                         library_species="" if free or name in (None, sp.key) else sp.key)
    if "label" in raw:
        comp.label = check.string(raw["label"], parts + ("label",))
    if doublet and free:
        comp.splitting_sigma = comp.ratio_sigma = None
        comp.ratio = _SUBSHELL_RATIO.get(_subshell(region.name), math.nan)
        if "ratio" not in raw and math.isnan(comp.ratio):
            raise check.fail(parts, f"{where}a free doublet in {region.name} needs a 'ratio' "
                                    "(minor/major area)")
    elif doublet:
        comp.splitting = region.splitting
        comp.splitting_sigma = region.splitting_sigma
        comp.ratio = region.ratio
        comp.ratio_sigma = region.ratio_sigma
    if doublet:
        if "splitting" in raw:
            comp.splitting = check.number(raw["splitting"], parts + ("splitting",),
                                          positive=True)
        if "ratio" in raw:
            comp.ratio = check.number(raw["ratio"], parts + ("ratio",), positive=True)
        for k in ("splitting_sigma", "ratio_sigma"):
            if k in raw:
                v = raw[k]
                # false (or 0) makes a soft library constraint hard again
                setattr(comp, k, None if v is False or v == 0 else
                        check.number(v, parts + (k,), positive=True))
    else:
        for k in ("splitting", "ratio", "splitting_sigma", "ratio_sigma"):
            if k in raw:
                raise check.fail(parts + (k,), f"{where}{k!r} given but {region.name} is not "
                                               "a doublet" if not free else
                                 f"{where}{k!r} given without 'splitting' (a singlet)")
    if "area" in raw:
        comp.area = check.number(raw["area"], parts + ("area",), nonneg=True)
    if "shape_vary" in raw:
        comp.shape_vary = check.boolean(raw["shape_vary"], parts + ("shape_vary",))
    return comp


def _subshell(region_name: str) -> str:
    """``"Fe 2p"`` -> ``"p"``; ``""`` when the name has no n-l subshell."""
    m = re.search(r"\d([spdf])", region_name)
    return m.group(1) if m else ""


def _priors(check: Checker, raw: Any, species: dict[str, str], quantities) -> list[Prior]:
    if not isinstance(raw, list):
        raise check.fail(("priors",), "priors must be an array of tables ([[priors]])")
    out = []
    for i, p in enumerate(raw):
        parts = ("priors", i)
        check.table(p, parts, _PRIOR_KEYS)
        for k in _PRIOR_KEYS:
            if k not in p:
                raise check.fail(parts, f"a prior needs target, value and sigma; {k!r} missing")
        target = check.string(p["target"], parts + ("target",))
        try:
            parse_expression(target, species, quantities=quantities)
        except RecipeError as exc:
            raise check.fail(parts + ("target",), exc.message) from None
        out.append(Prior(target=target, value=check.number(p["value"], parts + ("value",)),
                         sigma=check.number(p["sigma"], parts + ("sigma",), positive=True)))
    return out


def _charge_reference(check: Checker, raw: Any, library: Library) -> ChargeReference:
    parts = ("charge_reference",)
    check.table(raw, parts, _CHARGE_KEYS)
    for k in _CHARGE_KEYS:
        if k not in raw:
            raise check.fail(parts, f"charge_reference needs region, species and energy; "
                                    f"{k!r} missing")
    name = check.string(raw["region"], parts + ("region",))
    try:
        region = library.region(name)
        sp = region.get(check.string(raw["species"], parts + ("species",)))
    except LibraryError as exc:
        raise check.fail(parts, exc.message) from None
    energy = check.number(raw["energy"], parts + ("energy",), positive=True)
    return ChargeReference(region=region.name, species=sp.key, energy=energy)


def _series(check: Checker, raw: Any) -> SeriesSpec:
    parts = ("series",)
    check.table(raw, parts, _SERIES_KEYS)
    spec = SeriesSpec()
    if "shared" in raw:
        spec.shared = check.string_list(raw["shared"], parts + ("shared",))
        for s in spec.shared:
            if s not in SERIES_SHARED:
                raise check.fail(parts + ("shared",), f"cannot share {s!r} across a series; "
                                                      f"valid: {', '.join(SERIES_SHARED)}")
    if "shift" in raw:
        spec.shift = check.string(raw["shift"], parts + ("shift",))
        if spec.shift not in SERIES_SHIFTS:
            raise check.fail(parts + ("shift",), f"unknown shift mode {spec.shift!r}; valid: "
                                                 f"{', '.join(SERIES_SHIFTS)}")
    if "shift_bounds" in raw:
        lo, hi = check.pair(raw["shift_bounds"], parts + ("shift_bounds",), "shift_bounds")
        if not lo <= 0 <= hi:
            raise check.fail(parts + ("shift_bounds",), f"shift_bounds ({lo:g}, {hi:g}) must "
                                                        "contain 0")
        spec.shift_bounds = (lo, hi)
    return spec


# ---------------------------------------------------------------------------------------------
# writing

def recipe_to_dict(recipe: Recipe) -> dict:
    """Plain data of a recipe, fully explicit (positions, windows and widths written out), so it
    reproduces the same fit even if the library changes later."""
    out: dict[str, Any] = {"region": recipe.region}
    if recipe.library_name:
        out["library"] = recipe.library_name
    if recipe.description:
        out["description"] = recipe.description
    out["lineshape"] = recipe.lineshape
    if recipe.shape:
        out["shape"] = dict(recipe.shape)
    out["shape_vary"] = recipe.shape_vary
    if recipe.range is not None:
        out["range"] = list(recipe.range)
    if recipe.links:
        out["links"] = list(recipe.links)
    bg = recipe.background
    out["background"] = {"type": bg.type, "endpoints": bg.endpoints, "tol": bg.tol,
                         "max_iter": bg.max_iter, "tougaard_B": bg.tougaard_B,
                         "tougaard_C": bg.tougaard_C, "tougaard_fit_B": bg.tougaard_fit_B}
    if (bg.tougaard_C_prime, bg.tougaard_D) != (1.0, 0.0):
        out["background"].update(tougaard_C_prime=bg.tougaard_C_prime, tougaard_D=bg.tougaard_D)
    defaults = BackgroundSpec()
    if (bg.sigma_bg, bg.sigma_bg_range) != (defaults.sigma_bg, defaults.sigma_bg_range):
        out["background"].update(sigma_bg=bg.sigma_bg, sigma_bg_range=bg.sigma_bg_range)
    try:
        region = recipe.library.region(recipe.region)
    except LibraryError:
        region = None
    comps = []
    for c in recipe.components:
        if c.free:
            d: dict[str, Any] = {"name": c.species}
        elif c.library_species and c.library_species != c.species:
            d = {"species": c.library_species, "name": c.species}
        else:
            d = {"species": c.species}
        d.update(label=c.label, position=c.position, window=list(c.window))
        if c.fwhm_vary:
            d["fwhm"] = list(c.fwhm_bounds)
            d["fwhm_start"] = c.fwhm
        else:
            d["fwhm"] = c.fwhm
        if c.doublet:
            # sigmas are written only where they differ from the library region (false = hard)
            d["splitting"] = c.splitting
            # (a free component has none from the region, so its own are always written)
            if c.splitting_sigma != (None if c.free else getattr(region, "splitting_sigma", None)):
                d["splitting_sigma"] = c.splitting_sigma if c.splitting_sigma is not None else False
            d["ratio"] = c.ratio
            if c.ratio_sigma != (None if c.free else getattr(region, "ratio_sigma", None)):
                d["ratio_sigma"] = c.ratio_sigma if c.ratio_sigma is not None else False
        if c.lineshape is not None:
            d["lineshape"] = c.lineshape
        if c.shape:
            d["shape"] = dict(c.shape)
        if c.shape_vary is not None:
            d["shape_vary"] = c.shape_vary
        if c.area is not None:
            d["area"] = c.area
        comps.append(d)
    out["components"] = comps
    if recipe.priors:
        out["priors"] = [{"target": p.target, "value": p.value, "sigma": p.sigma}
                         for p in recipe.priors]
    if recipe.charge_reference is not None:
        cr = recipe.charge_reference
        out["charge_reference"] = {"region": cr.region, "species": cr.species,
                                   "energy": cr.energy}
    out["series"] = {"shared": list(recipe.series.shared), "shift": recipe.series.shift,
                     "shift_bounds": list(recipe.series.shift_bounds)}
    return out


def recipe_to_toml(recipe: Recipe) -> str:
    """TOML text that loads back into an equal recipe (``load(to_toml(r)) == r``)."""
    header = (f"# xpsfit recipe: {recipe.region} with library {recipe.library_name}\n\n"
              if recipe.library_name else f"# xpsfit recipe: {recipe.region}, no library\n\n")
    return header + _one_line_arrays(tomli_w.dumps(recipe_to_dict(recipe)))


def save_recipe(recipe: Recipe, path: str | os.PathLike) -> None:
    """Write ``recipe_to_toml(recipe)`` to ``path`` atomically (UTF-8): a crash or kill while
    saving leaves the previous file whole. Raises :class:`RecipeError` when it cannot write."""
    from ..atomic import atomic_write

    text = recipe_to_toml(recipe)
    try:
        with atomic_write(path, "w", encoding="utf-8", newline="\n", error=RecipeError,
                          what="recipe") as fh:
            fh.write(text)
    except OSError as exc:
        raise RecipeError(f"cannot write recipe: {exc.strerror or exc}", path=path) from None


_ARRAY = re.compile(r"\[\n((?:    [^\n\[\]{}]*,\n)+)\]")


def _one_line_arrays(text: str) -> str:
    """tomli_w writes every array over several lines; short arrays of scalars read better on
    one (``window = [161.2, 162.0]``)."""
    def join(m: re.Match) -> str:
        items = [line.strip().rstrip(",") for line in m.group(1).splitlines()]
        one = "[" + ", ".join(items) + "]"
        return one if len(one) <= 80 else m.group(0)
    return _ARRAY.sub(join, text)


# ---------------------------------------------------------------------------------------------
# recipe vs spectrum

def _spectrum_where(spectrum) -> dict:
    a = getattr(spectrum, "attrs", {}) or {}
    return {"path": a.get("source_file") or None, "block": a.get("block_index")}


def check_region(recipe: Recipe, spectrum):
    """Return the spectrum, with ``attrs["region"]`` set to the recipe's when it had none;
    :class:`FitError` when its region differs from the recipe's."""
    region = str(spectrum.attrs.get("region", "") or "").strip()
    if not region:
        out = spectrum.copy(deep=False)
        out.attrs = dict(spectrum.attrs, region=recipe.region)
        return out
    if region_key(region) != region_key(recipe.region):
        raise FitError(f"spectrum region {region!r} does not match the recipe region "
                       f"{recipe.region!r} (recipe {recipe.source or 'in memory'})",
                       **_spectrum_where(spectrum))
    return spectrum


def check_range(recipe: Recipe, spectrum, *, min_points: int = 5) -> tuple[float, float]:
    """The fit window (lo, hi): the recipe range clipped to the data (the fit reports a clipped
    range as a warning naming the range used), or the whole data. :class:`FitError` when the
    range and the data do not overlap or too few points remain."""
    be = spectrum[DIM].values
    if be.size < 2:
        raise FitError("spectrum has fewer than 2 points", **_spectrum_where(spectrum))
    dmin, dmax = float(be.min()), float(be.max())
    if recipe.range is None:
        lo, hi = dmin, dmax
    else:
        lo, hi = recipe.range
        if hi < dmin or lo > dmax:
            raise FitError(f"recipe range ({lo:g}, {hi:g}) eV holds no data (the spectrum covers "
                           f"{dmin:g}–{dmax:g} eV); change 'range' in "
                           f"{recipe.source or 'the recipe'}", key="range",
                           **_spectrum_where(spectrum))
        tol = 0.5 * float(abs(be[1] - be[0]))       # half a step: the grid's own rounding
        lo = lo if lo >= dmin - tol else dmin
        hi = hi if hi <= dmax + tol else dmax
    n = int(((be >= lo - 1e-9) & (be <= hi + 1e-9)).sum())
    if n < min_points:
        raise FitError(f"only {n} data points in the fit range ({lo:g}, {hi:g}) eV; need at "
                       f"least {min_points}", key="range", **_spectrum_where(spectrum))
    return lo, hi
