"""Where a spectrum's binding-energy scale came from, and the user's corrections to it.

Every Spectrum says whether its abscissa, hν and work function φ were stated by the file, given
as options or assumed (``axis_source``, ``excitation_energy_source``, ``work_function_source``,
see :data:`xpsfit.spectrum.ATTRS`), so that no report calls an assumed BE axis "BE".

Work function: a reader converts kinetic energies with BE = hν − KE. VAMAS, SPECS and CasaXPS
text exports hold Fermi-referenced kinetic energies (docs/interop.md "Energy axis": the SPECS
PBTTT S 2p lands at 164.0 eV only without subtracting the file's φ = 4.37 eV), so their φ is
recorded, never subtracted. Plain column files and synchrotron end-station exports may hold
kinetic energies against the analyser's vacuum level: there ``work_function=`` applies
BE = hν − KE − φ (lmfitxps clean_Au_4f.csv: Au 4f7/2 at 87.63 eV without φ, 84.00 eV with
φ = 3.63 eV).
"""
from __future__ import annotations

import math
from types import ModuleType

import xarray as xr

from ..errors import FileFormatError
from ..spectrum import DIM, shift
from .limits import MAX_EXCITATION_EV

#: a work function beyond this is a typing error, not an analyser (metals 2–6 eV)
MAX_WORK_FUNCTION_EV = 10.0
#: a rigid shift beyond this is a wrong sign or unit, not charging
MAX_SHIFT_EV = 100.0


def checked_options(axis, excitation_energy, work_function, shift_eV, *, path=None,
                    names: dict[str, str] | None = None) -> tuple:
    """The energy options, validated: (axis, hν, φ, shift); each bad value is one
    :class:`FileFormatError` naming the option (``names`` maps keyword -> shown name, e.g.
    ``{"work_function": "--work-function"}`` for the CLI)."""
    names = names or {}

    def fail(key: str, message: str):
        return FileFormatError(f"{names.get(key, key)}: {message}", path=path)

    if axis is not None:
        axis = str(axis).strip().upper()
        if axis not in ("KE", "BE"):
            raise fail("axis", f"must be KE or BE, not {axis!r}")
    hv = _number(excitation_energy, "excitation_energy", fail)
    if hv is not None and not 0 < hv <= MAX_EXCITATION_EV:
        raise fail("excitation_energy", f"photon energy must be > 0 and <= "
                   f"{MAX_EXCITATION_EV:g} eV, not {hv:g}")
    phi = _number(work_function, "work_function", fail)
    if phi is not None and not 0 <= phi <= MAX_WORK_FUNCTION_EV:
        raise fail("work_function", f"analyser work function must be 0..{MAX_WORK_FUNCTION_EV:g}"
                   f" eV, not {phi:g}")
    delta = _number(shift_eV, "shift", fail)
    if delta is not None and abs(delta) > MAX_SHIFT_EV:
        raise fail("shift", f"a rigid shift of {delta:g} eV is not charging (at most "
                   f"±{MAX_SHIFT_EV:g} eV)")
    return axis, hv, phi, delta


def _number(value, key: str, fail) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise fail(key, f"not a number of eV: {value!r}") from None
    if not math.isfinite(x):
        raise fail(key, f"not a finite number of eV: {value!r}")
    return x


def fermi_referenced(module: ModuleType) -> bool:
    """True for formats whose kinetic energies are Fermi-referenced (``FERMI_REFERENCED_KE``)."""
    return bool(getattr(module, "FERMI_REFERENCED_KE", False))


def stamp_sources(spectra: list[xr.DataArray], fermi: bool, hv_option_taken: bool) -> None:
    """Fill the ``*_source`` attributes a reader left empty: a format that is not a plain
    column file states its axis; hν is the option's when the reader took the option."""
    for s in spectra:
        a = s.attrs
        if not a.get("axis_source"):
            a["axis_source"] = "file"
        if not a.get("excitation_energy_source") and math.isfinite(
                float(a.get("excitation_energy", math.nan))):
            a["excitation_energy_source"] = "option" if hv_option_taken else "file"
        if not a.get("work_function_source"):
            stated = math.isfinite(float(a.get("work_function", math.nan)))
            if stated:
                a["work_function_source"] = "file"
            elif a.get("original_axis") == "KE":
                a["work_function_source"] = "format" if fermi else "assumed 0"


def note_overridden_options(spectra: list[xr.DataArray], axis, excitation_energy) -> None:
    """Record, as ``energy_option_ignored``, an ``--axis``/``--excitation-energy`` the file
    contradicts: the file's statement wins, and the user must hear that the option did nothing."""
    for s in spectra:
        a = s.attrs
        ignored = []
        if axis is not None and a.get("axis_source") == "file" and \
                a.get("original_axis") not in (None, axis):
            ignored.append(f"--axis {axis} ignored: the file states {a.get('original_axis')}")
        hv = float(a.get("excitation_energy", math.nan))
        if excitation_energy is not None and a.get("excitation_energy_source") == "file" and \
                math.isfinite(hv) and abs(hv - excitation_energy) > 1e-6:
            ignored.append(f"--excitation-energy {excitation_energy:g} ignored: the file "
                           f"states hν = {hv:g} eV")
        if ignored:
            a["energy_option_ignored"] = "; ".join(ignored)


def apply_work_function(spectrum: xr.DataArray, phi: float, path, fermi: bool) -> xr.DataArray:
    """BE = hν − KE − φ for a spectrum read from a vacuum-referenced kinetic-energy axis. A
    file that states its own φ or whose format is Fermi-referenced is refused: subtracting φ
    again would put every line φ too low. Binding-energy files are returned as they are."""
    a = spectrum.attrs
    if a.get("original_axis") != "KE":
        return spectrum
    block = a.get("block_index")
    if a.get("work_function_source") == "file":
        raise FileFormatError(
            f"work function: the file states its own ({float(a['work_function']):g} eV) and "
            "its kinetic energies are Fermi-referenced (BE = hν − KE); the option is for files "
            "that do not state one", path=path, block=block, key="work_function")
    if fermi:
        raise FileFormatError(
            f"work function: {a.get('format') or 'this format'} stores Fermi-referenced kinetic "
            "energies (BE = hν − KE); the option is for column files whose KE is measured "
            "against the vacuum level", path=path, block=block, key="work_function")
    out = spectrum.assign_coords({DIM: spectrum[DIM].values - float(phi)})
    out.attrs = dict(a, work_function=float(phi), work_function_source="option")
    return out


def apply_shift(spectrum: xr.DataArray, delta: float) -> xr.DataArray:
    """A rigid shift given by the user: the same axis move as a charge reference
    (:func:`xpsfit.spectrum.shift`, cumulative in ``charge_shift``), and kept apart in
    ``energy_shift`` so a report can say which part was given and which was fitted."""
    out = shift(spectrum, delta)
    out.attrs["energy_shift"] = float(spectrum.attrs.get("energy_shift", 0.0) or 0.0) + delta
    return out


def axis_warning(spectrum: xr.DataArray) -> str:
    """A caution for a column file whose abscissa was assumed to be BE although hν is known:
    the usual reason to know hν is a kinetic-energy axis (the headerless LG4X Au 4f csv)."""
    a = spectrum.attrs
    if a.get("energy_option_ignored"):
        return str(a["energy_option_ignored"])
    hv = float(a.get("excitation_energy", math.nan))
    if a.get("axis_source") != "assumed" or a.get("original_axis") != "BE" or \
            not math.isfinite(hv):
        return ""
    e = spectrum["original_energy"].values
    lo, hi = float(e.min()), float(e.max())
    if hi >= hv:          # values above hν cannot be kinetic energies
        return ""
    return (f"the file does not say whether its energies are BE or KE: read as BE "
            f"{lo:.2f}..{hi:.2f} eV (assumed), but hν = {hv:g} eV "
            f"({a.get('excitation_energy_source')}) is known; if they are kinetic energies give "
            f"--axis KE (BE would be {hv - hi:.2f}..{hv - lo:.2f} eV)")
