"""Edits of a Recipe as pure functions: ``new = edit(old, ...)``, ``old`` never changed.

One set of edits for the GUI, the CLI and scripts. Every structural edit goes through
:func:`~xpsfit.recipe.spec.recipe_to_dict` → change the plain data → ``recipe_from_dict``, so an
edit is validated by exactly the checks (and one-line :class:`RecipeError` messages) a TOML file
gets, and the saved TOML reproduces the edited recipe.

Links may be written in CasaXPS's vocabulary, where the rows of the component table are lettered
A, B, C, … and a cell of component X holds ``A*0.5`` (area or FWHM: a factor of A's) or
``B+1.18`` (position: an offset from B's, in eV binding energy as shown), or in the expression
form of the recipes (``0.5 * area(PS4)``).
"""
from __future__ import annotations

import math
import re

from ..errors import RecipeError
from .links import BASE_QUANTITIES, parse_link
from .library import load_library
from .spec import Recipe, recipe_from_dict, recipe_to_dict, shape_params

#: quantities a link of the component table can set
LINK_QUANTITIES = ("position", "fwhm", "area")

_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(([^()]*)\)")
# CasaXPS constraint cell: a row letter, optionally one operator and a number
_CASA = re.compile(r"^\s*([A-Za-z])\s*(?:([*/+-])\s*([0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?))?\s*$")
_NUMBER = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")


def _where(recipe: Recipe) -> dict:
    return {"path": recipe.source or None}


def _rebuild(recipe: Recipe, data: dict) -> Recipe:
    """The recipe of ``data``, checked as a file would be, on the same (already loaded) library."""
    return recipe_from_dict(data, source=recipe.source,
                            library=recipe.library if recipe.library_name else None)


def _index(recipe: Recipe, name: str) -> int:
    for i, c in enumerate(recipe.components):
        if c.species == name:
            return i
    raise RecipeError(f"no component {name!r} in the recipe (have "
                      f"{', '.join(c.species for c in recipe.components)})",
                      key="components", **_where(recipe))


def _check_name(recipe: Recipe, name: str) -> str:
    name = str(name).strip()
    if not name:
        raise RecipeError("a component needs a name", key="components", **_where(recipe))
    return name


def row_letter(index: int) -> str:
    """CasaXPS letters the components A, B, …, Z, then AA, AB, …"""
    out = ""
    index += 1
    while index:
        index, r = divmod(index - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def references(recipe: Recipe, name: str) -> list[str]:
    """Links and prior targets of ``recipe`` that mention component ``name`` (or an alias)."""
    spellings = {k for k, v in recipe.species_map().items() if v == name} | {name}
    texts = list(recipe.links) + [p.target for p in recipe.priors]
    return [t for t in texts if any(m.group(2).strip() in spellings for m in _CALL.finditer(t))]


def _rename_in(text: str, spellings: set[str], new: str) -> str:
    return _CALL.sub(lambda m: f"{m.group(1)}({new})" if m.group(2).strip() in spellings
                     else m.group(0), text)


# ------------------------------------------------------------------------------ components
def add_component(recipe: Recipe, name: str, *, position: float | None = None,
                  species: str | None = None, **fields) -> Recipe:
    """Append a component. ``species`` (a library key) starts it from the library, under
    ``name`` when that species is already in the recipe; without it the component is free and
    needs a ``position``. ``fields`` are recipe keys of ``[[components]]`` (``label``,
    ``fwhm``, ``window``, ``splitting``, ``ratio``, ``lineshape``, ``shape``, ``area``, …)."""
    name = _check_name(recipe, name)
    data = recipe_to_dict(recipe)
    comp: dict = {"species": species} if species else {}
    if not species or name != species:
        comp["name"] = name
    if position is not None:
        comp["position"] = float(position)
        if species and "window" not in fields:
            # the library window travels with a moved start, as a dragged marker's does
            try:
                sp = recipe.library.region(recipe.region).get(species)
            except Exception:  # noqa: BLE001 - recipe_from_dict names the unknown species
                sp = None
            if sp is not None:
                d = float(position) - sp.position
                comp["window"] = [sp.window[0] + d, sp.window[1] + d]
    comp.update({k: v for k, v in fields.items() if v is not None})
    data["components"].append(comp)
    return _rebuild(recipe, data)


def delete_component(recipe: Recipe, name: str) -> Recipe:
    """Remove a component and the links and priors that mention it (undo brings them back)."""
    i = _index(recipe, name)
    if len(recipe.components) == 1:
        raise RecipeError(f"cannot delete {name!r}: a recipe needs at least one component",
                          key="components", **_where(recipe))
    gone = set(references(recipe, name))
    data = recipe_to_dict(recipe)
    del data["components"][i]
    data.pop("links", None)
    if recipe.links:
        kept = [t for t in recipe.links if t not in gone]
        if kept:
            data["links"] = kept
    if "priors" in data:
        data["priors"] = [p for p in data["priors"] if p["target"] not in gone]
    return _rebuild(recipe, data)


def _free_name(recipe: Recipe, base: str) -> str:
    taken = {c.species for c in recipe.components}
    k = 2
    while f"{base}_{k}" in taken:
        k += 1
    return f"{base}_{k}"


def duplicate_component(recipe: Recipe, name: str, new_name: str | None = None) -> Recipe:
    """A copy of component ``name`` right after it, called ``new_name`` (default ``name_2``);
    the copy has no links of its own."""
    i = _index(recipe, name)
    new_name = _check_name(recipe, new_name) if new_name else _free_name(recipe, name)
    data = recipe_to_dict(recipe)
    copy = dict(data["components"][i])
    copy["name"] = new_name
    copy["label"] = new_name    # two rows with one label could not be told apart
    data["components"].insert(i + 1, copy)
    return _rebuild(recipe, data)


def rename_component(recipe: Recipe, name: str, new_name: str, *,
                     label: str | None = None) -> Recipe:
    """Give component ``name`` a new key (links and priors follow) and optionally a label."""
    i = _index(recipe, name)
    new_name = _check_name(recipe, new_name)
    spellings = {k for k, v in recipe.species_map().items() if v == name} | {name}
    data = recipe_to_dict(recipe)
    comp = data["components"][i]
    if new_name != name:
        if "species" in comp:
            comp["species"] = recipe.components[i].library_species or comp["species"]
            if comp["species"] == new_name:
                comp.pop("name", None)
            else:
                comp["name"] = new_name
        else:
            comp["name"] = new_name
        if comp.get("label") == name:
            comp["label"] = new_name
        if "links" in data:
            data["links"] = [_rename_in(t, spellings, new_name) for t in data["links"]]
        for p in data.get("priors", []):
            p["target"] = _rename_in(p["target"], spellings, new_name)
    if label is not None:
        comp["label"] = label
    return _rebuild(recipe, data)


def is_fixed(recipe: Recipe, name: str) -> bool:
    """True when the position of ``name`` is set to a number by a link and its FWHM is fixed."""
    c = recipe.components[_index(recipe, name)]
    return (not c.fwhm_vary) and bool(_NUMBER.match(link_of(recipe, name, "position")))


def set_fixed(recipe: Recipe, name: str, fixed: bool = True, *, position: float | None = None,
              fwhm: float | None = None, area: float | None = None) -> Recipe:
    """Fix (or free) the position and FWHM of ``name``, at ``position``/``fwhm`` or at its start
    values. The position is fixed by the link ``position(name) = value`` (no artificial window
    is saved); freeing it drops that link and gives the FWHM its bounds back."""
    i = _index(recipe, name)
    spec = recipe.components[i]
    data = recipe_to_dict(recipe)
    c = data["components"][i]
    links = [t for t in data.get("links", []) if _target(recipe, t) != (name, "position")]
    if fixed:
        pos = float(spec.position if position is None else position)
        width = float(spec.fwhm if fwhm is None else fwhm)
        if not (math.isfinite(pos) and math.isfinite(width) and width > 0):
            raise RecipeError(f"{name}: cannot fix at position {pos:g}, FWHM {width:g}",
                              key=f"components.{name}", **_where(recipe))
        lo, hi = c["window"]
        c["position"] = pos
        c["window"] = [min(lo, pos), max(hi, pos)]
        c["fwhm"] = width
        c.pop("fwhm_start", None)
        if area is not None and math.isfinite(area) and area >= 0:
            c["area"] = float(area)
        links.append(f"position({name}) = {pos!r}")
    elif not spec.fwhm_vary:
        lo, hi = spec.fwhm_bounds
        c["fwhm"] = [min(lo, spec.fwhm), max(hi, spec.fwhm)]
        c["fwhm_start"] = spec.fwhm
    data.pop("links", None)
    if links:
        data["links"] = links
    return _rebuild(recipe, data)


def fix_at_fitted(recipe: Recipe, result, name: str) -> Recipe:
    """Component ``name`` fixed at its fitted position and FWHM from ``result`` (its area starts
    at the fitted area)."""
    comp = next((c for c in result.components if c.species == name), None)
    if comp is None:
        raise RecipeError(f"the fit has no component {name!r}; fit first", key="components",
                          **_where(recipe))
    return set_fixed(recipe, name, True, position=comp.position, fwhm=comp.fwhm, area=comp.area)


# ------------------------------------------------------------------------------ links
def _target(recipe: Recipe, text: str) -> tuple[str, str] | None:
    """(component, quantity) a link sets, or None when it does not parse."""
    m = _CALL.match(text.strip())
    if m is None:
        return None
    return recipe.species_map().get(m.group(2).strip(), m.group(2).strip()), m.group(1)


def link_of(recipe: Recipe, name: str, quantity: str) -> str:
    """The right side of the link that sets ``quantity(name)``, ``""`` when none does."""
    for t in recipe.links:
        if _target(recipe, t) == (name, quantity):
            return t.split("=", 1)[1].strip()
    return ""


def casa_link(recipe: Recipe, name: str, quantity: str, text: str) -> str:
    """The recipe link for what the user typed in the ``quantity`` cell of component ``name``:
    CasaXPS form (``A*0.5``, ``B+1.18``, ``A``), an expression (``0.5 * area(PS4)``), a
    number (fixes it) or a whole link. Raises RecipeError (one line) for anything else."""
    text = str(text).strip()
    if quantity not in BASE_QUANTITIES:
        raise RecipeError(f"unknown quantity {quantity!r}; valid: {', '.join(BASE_QUANTITIES)}",
                          key="links", **_where(recipe))
    if "=" in text:
        return text
    m = _CASA.match(text)
    if m is None:
        if _NUMBER.match(text) or _CALL.search(text):
            return f"{quantity}({name}) = {text}"
        raise RecipeError(f"cannot read link {text!r} for {quantity}({name}): write a row "
                          f"letter with *factor or ±offset (A*0.5, B+1.18) or an expression "
                          f"such as 0.5 * {quantity}(…)", key="links", **_where(recipe))
    letter, op, number = m.group(1).upper(), m.group(2), m.group(3)
    letters = {row_letter(i): c.species for i, c in enumerate(recipe.components)}
    if letter not in letters:
        raise RecipeError(f"no row {letter} in the component table (rows "
                          f"{', '.join(letters)})", key="links", **_where(recipe))
    ref = letters[letter]
    if op is None:
        return f"{quantity}({name}) = {quantity}({ref})"
    return f"{quantity}({name}) = {quantity}({ref}) {op} {number}"


def set_link(recipe: Recipe, name: str, quantity: str, text: str) -> Recipe:
    """Set (or with empty ``text`` remove) the link of ``quantity(name)``; see
    :func:`casa_link` for what ``text`` may be."""
    _index(recipe, name)
    kept = [t for t in recipe.links if _target(recipe, t) != (name, quantity)]
    if str(text).strip():
        link = casa_link(recipe, name, quantity, text)
        try:
            target, _ = parse_link(link, recipe.species_map())
        except RecipeError as exc:
            raise RecipeError(exc.message, key="links", **_where(recipe)) from None
        if _target(recipe, link) != (name, quantity):
            raise RecipeError(f"link {link!r} does not set {quantity}({name})", key="links",
                              **_where(recipe))
        kept.append(link)
    data = recipe_to_dict(recipe)
    data.pop("links", None)
    if kept:
        data["links"] = kept
    return _rebuild(recipe, data)


def set_prior(recipe: Recipe, target: str, value: float | None, sigma: float | None = None
              ) -> Recipe:
    """Add or replace the prior on ``target`` (an expression such as ``position(S0)``); a
    ``value`` of None removes it."""
    data = recipe_to_dict(recipe)
    priors = [p for p in data.get("priors", []) if p["target"].replace(" ", "")
              != str(target).replace(" ", "")]
    if value is not None:
        priors.append({"target": str(target).strip(), "value": value, "sigma": sigma})
    data.pop("priors", None)
    if priors:
        data["priors"] = priors
    return _rebuild(recipe, data)


_PRIOR_TEXT = re.compile(r"^(?P<target>[^=]+)=\s*(?:(?P<value>[-+]?[0-9.]+(?:[eE][-+]?\d+)?)\s*"
                         r"(?:±|\+/-|\+-)\s*(?P<sigma>[0-9.]+(?:[eE][-+]?\d+)?))?\s*$")


def set_prior_text(recipe: Recipe, text: str) -> Recipe:
    """``"position(S0) - position(PS4) = 1.5 ± 0.2"`` adds (or replaces) that prior; ``"target ="``
    removes it. ``+/-`` may stand for ±."""
    m = _PRIOR_TEXT.match(str(text).strip())
    if m is None:
        raise RecipeError(f"cannot read prior {text!r}: write target = value ± sigma, e.g. "
                          "position(S0) - position(PS4) = 1.5 ± 0.2", key="priors",
                          **_where(recipe))
    target = m.group("target").strip()
    value = m.group("value")
    try:
        return set_prior(recipe, target, float(value) if value else None,
                         float(m.group("sigma")) if value else None)
    except ValueError:
        raise RecipeError(f"cannot read the numbers of prior {text!r}", key="priors",
                          **_where(recipe)) from None


def set_shape(recipe: Recipe, name: str, values: dict | str | None) -> Recipe:
    """Shape parameters of one component (``{"eta": 0.3}`` or ``"eta=0.3"``, or a bare number
    for its line shape's first parameter); empty or None goes back to the recipe's shape."""
    i = _index(recipe, name)
    spec = recipe.components[i]
    lineshape = spec.lineshape or recipe.lineshape
    if isinstance(values, str):
        values = _shape_text(recipe, name, lineshape, values)
    data = recipe_to_dict(recipe)
    c = data["components"][i]
    c.pop("shape", None)
    if values:
        c["shape"] = dict(values)
    return _rebuild(recipe, data)


def set_shape_vary(recipe: Recipe, name: str, vary: bool | None) -> Recipe:
    """Fit (True) or hold (False) the shape parameters of one component, each its own; None
    goes back to the recipe's rule (``shape_vary`` of the recipe: one value for all)."""
    i = _index(recipe, name)
    data = recipe_to_dict(recipe)
    c = data["components"][i]
    c.pop("shape_vary", None)
    if vary is not None:
        c["shape_vary"] = bool(vary)
    return _rebuild(recipe, data)


def shape_varies(recipe: Recipe, name: str) -> bool:
    """True when the fit adjusts the shape parameters of ``name`` (its own or the recipe's)."""
    spec = recipe.components[_index(recipe, name)]
    if spec.shape_vary is not None:
        return spec.shape_vary
    lineshape = spec.lineshape or recipe.lineshape
    return recipe.shape_vary and any(n not in spec.shape for n in shape_params(lineshape))


def set_lineshape(recipe: Recipe, name: str, lineshape: str | None) -> Recipe:
    """The line shape of one component (a name of the registry); empty or None goes back to
    default (its library species', else the recipe's). Shape values the new line shape does
    not have are dropped."""
    i = _index(recipe, name)
    data = recipe_to_dict(recipe)
    c = data["components"][i]
    c.pop("lineshape", None)
    lineshape = str(lineshape or "").strip()
    if lineshape:
        c["lineshape"] = lineshape
    known = shape_params(lineshape or recipe.lineshape)
    if "shape" in c:
        c["shape"] = {k: v for k, v in c["shape"].items() if k in known}
        if not c["shape"]:
            del c["shape"]
    return _rebuild(recipe, data)


def component_lineshape(recipe: Recipe, name: str) -> str:
    """The line shape ``name`` is fitted with (its own, else the recipe's)."""
    spec = recipe.components[_index(recipe, name)]
    return spec.lineshape or recipe.lineshape


def _shape_text(recipe: Recipe, name: str, lineshape: str, text: str) -> dict:
    out: dict = {}
    names = list(shape_params(lineshape))
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.rpartition("=")
        key = key.strip() or (names[0] if names else "")
        try:
            out[key] = float(value)
        except ValueError:
            raise RecipeError(f"{name}: cannot read shape {part!r}; write e.g. "
                              f"{(names or ['eta'])[0]}=0.3", key=f"components.{name}.shape",
                              **_where(recipe)) from None
    return out


def shape_text(recipe: Recipe, name: str) -> str:
    """The shape parameters a component is fitted with, as ``"eta=0.2"`` (its own, else the
    recipe's)."""
    spec = recipe.components[_index(recipe, name)]
    values = dict(recipe.shape) if not spec.lineshape else {}
    values.update(spec.shape)
    return ", ".join(f"{k}={v:g}" for k, v in values.items())


# ------------------------------------------------------------------------------ region
def start_recipe(library: str, region: str, species: list[str] | None = None, *,
                 lineshape: str = "pseudo_voigt", background: str = "shirley",
                 shape_vary: bool = True, source: str = "(new)") -> Recipe:
    """A new recipe from a library region: its species (all by default), the line shape's
    default shape parameters and the region's default range (``xpsfit recipe init`` and the
    GUI's library/region choice).

    ``shape_vary``: the shape parameters are fitted, one value shared by the components (and by
    a joint series), starting from the default. Measured, not assumed: holding η at 0.2 where the
    data have another shape biased fractions by up to 40 pp with σ that did not cover it
    (docs/recipes.md, "Line-shape default"); ``False`` holds them at the default."""
    lib = load_library(library)
    reg = lib.region(region)
    keys = list(species) if species else list(reg.species)
    data = {"region": reg.name, "library": library, "lineshape": lineshape,
            "shape_vary": bool(shape_vary),
            "components": [{"species": k} for k in keys], "background": {"type": background}}
    defaults = {k: v[0] for k, v in shape_params(lineshape).items()
                if v[0] == v[0]}   # NaN defaults (registry missing) are left out
    if defaults:
        data["shape"] = defaults
    if reg.default_range:
        data["range"] = list(reg.default_range)
    return recipe_from_dict(data, source=source, library=lib)


def set_range(recipe: Recipe, lo: float | None, hi: float | None = None) -> Recipe:
    """The fit range; ``lo = None`` removes it (the whole spectrum is fitted)."""
    data = recipe_to_dict(recipe)
    data.pop("range", None)
    if lo is not None:
        if hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
            raise RecipeError(f"range needs two different finite energies, not ({lo}, {hi})",
                              key="range", **_where(recipe))
        data["range"] = [float(min(lo, hi)), float(max(lo, hi))]
    return _rebuild(recipe, data)


def default_range(recipe: Recipe) -> tuple[float, float] | None:
    """The library's range for the recipe's region, or None when it has none."""
    try:
        r = recipe.library.region(recipe.region).default_range
    except Exception:  # noqa: BLE001 - a free-only recipe's region has no library entry
        return None
    return tuple(r) if r else None


def set_background(recipe: Recipe, **fields) -> Recipe:
    """Background type and parameters by their recipe keys (``type``, ``endpoints``,
    ``tougaard_B``, ``tougaard_C``, ``tougaard_fit_B``, ``tougaard_C_prime``, ``tougaard_D``,
    ``tol``, ``max_iter``)."""
    data = recipe_to_dict(recipe)
    data["background"].update(fields)
    return _rebuild(recipe, data)
