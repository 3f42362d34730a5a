"""Charge referencing: one rigid, recorded energy shift per acquisition (xps_domain.md §3).

A recipe's ``[charge_reference]`` names a reference line and the energy assigned to it, e.g.
P 2p PS4³⁻ = 132.0 eV or C 1s C–C = 284.8 eV. The shift is ``energy − fitted position`` of that
species, and it is applied with :func:`xpsfit.spectrum.shift` (the binding-energy axis moves,
``attrs["charge_shift"]`` records the cumulative shift), never by editing fitted positions.

* Reference in the region being fitted (the recipe references its own region):
  :func:`xpsfit.fit` calls :func:`xpsfit.fitting.referencing.fit_referenced` — fit, shift the
  spectrum, refit on the shifted axis with the recipe's windows (which are in the referenced
  scale), until the reference line sits at its energy.
* Reference in another region of the same acquisition (S 2p fitted, P 2p PS4 = 132.0 eV as the
  reference): :func:`apply_reference` groups spectra by acquisition (source file, sample), fits
  the reference region of each with the reference recipe, and shifts every spectrum of that
  acquisition by the same amount before they are fitted.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import xarray as xr

from ..errors import FitError, RecipeError
from ..recipe.spec import ChargeReference, Recipe
from ..results import FitResult
from ..spectrum import region_key, shift
from .referencing import TOLERANCE, fit_referenced, reference_shift, references_own_region
from .single import fit


# ------------------------------------------------------------ reference in another region
@dataclass
class AcquisitionShift:
    """The charge shift of one acquisition, from its reference spectrum's fit."""
    source_file: str
    sample: str
    block_index: int              # block of the reference spectrum
    measured: float               # fitted position of the reference line before the shift
    assigned: float               # the energy the reference line is given
    shift: float                  # assigned − measured, added to every spectrum's BE axis
    result: FitResult             # the reference fit (on the unshifted axis)

    def describe(self, reference: ChargeReference) -> str:
        name = self.source_file.replace("\\", "/").rsplit("/", 1)[-1]
        sample = f" [{self.sample}]" if self.sample else ""
        return (f"{name}{sample}: {reference.region} {reference.species} measured "
                f"{self.measured:.3f} eV, assigned {self.assigned:.3f} eV -> charge shift "
                f"{self.shift:+.3f} eV")


def acquisition_key(spectrum: xr.DataArray) -> tuple[str, str]:
    """Spectra of one acquisition share the source file and the sample name."""
    a = spectrum.attrs
    return str(a.get("source_file", "")), str(a.get("sample", ""))


def reference_recipe(recipes: Recipe | Iterable[Recipe]) -> tuple[Recipe, ChargeReference]:
    """The recipe that fits the reference region, and the reference.

    ``recipes`` may be the reference recipe itself (its ``[charge_reference]`` names its own
    region, e.g. example_spectra/p2p_sulfide.toml with P 2p PS4 = 132.0), or several recipes
    where one names the reference and another fits that region."""
    pool = [recipes] if isinstance(recipes, Recipe) else list(recipes)
    refs = [r.charge_reference for r in pool if r.charge_reference is not None]
    if not refs:
        src = next((r.source for r in pool if r.source), None)
        raise RecipeError("no [charge_reference] section in the reference recipe(s)", path=src,
                          key="charge_reference")
    cr = refs[0]
    for other in refs[1:]:
        if (region_key(other.region), other.species, other.energy) != \
                (region_key(cr.region), cr.species, cr.energy):
            raise RecipeError(f"recipes disagree on the charge reference ({cr.region} "
                              f"{cr.species} = {cr.energy} vs {other.region} {other.species} = "
                              f"{other.energy}): one rigid reference per acquisition",
                              key="charge_reference")
    fitting = [r for r in pool if region_key(r.region) == region_key(cr.region)]
    if not fitting:
        raise RecipeError(f"no recipe fits the charge-reference region {cr.region!r}",
                          key="charge_reference")
    return fitting[0], cr


def acquisition_shifts(spectra: Iterable[xr.DataArray], recipes: Recipe | Iterable[Recipe], *,
                       fit_kwargs: dict | None = None) -> dict[tuple[str, str], AcquisitionShift]:
    """Fit the reference region of every acquisition among ``spectra`` and return its shift,
    keyed by :func:`acquisition_key`. The first reference-region spectrum of an acquisition is
    used (file order). A reference fit that is not trustworthy raises :class:`FitError`: a
    wrong reference would shift every region of the acquisition."""
    recipe, cr = reference_recipe(recipes)
    out: dict[tuple[str, str], AcquisitionShift] = {}
    for s in spectra:
        key = acquisition_key(s)
        if key in out or region_key(s.attrs.get("region", "")) != region_key(cr.region):
            continue
        res = fit(s, _without_reference(recipe), **(fit_kwargs or {}))
        block = int(s.attrs.get("block_index", 0))
        delta = _trusted_shift(res, cr)
        out[key] = AcquisitionShift(key[0], key[1], block, res.component(cr.species).position,
                                    cr.energy, delta, res)
    return out


def _trusted_shift(res: FitResult, cr: ChargeReference) -> float:
    """:func:`reference_shift`, refused (:class:`FitError`) when the reference fit is not
    trustworthy: a wrong reference would shift every region of the acquisition."""
    delta = reference_shift(res, cr)
    comp = res.component(cr.species)
    if not (res.statistics.success and math.isfinite(comp.position_stderr)
            and comp.area > 3.0 * comp.area_stderr):
        why = "; ".join(res.flags) or res.statistics.message or \
            f"{cr.species} is not detected (area within 3σ of zero)"
        raise FitError(f"charge-reference fit of {cr.region} {cr.species} is not "
                       f"trustworthy: {why}",
                       path=str(res.spectrum.attrs.get("source_file", "")) or None,
                       block=int(res.spectrum.attrs.get("block_index", 0)),
                       key="charge_reference")
    return delta


def apply_reference(spectra: Iterable[xr.DataArray], recipes: Recipe | Iterable[Recipe], *,
                    missing: str = "error") -> list[xr.DataArray]:
    """Shift every spectrum by its acquisition's charge shift (same order as given).

    The reference region of each acquisition (source file, sample) is fitted with the
    reference recipe (see :func:`reference_recipe`); every spectrum of that acquisition, the
    reference itself included, gets :func:`xpsfit.spectrum.shift` by ``energy − measured``, and
    ``attrs["charge_reference"]`` says which line set it. An acquisition without a spectrum of
    the reference region raises :class:`FitError` (``missing="error"``) or is left unshifted
    (``missing="keep"``)."""
    spectra = list(spectra)
    recipe, cr = reference_recipe(recipes)
    return shift_acquisitions(spectra, acquisition_shifts(spectra, recipe), cr, missing=missing)


def shift_acquisitions(spectra: Iterable[xr.DataArray],
                       shifts: dict[tuple[str, str], AcquisitionShift],
                       reference: ChargeReference, *, missing: str = "error"
                       ) -> list[xr.DataArray]:
    """Apply already measured acquisition shifts (see :func:`apply_reference`)."""
    out = []
    for s in spectra:
        key = acquisition_key(s)
        acq = shifts.get(key)
        if acq is None:
            if missing == "keep":
                out.append(s)
                continue
            raise FitError(f"no {reference.region} spectrum of sample {key[1]!r} to set the "
                           "charge reference", path=key[0] or None,
                           block=s.attrs.get("block_index"), key="charge_reference")
        moved = shift(s, acq.shift)
        moved.attrs["charge_reference"] = _reference_note(reference, acq.measured,
                                                          acq.block_index)
        out.append(moved)
    return out


def _reference_note(reference: ChargeReference, measured: float, block) -> str:
    return (f"{reference.region} {reference.species} = {reference.energy:g} eV (measured "
            f"{measured:.4f} eV in block {block})")


# ------------------------------------------------------------ "set this component to X eV"
def with_charge_reference(recipe: Recipe, species: str, energy: float) -> Recipe:
    """The recipe with ``[charge_reference]`` = ``species`` of its own region at ``energy``:
    every fit with it is then an internal-reference fit (:func:`fit_referenced`), so the
    reference line sits at ``energy`` and the shift is recorded in the result."""
    import copy
    names = [c.species for c in recipe.components]
    if species not in names:
        raise RecipeError(f"cannot calibrate on {species!r}: not a component of the "
                          f"{recipe.region} recipe (components: {', '.join(names)})",
                          path=recipe.source, key="charge_reference")
    if not math.isfinite(float(energy)) or float(energy) <= 0:
        raise RecipeError(f"calibration energy must be a positive number of eV, not {energy!r}",
                          path=recipe.source, key="charge_reference")
    out = copy.copy(recipe)
    out.charge_reference = ChargeReference(recipe.region, species, float(energy))
    return out


def calibrate(spectrum: xr.DataArray, recipe: Recipe, species: str, energy: float,
              **fit_kwargs) -> FitResult:
    """Fit ``spectrum`` with ``species`` set to ``energy`` eV (e.g. C 1s C–C = 284.8): one rigid
    shift of the axis, recorded in ``charge_shift`` / ``charge_reference`` of the result.

    ``recipe`` is written for the axis of ``spectrum`` as it is (a charged C 1s with C–C placed
    at 280.8 eV): it is fitted once there, the spectrum is shifted by ``energy − fitted
    position``, and the recipe's positions, windows and range move by the same amount (into
    the referenced scale) before the referenced refits. ``result.recipe`` is that referenced
    recipe and ``result.spectrum`` the shifted spectrum; apply the shift to the acquisition's
    other regions with :func:`shift_like`. A reference line the first fit does not determine
    raises :class:`FitError`."""
    plain = fit(spectrum, _without_reference(recipe), **fit_kwargs)
    return fit(*calibration_inputs(plain, species, energy), **fit_kwargs)


def calibration_inputs(result: FitResult, species: str, energy: float
                       ) -> tuple[xr.DataArray, Recipe]:
    """From a fit on the axis as it is: its spectrum shifted by ``energy −`` the fitted position
    of ``species``, and its recipe moved into that scale with the charge reference set. Fitting
    the pair is the calibrated fit (:func:`calibrate`; the GUI runs it in its worker)."""
    referenced = with_charge_reference(result.recipe, species, energy)
    delta = _trusted_shift(result, referenced.charge_reference)
    return shift(result.spectrum, delta), translated(referenced, delta)


def translated(recipe: Recipe, delta: float) -> Recipe:
    """The recipe with every component start, position window and the fit range moved by
    ``delta`` eV (links and priors between components are relative and stay)."""
    import copy
    out = copy.copy(recipe)
    out.components = [copy.copy(c) for c in recipe.components]
    for c in out.components:
        c.position = float(c.position) + delta
        c.window = (float(c.window[0]) + delta, float(c.window[1]) + delta)
    if recipe.range is not None:
        out.range = (float(recipe.range[0]) + delta, float(recipe.range[1]) + delta)
    return out


def shift_like(spectra: Iterable[xr.DataArray], reference: FitResult, *,
               same_region: bool = False) -> list[xr.DataArray]:
    """Give the spectra of ``reference``'s acquisition (same source file and sample) in other
    regions the same cumulative charge shift as the reference fit; the rest come back as they
    are (same order). Idempotent: a spectrum already at that shift is not moved again.

    ``same_region=True`` moves the acquisition's spectra of the reference region instead: the
    starting point for fitting them with the calibrated recipe, whose windows are in the
    referenced scale (each referenced fit then finds its own residual shift)."""
    ref = reference.spectrum
    key, region = acquisition_key(ref), region_key(reference.recipe.region)
    total = float(reference.charge_shift)
    info = reference.charge_reference or {}
    cr = reference.recipe.charge_reference
    out = []
    for s in spectra:
        if acquisition_key(s) != key or \
                (region_key(s.attrs.get("region", "")) == region) != same_region:
            out.append(s)
            continue
        moved = shift(s, total - float(s.attrs.get("charge_shift", 0.0) or 0.0))
        if cr is not None:
            moved.attrs["charge_reference"] = _reference_note(
                cr, float(info.get("measured", math.nan)), ref.attrs.get("block_index", 0))
        out.append(moved)
    return out


def check_calibration(recipe: Recipe, species: str, energy: float) -> None:
    """Refuse a calibration before any fit: a species the recipe lacks, an energy that is not
    a positive number, or a recipe that has its own ``[charge_reference]`` (two energy
    references for one fit)."""
    with_charge_reference(recipe, species, energy)
    if recipe.charge_reference is not None:
        cr = recipe.charge_reference
        raise RecipeError(f"cannot calibrate on {species!r}: the recipe has its own charge "
                          f"reference ({cr.region} {cr.species} = {cr.energy:g} eV); one energy "
                          "reference per fit", path=recipe.source, key="charge_reference")


def calibrate_acquisitions(spectra: Iterable[xr.DataArray], recipe: Recipe, species: str,
                           energy: float, **fit_kwargs) -> list[FitResult]:
    """Fit spectra of one region with ``species`` set to ``energy`` eV, one rigid shift per
    acquisition (source file, sample): the acquisition's first spectrum is calibrated
    (:func:`calibrate`), its other spectra of the region are shifted like it
    (:func:`shift_like`) and fitted with the calibrated recipe's windows but no reference of
    their own. Results come back in the order given."""
    spectra = list(spectra)
    check_calibration(recipe, species, energy)
    first: dict[tuple[str, str], FitResult] = {}
    results: list[FitResult | None] = [None] * len(spectra)
    for i, s in enumerate(spectra):
        key = acquisition_key(s)
        if key not in first:
            first[key] = results[i] = calibrate(s, recipe, species, energy, **fit_kwargs)
    for i, s in enumerate(spectra):
        if results[i] is None:
            ref = first[acquisition_key(s)]
            moved = shift_like([s], ref, same_region=True)[0]
            results[i] = fit(moved, _without_reference(ref.recipe), **fit_kwargs)
    return results


def _without_reference(recipe: Recipe) -> Recipe:
    """The reference recipe without its charge reference: the reference fit must report the
    line on the unshifted axis (fit() would otherwise shift it)."""
    import copy
    plain = copy.copy(recipe)
    plain.charge_reference = None
    return plain


__all__ = ["reference_shift", "fit_referenced", "references_own_region", "acquisition_shifts",
           "with_charge_reference", "calibrate", "calibrate_acquisitions", "check_calibration",
           "shift_like",
           "translated",
           "calibration_inputs",
           "apply_reference", "shift_acquisitions", "reference_recipe", "acquisition_key", "AcquisitionShift",
           "TOLERANCE"]
