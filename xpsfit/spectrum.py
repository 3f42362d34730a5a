"""Spectrum conventions on xarray.

A Spectrum is a 1-D ``xarray.DataArray``:

* dim ``binding_energy`` (eV), strictly ascending whatever the file order;
* values are **raw counts** whenever the file lets us rebuild them (cps × dwell × scans), because
  Poisson weights need counts. ``attrs["counts_unit"]`` says what the values really are:
  ``"counts"``, ``"counts/s"`` (could not be converted: dwell or scans unknown) or ``"arbitrary"``;
* coordinate ``original_energy`` keeps the file's abscissa (KE or BE, see ``attrs["original_axis"]``);
* attrs carry the acquisition metadata listed in :data:`ATTRS`. Attribute values are str, int,
  float or bool only, so every Spectrum survives netCDF/HDF5 round trips unchanged.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import xarray as xr

from .errors import FileFormatError

DIM = "binding_energy"

#: attribute name -> default. Every Spectrum has all of them.
ATTRS: dict[str, Any] = {
    "region": "",              # e.g. "S 2p" (species + transition, normalised spacing)
    "species": "",             # element/label from the file, e.g. "S"
    "transition": "",          # e.g. "2p"
    "source_file": "",
    "block_index": 0,          # 0-based index of the spectrum in its file
    "block_name": "",
    "sample": "",
    "label": "",               # human label for series, e.g. "4.3 V" or "pristine"
    "voltage": math.nan,       # parsed from label/sample/block when present (V)
    "excitation_energy": math.nan,   # hν (eV) as stored in the file
    "work_function": math.nan,       # analyser φ (eV): stated by the file or given (see below)
    "original_axis": "BE",     # "KE" or "BE"
    # where the energy scale came from (filled by xpsfit.io.read, docs/interop.md "Energy axis"):
    "axis_source": "",         # "file" | "option" | "assumed" (a column file that does not say)
    "excitation_energy_source": "",  # "file" | "file name" | "option" | "" (hν unknown)
    "work_function_source": "",  # "file" | "format" | "option" | "assumed 0" | "" (BE axis)
    "energy_shift": 0.0,       # eV of a rigid shift given by the user (also in charge_shift)
    "scans": 1,
    "dwell": math.nan,         # s per point per scan
    "pass_energy": math.nan,
    "acquisition_time": "",   # ISO text when known
    "counts_unit": "counts",   # "counts" | "counts/s" | "arbitrary"
    "converted_from": "",      # e.g. "counts/s" when cps were turned into counts
    "charge_shift": 0.0,       # eV added to the binding energy axis (cumulative)
    "format": "",              # reader name, e.g. "vamas"
    "technique": "XPS",
    "comments": "",            # raw comment lines (CasaXPS processing lines kept verbatim)
}

_VOLT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*V(?![a-zA-Z])")


def region_key(name: str) -> str:
    """Normalise a region name for matching: ``"S 2p"``, ``"s2p"``, ``"S2p3/2"`` -> ``"s2p"``."""
    key = re.sub(r"[\s_\-]+", "", str(name)).lower()
    return re.sub(r"(\d[spdf])\d/\d$", r"\1", key)


def normalise_region(species: str, transition: str = "") -> str:
    """``("S", "2p")`` -> ``"S 2p"``; ``("S2p", "")`` -> ``"S 2p"``; keeps unknown text as is."""
    text = f"{species} {transition}".strip()
    m = re.fullmatch(r"\s*([A-Z][a-z]?)\s*(\d[spdf](?:\d/\d)?)\s*", text)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    return " ".join(text.split())


def parse_voltage(*texts: str) -> float:
    """First voltage such as ``"4.3 V"`` or ``"3.6V"`` found in the texts, else NaN."""
    for t in texts:
        if not t:
            continue
        m = _VOLT.search(str(t))
        if m:
            return float(m.group(1))
    return math.nan


def make_spectrum(energy, intensity, *, axis: str = "BE", excitation_energy: float = math.nan,
                  path: str = "", block: int | None = None, **attrs) -> xr.DataArray:
    """Build a Spectrum from a file's abscissa and ordinate.

    ``axis="KE"`` converts with BE = hν − KE using the block's own ``excitation_energy``; the
    work function is *not* subtracted again (VAMAS/Prodigy KE is Fermi-referenced). The result
    is sorted to ascending binding energy. Raises :class:`FileFormatError` for unusable data.
    """
    e = np.asarray(energy, dtype=float).ravel()
    y = np.asarray(intensity, dtype=float).ravel()
    if e.size != y.size:
        raise FileFormatError(f"{e.size} energies but {y.size} intensities", path=path or None,
                              block=block)
    if e.size < 2:
        raise FileFormatError("fewer than 2 data points", path=path or None, block=block)
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(y))):
        raise FileFormatError("non-finite energy or intensity values", path=path or None,
                              block=block)
    axis = axis.upper()
    if axis == "KE":
        if not math.isfinite(excitation_energy):
            raise FileFormatError("kinetic-energy axis but no excitation energy (give one)",
                                  path=path or None, block=block)
        be = excitation_energy - e
    elif axis == "BE":
        be = e
    else:
        raise ValueError(f"axis must be 'KE' or 'BE', not {axis!r}")
    order = np.argsort(be, kind="stable")
    be, y, e = be[order], y[order], e[order]
    if np.any(np.diff(be) <= 0):
        raise FileFormatError("energy axis has repeated values", path=path or None, block=block)
    meta = dict(ATTRS)
    meta.update(original_axis=axis, excitation_energy=float(excitation_energy),
                source_file=str(path))
    if block is not None:
        meta["block_index"] = int(block)
    for k, v in attrs.items():
        if v is None:
            continue
        meta[k] = _plain(v)
    if not meta["region"]:
        meta["region"] = normalise_region(str(meta["species"]), str(meta["transition"]))
    if not math.isfinite(meta["voltage"]):
        meta["voltage"] = parse_voltage(meta["label"], meta["sample"], meta["block_name"])
    return xr.DataArray(y, dims=(DIM,), coords={DIM: be, "original_energy": (DIM, e)},
                        name="intensity", attrs=meta)


def _plain(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return str(v)


def to_counts(spectrum: xr.DataArray) -> xr.DataArray:
    """Turn a counts/s spectrum into raw counts (× dwell × scans) when both are known."""
    a = spectrum.attrs
    if a.get("counts_unit") != "counts/s":
        return spectrum
    dwell, scans = float(a.get("dwell", math.nan)), float(a.get("scans", math.nan))
    if not (math.isfinite(dwell) and dwell > 0 and math.isfinite(scans) and scans > 0):
        return spectrum
    out = spectrum * (dwell * scans)
    out.attrs = dict(a, counts_unit="counts", converted_from="counts/s")
    out.name = spectrum.name
    return out


def shift(spectrum: xr.DataArray, delta_eV: float) -> xr.DataArray:
    """Return a copy with the binding-energy axis moved by ``delta_eV``; the shift is recorded
    cumulatively in ``attrs["charge_shift"]``."""
    out = spectrum.assign_coords({DIM: spectrum[DIM].values + float(delta_eV)})
    out.attrs = dict(spectrum.attrs)
    out.attrs["charge_shift"] = float(spectrum.attrs.get("charge_shift", 0.0)) + float(delta_eV)
    return out


def energy_scale_notes(attrs: dict) -> list[str]:
    """What of the energy scale the file did not state: ``["axis BE (assumed)",
    "φ assumed 0"]``, ``["hν 180 (option)", "φ 3.63 (option)", "shift +0.300 (option)"]``;
    empty when the file said everything (printed on ``xpsfit read`` lines and fit summaries)."""
    notes = []
    src = attrs.get("axis_source", "")
    if src and src != "file":
        notes.append(f"axis {attrs.get('original_axis', '')} ({src})")
    src = attrs.get("excitation_energy_source", "")
    if src and src != "file":
        notes.append(f"hν {float(attrs.get('excitation_energy', math.nan)):g} ({src})")
    src = attrs.get("work_function_source", "")
    if src == "assumed 0":
        notes.append("φ assumed 0")
    elif src == "option":
        notes.append(f"φ {float(attrs.get('work_function', math.nan)):g} (option)")
    delta = float(attrs.get("energy_shift", 0.0) or 0.0)
    if delta:
        notes.append(f"shift {delta:+.3f} eV (option)")
    return notes


def energy_scale_text(attrs: dict) -> str:
    """One line for reports: how the binding-energy axis was obtained and from what."""
    axis = attrs.get("original_axis", "BE")
    parts = [f"{axis} axis ({attrs.get('axis_source') or 'file'})"]
    if axis == "KE":
        hv = float(attrs.get("excitation_energy", math.nan))
        src = attrs.get("work_function_source", "")
        phi = float(attrs.get("work_function", math.nan))
        formula = "BE = hν − KE − φ" if src == "option" else "BE = hν − KE"
        parts.append(f"{formula}, hν = {hv:g} eV ({attrs.get('excitation_energy_source') or '?'})")
        if src == "option":
            parts.append(f"φ = {phi:g} eV (option)")
        elif src == "file":
            parts.append(f"φ = {phi:g} eV stated by the file, KE Fermi-referenced")
        elif src == "format":
            parts.append("KE Fermi-referenced by the format")
        elif src == "assumed 0":
            parts.append("φ assumed 0 (give --work-function if the KE is vacuum-referenced)")
    delta = float(attrs.get("energy_shift", 0.0) or 0.0)
    if delta:
        parts.append(f"rigid shift {delta:+.3f} eV given")
    return "; ".join(parts)


def describe(spectrum: xr.DataArray) -> dict:
    """One-line summary used by ``xpsfit read`` (JSON-friendly)."""
    be = spectrum[DIM].values
    a = spectrum.attrs
    return {
        "index": int(a.get("block_index", 0)),
        "region": a.get("region", ""),
        "label": a.get("label", "") or a.get("block_name", ""),
        "sample": a.get("sample", ""),
        "points": int(be.size),
        "be_min": float(be[0]),
        "be_max": float(be[-1]),
        "excitation_energy": float(a.get("excitation_energy", math.nan)),
        "original_axis": a.get("original_axis", ""),
        "axis_source": a.get("axis_source", ""),
        "excitation_energy_source": a.get("excitation_energy_source", ""),
        "work_function": float(a.get("work_function", math.nan)),
        "work_function_source": a.get("work_function_source", ""),
        "energy_shift": float(a.get("energy_shift", 0.0) or 0.0),
        "counts_unit": a.get("counts_unit", ""),
        "source_file": a.get("source_file", ""),
    }
