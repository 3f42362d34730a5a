"""Pure edits of a Recipe (no Qt): every GUI edit becomes ``new = edit(old, ...)`` so it can be
undone by putting ``old`` back, and so a fit done in the GUI is reproducible from the saved TOML.

Only plain fields of the public recipe dataclasses are touched; the input is never mutated.
"""
from __future__ import annotations

import copy
import math

import xpsfit

#: the table's editable quantities; "link:<quantity>" cells take CasaXPS links (A*0.5, B+1.18)
LINK_FIELDS = tuple(f"link:{q}" for q in xpsfit.LINK_QUANTITIES)
FIELDS = ("position", "fwhm", "area", "window_lo", "window_hi", "fwhm_lo", "fwhm_hi",
          "fixed", "shape", "lineshape", "shape_vary") + LINK_FIELDS

#: the core's registries (one list for GUI, CLI and recipe checks)
LINESHAPES = list(xpsfit.LINESHAPES)
BACKGROUNDS = list(xpsfit.BACKGROUNDS)

def _copy(recipe):
    """Deep copy that shares the library: it is reference data, never edited here, and
    copying it would cost more than the rest of the recipe together."""
    return copy.deepcopy(recipe, {id(recipe.library): recipe.library})


def _component(recipe, species: str):
    for c in recipe.components:
        if c.species == species:
            return c
    raise xpsfit.RecipeError(f"no component {species!r} in the recipe "
                             f"(have {', '.join(c.species for c in recipe.components)})",
                             path=recipe.source or None, key="components")


def edit_component(recipe, species: str, field: str, value):
    """Return a copy of ``recipe`` with one quantity of one component changed.

    Start values that leave their bounds carry the bounds along (a dragged marker moves its
    window with it) instead of being refused; bounds that would exclude the start are refused
    with a RecipeError naming the component.
    """
    if field not in FIELDS:
        raise ValueError(f"unknown field {field!r}")
    if field == "fixed":
        return xpsfit.set_fixed(recipe, species, bool(value))
    if field == "shape":
        return xpsfit.set_shape(recipe, species, str(value))
    if field == "lineshape":
        return xpsfit.set_lineshape(recipe, species, str(value))
    if field == "shape_vary":
        # ticked: the row's own parameters (not the recipe's shared ones); unticked: back to
        # the recipe's rule when that holds them (the TOML stays minimal), else held
        if value:
            return xpsfit.set_shape_vary(recipe, species, True)
        rule = xpsfit.shape_varies(xpsfit.set_shape_vary(recipe, species, None), species)
        return xpsfit.set_shape_vary(recipe, species, False if rule else None)
    if field in LINK_FIELDS:
        return xpsfit.set_link(recipe, species, field.split(":", 1)[1], str(value))
    new = _copy(recipe)
    c = _component(new, species)
    key = f"components.{species}.{field}"
    v = float(value)
    if not math.isfinite(v):
        raise xpsfit.RecipeError(f"{field} must be a finite number, not {value!r}", key=key)
    lo, hi = c.window
    flo, fhi = c.fwhm_bounds
    if field == "position":
        if not lo <= v <= hi:
            d = v - c.position
            c.window = (lo + d, hi + d)
        c.position = v
    elif field == "fwhm":
        if v <= 0:
            raise xpsfit.RecipeError(f"FWHM must be > 0, not {v}", key=key)
        c.fwhm = v
        c.fwhm_bounds = (min(flo, v), max(fhi, v))
    elif field == "area":
        if v < 0:
            raise xpsfit.RecipeError(f"area must be ≥ 0, not {v}", key=key)
        c.area = v
    elif field == "window_lo":
        if v >= c.position:
            raise xpsfit.RecipeError(f"lower bound {v} must be below the start position "
                                     f"{c.position}", key=key)
        c.window = (v, hi)
    elif field == "window_hi":
        if v <= c.position:
            raise xpsfit.RecipeError(f"upper bound {v} must be above the start position "
                                     f"{c.position}", key=key)
        c.window = (lo, v)
    elif field == "fwhm_lo":
        if not 0 < v <= c.fwhm:
            raise xpsfit.RecipeError(f"lower FWHM bound {v} must be in (0, {c.fwhm}]", key=key)
        c.fwhm_bounds = (v, fhi)
    elif field == "fwhm_hi":
        if v < c.fwhm:
            raise xpsfit.RecipeError(f"upper FWHM bound {v} must be ≥ the start FWHM {c.fwhm}",
                                     key=key)
        c.fwhm_bounds = (flo, v)
    return new


def with_range(recipe, lo: float, hi: float):
    return xpsfit.set_range(recipe, lo, hi)


def with_lineshape(recipe, lineshape: str):
    new = _copy(recipe)
    new.lineshape = lineshape
    return new


def with_background(recipe, background_type: str):
    return xpsfit.set_background(recipe, type=background_type)


def with_species(recipe, species: list[str]):
    """Keep the recipe's own specs for species it already has; add library defaults for new
    ones (built through :func:`xpsfit.recipe_from_dict`, so defaults match the CLI's)."""
    new = _copy(recipe)
    have = {c.species: c for c in new.components}
    missing = [s for s in species if s not in have]
    if missing:
        extra = xpsfit.recipe_from_dict({"region": new.region, "library": new.library_name,
                                         "components": [{"species": s} for s in missing]},
                                        source="(GUI)")
        have.update({c.species: c for c in extra.components})
    new.components = [have[s] for s in species]
    return new


def new_recipe(library: str, region: str, species: list[str], lineshape: str,
               background: str):
    """The CLI's ``recipe init`` recipe: library species, default shape and default range."""
    return xpsfit.start_recipe(library, region, species, lineshape=lineshape,
                               background=background, source="(GUI)")
