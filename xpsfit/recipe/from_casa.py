"""A CasaXPS model (``CASA region`` + ``CASA comp`` lines of a VAMAS block) as an xpsfit recipe.

What carries over, and how (docs/interop.md has the table):

* line shapes: GL(p) -> ``gl_product`` m = p/100, SGL(p) -> ``gl_sum`` m = p/100,
  LA(α,β,m) -> ``la_casa`` (α, β, m) when that shape is registered, LA(α,β) -> ``la_casa`` m = 0.
  Anything else (LF, DS, GL with a tail, ...) is refused with one line naming the shape.
* widths: CasaXPS stores the MEASURED FWHM ("MFWHM"); the recipe holds the shape's width
  parameter, found by inverting :func:`xpsfit.numerics.lineshapes.true_fwhm` numerically (value and bounds).
* links: a component following component k (CasaXPS's ``A*0.5``, ``A+1.2``, stored as index and
  factor) becomes ``area(x) = 0.5 * area(A)``, ``fwhm(x) = f * fwhm(A)`` (the factor is on measured
  widths and converted to width parameters) or ``position(x) = position(A) - d`` (CasaXPS offsets
  are on its kinetic-energy scale, so the BE offset has the opposite sign).
* bounds: position ranges become windows (already in BE), width ranges fwhm bounds; the CasaXPS
  area (counts per second · eV, see :func:`counts_per_casa_area`) is the start area; its
  bounds are not carried over (xpsfit areas are only kept ≥ 0).
* the region: its limits become ``range``, its background the background (Shirley, Linear,
  U 2 / U 3 Tougaard with the stored cross-section), ``Av Width`` the end-point averaging
  (CasaXPS averages 2·AvWidth + 1 points centred on each tie point; xpsfit averages as many
  points inside the range).
* energies: positions are in CasaXPS's calibrated frame, which is the frame ``read`` returns
  (:func:`xpsfit.io.casa.apply_calibration`).
"""
from __future__ import annotations

import math
import re

import xarray as xr

from ..errors import RecipeError
from ..io.casa import CasaComponent, CasaRegion, casa_components, casa_regions, counts_per_casa_area
from ..numerics.lineshapes import width_for_fwhm
from .naming import species_prefix
from .spec import Recipe, recipe_from_dict

#: the half-width (eV) given to a position CasaXPS holds fixed (lmfit needs min < max)
FIXED_HALF_WIDTH = 1e-4
#: the window (eV either side) of a position CasaXPS leaves unbounded or ties to another
FREE_HALF_WIDTH = 2.0

_SHAPE = re.compile(r"^\s*([A-Za-z]+)\s*\(([^()]*)\)\s*$")


def _where(spectrum: xr.DataArray) -> dict:
    a = spectrum.attrs
    return {"path": a.get("source_file") or None, "block": a.get("block_index")}


def lineshape_of(text: str, spectrum: xr.DataArray | None = None) -> tuple[str, dict[str, float]]:
    """CasaXPS line-shape text -> (xpsfit line shape, shape parameters)."""
    where = _where(spectrum) if spectrum is not None else {}
    m = _SHAPE.match(text)
    if not m:
        raise RecipeError(f"CasaXPS line shape {text!r} is not of the form NAME(p, ...)",
                          key="CASA comp", **where)
    name, args = m.group(1).upper(), m.group(2)
    try:
        values = [float(v) for v in args.split(",")] if args.strip() else []
    except ValueError:
        raise RecipeError(f"CasaXPS line shape {text!r} has a non-numeric parameter",
                          key="CASA comp", **where) from None
    if name in ("GL", "SGL") and len(values) == 1:
        return ("gl_product" if name == "GL" else "gl_sum"), {"m": values[0] / 100.0}
    if name == "LA" and len(values) in (2, 3):
        alpha, beta = values[:2]
        return "la_casa", {"alpha": alpha, "beta": beta,
                           "m": values[2] if len(values) == 3 else 0.0}
    raise RecipeError(f"CasaXPS line shape {text} has no xpsfit equivalent (GL(p), SGL(p) and "
                      "LA(a,b,m) are converted)", key="CASA comp", **where)


def _keys(components: list[CasaComponent]) -> list[str]:
    """Distinct component keys from CasaXPS names (which may repeat, e.g. four "Fe 2p")."""
    keys: list[str] = []
    for c in components:
        base = re.sub(r"[()]", "_", c.name.strip()) or "comp"
        key, n = base, 1
        while any(species_prefix(key) == species_prefix(k) for k in keys):
            n += 1
            key = f"{base}_{n}"
        keys.append(key)
    return keys


def _pick_region(regions: list[CasaRegion], name: str | None, spectrum) -> CasaRegion:
    if not regions:
        raise RecipeError("block has no CasaXPS region (no 'CASA region' line)",
                          key="CASA region", **_where(spectrum))
    if name is None:
        return regions[0]
    for r in regions:
        if r.name.strip().lower() == name.strip().lower():
            return r
    raise RecipeError(f"no CasaXPS region {name!r} in the block; regions: "
                      f"{', '.join(r.name for r in regions)}", key="CASA region",
                      **_where(spectrum))


def _background(region: CasaRegion, spectrum) -> dict:
    kind = region.background.strip()
    cs = region.cross_section
    # CasaXPS averages 2·AvWidth + 1 points around each tie point (its help, Regions page)
    out: dict = {"endpoints": max(1, 2 * int(round(region.av_width)) + 1)}
    if region.start_offset or region.end_offset:
        raise RecipeError(f"CasaXPS region {region.name!r} has end-point offsets "
                          f"({region.start_offset:g} %, {region.end_offset:g} %), which xpsfit "
                          "backgrounds do not have", key="CASA region", **_where(spectrum))
    if kind.lower() == "shirley":
        out["type"] = "shirley"
    elif kind.lower() == "linear":
        out["type"] = "linear"
    elif kind == "U 2 Tougaard" and len(cs) >= 2 and cs[0] > 0 and cs[1] > 0:
        out.update(type="tougaard", tougaard_B=cs[0], tougaard_C=cs[1])
    elif kind == "U 3 Tougaard" and len(cs) >= 3 and cs[0] > 0 and cs[1] > 0:
        # K(T) = B·T/((C − T²)² + D·T²)
        out.update(type="tougaard", tougaard_B=cs[0], tougaard_C=cs[1], tougaard_C_prime=-1.0,
                   tougaard_D=cs[2])
    else:
        raise RecipeError(f"CasaXPS background {kind!r} of region {region.name!r} has no xpsfit "
                          "equivalent (Shirley, Linear, U 2 and U 3 Tougaard are converted)",
                          key="CASA region", **_where(spectrum))
    return out


def recipe_from_casa(spectrum: xr.DataArray, *, region: str | None = None,
                     library: str | None = None) -> Recipe:
    """The recipe that reproduces the CasaXPS model stored in one block (a Spectrum from
    :func:`xpsfit.read`): the named CasaXPS ``region`` (default: the first) and the components
    whose positions lie inside it. ``library`` is recorded when given (for sensitivity factors);
    the components are free components either way. :class:`RecipeError` (one line, naming the
    file and block) for a model that cannot be carried over."""
    where = _where(spectrum)
    frame = str(spectrum.attrs.get("energy_frame", ""))
    if "not applied" in frame:
        raise RecipeError(f"the CasaXPS model is in a calibrated frame the spectrum is not in "
                          f"({frame})", key="Calib", **where)
    if not math.isfinite(float(spectrum.attrs.get("excitation_energy", math.nan))):
        raise RecipeError("CasaXPS stores positions as kinetic energies, and the block states no "
                          "excitation energy to convert them", key="CASA comp", **where)
    reg = _pick_region(casa_regions(spectrum), region, spectrum)
    lo, hi = sorted((reg.start_be, reg.end_be))
    all_comps = casa_components(spectrum)
    if not all_comps:
        raise RecipeError("block has no CasaXPS components (no 'CASA comp' line)",
                          key="CASA comp", **where)
    keys = _keys(all_comps)
    chosen = [i for i, c in enumerate(all_comps) if lo <= c.position_be <= hi]
    if not chosen:
        raise RecipeError(f"no CasaXPS component lies in region {reg.name!r} "
                          f"({lo:g}-{hi:g} eV)", key="CASA comp", **where)
    shapes = {i: lineshape_of(all_comps[i].lineshape, spectrum) for i in chosen}

    def param(i: int, measured: float) -> float:
        ls, shape = shapes[i]
        return width_for_fwhm(ls, measured, **shape) if measured > 0 else measured

    components, links = [], []
    for i in chosen:
        c, key = all_comps[i], keys[i]
        ls, shape = shapes[i]
        d: dict = {"name": key, "label": c.name, "position": c.position_be, "lineshape": ls,
                   "shape": shape}
        if c.area > 0:
            d["area"] = c.area * counts_per_casa_area(spectrum)
        wlo, whi = c.position_min_be, c.position_max_be
        if math.isnan(wlo) or not wlo <= c.position_be <= whi:
            wlo, whi = c.position_be - FREE_HALF_WIDTH, c.position_be + FREE_HALF_WIDTH
        elif whi - wlo < 2 * FIXED_HALF_WIDTH:
            wlo, whi = c.position_be - FIXED_HALF_WIDTH, c.position_be + FIXED_HALF_WIDTH
        d["window"] = [wlo, whi]
        start = param(i, c.fwhm)
        flo, fhi = c.fwhm_bounds
        if fhi <= flo:
            d["fwhm"] = start
        else:
            plo, phi = param(i, flo) if flo > 0 else 1e-3, param(i, fhi)
            d["fwhm"] = [min(plo, start), max(phi, start)]
            d["fwhm_start"] = start
        components.append(d)
        links += _links(i, c, keys, chosen, all_comps, shapes, param)

    data: dict = {"region": reg.name.strip(), "range": [lo, hi],
                  "lineshape": shapes[chosen[0]][0], "background": _background(reg, spectrum),
                  "components": components, "links": links,
                  "description": _description(spectrum, reg)}
    if library:
        data["library"] = library
    source = str(spectrum.attrs.get("source_file", "") or "")
    try:
        return recipe_from_dict(data)
    except RecipeError as exc:
        raise RecipeError(f"CasaXPS model does not make a valid recipe: {exc.message}",
                          path=source or None, block=where["block"], key=exc.key) from None


def _links(i, c, keys, chosen, comps, shapes, param) -> list[str]:
    out = []
    key = keys[i]
    for quantity, (ref, factor) in (("area", c.area_link), ("fwhm", c.fwhm_link),
                                    ("position", c.position_link)):
        if ref < 0 or ref == i:
            continue
        if ref not in chosen:
            raise RecipeError(f"CasaXPS component {c.name!r} is linked to component {ref} "
                              f"outside the region", key="CASA comp")
        other = keys[ref]
        if quantity == "area":
            out.append(f"area({key}) = {factor!r} * area({other})")
        elif quantity == "fwhm":
            # the factor is on measured widths: scale by the two shapes' width ratios
            ref_measured = comps[ref].fwhm
            k = param(i, factor * ref_measured) / param(ref, ref_measured) \
                if ref_measured > 0 else factor
            out.append(f"fwhm({key}) = {k!r} * fwhm({other})")
        else:
            out.append(f"position({key}) = position({other}) - {factor!r}"
                       if factor >= 0 else
                       f"position({key}) = position({other}) + {-factor!r}")
    return out


def _description(spectrum, region: CasaRegion) -> str:
    a = spectrum.attrs
    src = a.get("source_file", "") or "memory"
    frame = a.get("energy_frame", "") or "as in the file"
    return (f"from the CasaXPS model of {src} block {a.get('block_index', '?')}, region "
            f"{region.name.strip()} (energies: {frame})")


def casa_model_spectrum(spectra: list[xr.DataArray], *, block: int | None = None,
                        region: str | None = None, path=None) -> xr.DataArray:
    """The Spectrum to take a CasaXPS model from: VAMAS block number ``block``, else the first
    block with CasaXPS region ``region``, else the first block with a model."""
    if block is not None:
        for s in spectra:
            if s.attrs.get("block_index") == block:
                return s
        raise RecipeError(f"no XPS block {block}; blocks: "
                          f"{', '.join(str(s.attrs.get('block_index')) for s in spectra)}",
                          path=path)
    with_model = [spectra[i] for i in casa_model_blocks(spectra)]
    if region is not None:
        with_model = [s for s in with_model
                      if any(r.name.strip().lower() == region.strip().lower()
                             for r in casa_regions(s))]
    if not with_model:
        raise RecipeError("no block carries a CasaXPS model (CASA region and CASA comp lines)"
                          + (f" with region {region!r}" if region else ""), path=path)
    return with_model[0]


def casa_model_blocks(spectra: list[xr.DataArray]) -> list[int]:
    """Indices (in ``spectra``) of the blocks that carry a CasaXPS model (region and components)."""
    return [i for i, s in enumerate(spectra) if casa_components(s) and casa_regions(s)]


__all__ = ["recipe_from_casa", "casa_model_spectrum", "lineshape_of",
           "casa_model_blocks"]
