"""Charge referencing in the region being fitted: fit, shift the axis, refit.

:func:`fit_referenced` is what :func:`xpsfit.fit` does when the recipe's ``[charge_reference]``
names a line of the recipe's own region; the references in another region of the same
acquisition are :mod:`xpsfit.fitting.charge`. The shift is ``energy − fitted position`` of the
reference species, applied with :func:`xpsfit.spectrum.shift` (the binding-energy axis moves and
``attrs["charge_shift"]`` records the cumulative shift), never by editing fitted positions.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import xarray as xr

from ..errors import FitError
from ..recipe.naming import param_name
from ..recipe.spec import ChargeReference, Recipe
from ..results import FitResult, Notice
from ..spectrum import region_key, shift

#: the refit stops when the reference line is this close to its assigned energy (eV)
TOLERANCE = 1e-3
#: at most this many refits on shifted axes (the range crop may take other points after a shift)
MAX_REFITS = 3


def reference_shift(result: FitResult, reference: ChargeReference) -> float:
    """Shift (eV) that puts the reference species at its assigned energy:
    ``reference.energy − fitted position`` (2p3/2 for doublets)."""
    try:
        comp = result.component(reference.species)
    except KeyError:
        species = ", ".join(c.species for c in result.components)
        raise FitError(f"charge reference species {reference.species!r} is not a component of "
                       f"the {result.recipe.region} fit (components: {species})",
                       path=str(result.spectrum.attrs.get("source_file", "")) or None,
                       block=result.spectrum.attrs.get("block_index"),
                       key="charge_reference") from None
    if not math.isfinite(comp.position):
        raise FitError(f"charge reference {reference.species!r} has no fitted position",
                       key="charge_reference")
    return float(reference.energy) - float(comp.position)


def references_own_region(recipe: Recipe) -> bool:
    """True when the recipe's charge reference lies in the region the recipe fits."""
    cr = recipe.charge_reference
    return cr is not None and region_key(cr.region) == region_key(recipe.region)


def fit_referenced(spectrum: xr.DataArray, recipe: Recipe,
                   fit_once: Callable[[xr.DataArray], FitResult]) -> FitResult:
    """Fit, shift the spectrum by :func:`reference_shift`, refit on the shifted axis.

    The returned result is an honest fit of the shifted spectrum (positions, curves, windows
    and bounds all on the referenced axis), not an unshifted fit with its positions moved.
    Refits repeat (at most :data:`MAX_REFITS`) while the reference line is more than
    :data:`TOLERANCE` from its energy, because the recipe range may crop other points once the
    axis moved. ``result.charge_reference`` records the measured position and the shift."""
    cr = recipe.charge_reference
    result = fit_once(spectrum)
    measured = result.component(cr.species).position if _has(result, cr) else math.nan
    first_at_edge = _reference_at_bound(result, cr)
    current = spectrum
    base = float(spectrum.attrs.get("charge_shift", 0.0))
    tried: list[tuple[float, float]] = []        # (shift applied so far, fitted position)
    for _ in range(MAX_REFITS):
        delta = reference_shift(result, cr)
        if abs(delta) <= TOLERANCE and current is not spectrum:
            break
        tried.append((float(current.attrs.get("charge_shift", 0.0)) - base,
                      float(result.component(cr.species).position)))
        current = shift(current, _secant_step(tried, delta))
        result = fit_once(current)
    # measured on the axis as acquired, shift = the spectrum's whole charge shift: the same
    # numbers whether or not the spectrum came in already shifted (a calibration's pre-shift)
    result.charge_reference = _record(cr, measured - base,
                                      float(current.attrs.get("charge_shift", 0.0)), spectrum)
    left = reference_shift(result, cr)
    if abs(left) > TOLERANCE:
        result.warnings.append(Notice(
            f"charge reference {cr.species} is at {cr.energy - left:.4f} eV after "
            f"{MAX_REFITS} refits, {abs(left) * 1000:.1f} meV from {cr.energy:g} eV (the "
            "windows in the referenced scale pull it)", "charge_reference", cr.species))
    if first_at_edge:
        result.warnings.append(Notice(f"charge reference {cr.species} was at its window edge "
                                      "before the shift: the shift may be underestimated (widen "
                                      "its window)", "charge_reference", cr.species))
    return result


def _secant_step(tried: list[tuple[float, float]], delta: float) -> float:
    """Next shift: ``delta`` if the line moved rigidly with the axis; when it moved less (the
    recipe's windows and range stay put in the referenced scale and pull the line), the
    slope of position against applied shift from the last two fits scales the step, so the
    refits converge in two or three steps instead of geometrically."""
    if len(tried) < 2:
        return delta
    (s0, p0), (s1, p1) = tried[-2:]
    slope = (p1 - p0) / (s1 - s0) if s1 != s0 else 1.0
    return delta / slope if 0.2 < slope < 2.0 else delta


def _has(result: FitResult, cr: ChargeReference) -> bool:
    return any(c.species == cr.species for c in result.components)


def _reference_at_bound(result: FitResult, cr: ChargeReference) -> bool:
    rec = result.parameters.get(param_name(cr.species, "position"))
    return bool(rec is not None and rec.at_bound)


def _record(cr: ChargeReference, measured: float, applied: float,
            spectrum: xr.DataArray) -> dict:
    """What the domain notes ask to store with every result: method, line, measured position,
    assigned value, applied shift."""
    return {"method": "internal reference line", "region": cr.region, "species": cr.species,
            "measured": float(measured), "assigned": float(cr.energy), "shift": float(applied),
            "source_file": str(spectrum.attrs.get("source_file", "")),
            "sample": str(spectrum.attrs.get("sample", ""))}


__all__ = ["reference_shift", "fit_referenced", "references_own_region", "TOLERANCE",
           "MAX_REFITS"]
