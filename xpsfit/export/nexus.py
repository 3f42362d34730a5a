"""The NeXus view of a result: the fields of the NXxps application definition (with NXfit,
NXpeak and the background NXpeak) beside xpsfit's own exact record.

This part is written, never read back: xpsfit rebuilds results from the ``xpsfit`` record
group alone. Curves and spectra are hard links into that record (no second copy). What the
spectrum file does not record but NXxps requires (analyser scheme, source type, the start
time when unknown) is filled with the typical lab-XPS value and marked with the attribute
``xpsfit_assumed`` so no reader mistakes it for a measured value. Checked against the NeXus
definitions bundled with pynxtools (``tests/test_hdf5_nexus.py``).
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime

import h5py
import numpy as np

from ..results import FitResult, SeriesResult
from .h5codec import new_group

#: the NeXus definitions release the layout was validated against (pynxtools 0.16.0)
NEXUS_DEFINITIONS_VERSION = "v2024.02"
#: xpsfit line shapes by their names in NXfit_function's function_type enumeration; others
#: are written under their xpsfit name with ``custom = True``
FUNCTION_TYPES = {"gaussian": "Gaussian", "lorentzian": "Lorentzian", "voigt": "Voigt",
                  "pseudo_voigt": "Gaussian-Lorentzian Sum", "gl_sum": "Gaussian-Lorentzian Sum",
                  "gl_product": "Gaussian-Lorentzian Product",
                  "doniach_sunjic": "Doniach-Sunjic"}
#: units of intensities: the spectrum's counts_unit attribute, else this
DEFAULT_COUNTS_UNIT = "counts"


def write_view(entry: h5py.Group, result: FitResult | SeriesResult, record: h5py.Group,
               saved_at: str, xpsfit_version: str, shared: dict | None = None) -> None:
    """NXxps fields of ``entry`` for a fit (one NXfit) or a series (one per spectrum).

    ``shared`` (one dict per file) lets entries with the same instrument settings hard-link
    one instrument group: a batch of one instrument stores it once."""
    fits = result.results if isinstance(result, SeriesResult) else [result]
    records = ([record["results"][f"{i:04d}"] for i in range(len(fits))]
               if isinstance(result, SeriesResult) else [record])
    first = fits[0].spectrum if fits else None
    attrs = dict(first.attrs) if first is not None else {}
    assumed: list[str] = []
    _field(entry, "definition", "NXxps", version=NEXUS_DEFINITIONS_VERSION)
    _field(entry, "program_name", "xpsfit", version=xpsfit_version)
    region = result.recipe.region
    _field(entry, "title", f"{region} {'series' if len(fits) != 1 else 'fit'} "
                           f"({_text(attrs.get('label')) or _text(attrs.get('block_name'))})")
    start = _iso_time(attrs.get("acquisition_time"))
    if start:
        _field(entry, "start_time", start)
    else:
        _field(entry, "start_time", saved_at)   # time of saving: the file records none
        assumed.append("start_time")
    _field(entry, "method", _text(attrs.get("technique")) or "XPS")
    key = ("instrument",) + tuple(repr(attrs.get(k)) for k in _INSTRUMENT_KEYS)
    if shared is not None and key in shared and shared[key].file == entry.file:
        entry["instrument"] = shared[key]
        assumed += _ASSUMED
    else:
        assumed += _instrument(entry, attrs)
        if shared is not None:
            shared[key] = entry["instrument"]
    sample = new_group(entry, "sample", "NXsample")
    _field(sample, "name", _text(attrs.get("sample")) or _text(attrs.get("label")) or "unknown")
    single = not isinstance(result, SeriesResult)
    for i, (fr, rec) in enumerate(zip(fits, records)):
        suffix = "" if single else f"{i:04d}"
        _data(entry, f"data{suffix}", fr, rec)
        _fit(entry, f"fit{suffix}", fr, rec)
    if fits:
        entry.attrs["default"] = "data" if single else "data0000"
    # NeXus has no "not measured": required values the spectrum file lacks are typical lab
    # XPS values, listed here (attributes on the fields would be undocumented concepts)
    record.attrs["nexus_assumed"] = json.dumps(assumed)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _iso_time(value) -> str:
    text = _text(value)
    if not text:
        return ""
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        return ""


def _field(parent: h5py.Group, name: str, value, units: str | None = None, **attrs):
    dset = parent.create_dataset(name, data=value)
    if units:
        dset.attrs["units"] = units
    for k, v in attrs.items():
        dset.attrs[k] = v
    return dset


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


#: spectrum attributes the instrument group is made of
_INSTRUMENT_KEYS = ("source_label", "excitation_energy", "work_function", "analyser_mode",
                    "pass_energy")
_ASSUMED = ["instrument/source_probe/type",
            "instrument/electronanalyzer/collectioncolumn/scheme",
            "instrument/electronanalyzer/energydispersion/scheme"]


def _instrument(entry: h5py.Group, attrs: dict) -> list[str]:
    """The instrument fields; returns the paths of assumed (not recorded) values."""
    ins = new_group(entry, "instrument", "NXinstrument")
    src = new_group(ins, "source_probe", "NXsource")
    label = _text(attrs.get("source_label"))
    _field(src, "type", "Fixed Tube X-ray")
    if label:
        _field(src, "name", label)
    _field(src, "probe", "photon")
    _field(src, "associated_beam", "/".join([entry.name, "instrument", "beam_probe"]))
    beam = new_group(ins, "beam_probe", "NXbeam")
    _field(beam, "incident_energy", _number(attrs.get("excitation_energy")), "eV")
    _field(beam, "associated_source", "/".join([entry.name, "instrument", "source_probe"]))
    ea = new_group(ins, "electronanalyzer", "NXelectronanalyzer")
    _field(ea, "work_function", _number(attrs.get("work_function")), "eV")
    column = new_group(ea, "collectioncolumn", "NXcollectioncolumn")
    _field(column, "scheme", "non-dispersive")
    disp = new_group(ea, "energydispersion", "NXenergydispersion")
    _field(disp, "scheme", "hemispherical")
    mode = _text(attrs.get("analyser_mode")).upper()
    _field(disp, "energy_scan_mode", {"FAT": "fixed_analyzer_transmission",
                                      "FRR": "fixed_retardation_ratio"}.get(mode, mode or
                                                                             "unknown"))
    _field(disp, "pass_energy", _number(attrs.get("pass_energy")), "eV")
    new_group(ea, "detector", "NXdetector")
    return list(_ASSUMED)


def _counts_unit(fr: FitResult) -> str:
    """The spectrum's counts_unit as a unit NeXus tools parse; intensities in arbitrary units
    are dimensionless numbers."""
    unit = _text(fr.spectrum.attrs.get("counts_unit")) or DEFAULT_COUNTS_UNIT
    return unit if unit in ("counts", "counts/s") else "dimensionless"


def _data(entry: h5py.Group, name: str, fr: FitResult, rec: h5py.Group) -> None:
    spec = rec["spectrum"]
    values = spec[spec.attrs["xarray_values"]]
    values.attrs["units"] = _counts_unit(fr)
    d = new_group(entry, name, "NXdata", signal="data", axes=["energy"],
                  energy_indices=np.int64(0))
    d["data"] = values
    d["energy"] = spec["binding_energy"]
    d["energy"].attrs["type"] = "binding"


def _fit(entry: h5py.Group, name: str, fr: FitResult, rec: h5py.Group) -> None:
    curves = rec["curves"]
    unit = _counts_unit(fr)
    fit = new_group(entry, name, "NXfit", default="data")
    _field(fit, "label", fr.recipe.region)
    d = new_group(fit, "data", "NXdata", signal="fit_sum", axes=["input_independent"])
    energy = curves["binding_energy"]
    d["input_independent"] = energy
    for nexus_name, var, units in (("input_dependent", "data", unit),
                                   ("fit_sum", "envelope", unit),
                                   ("residual", "residual", "dimensionless")):
        if var in curves:
            curves[var].attrs["units"] = units
            d[nexus_name] = curves[var]
    comps = np.asarray(fr.curves["components"].values) if "components" in fr.curves else None
    used = set()
    for k, c in enumerate(fr.components):
        peak = new_group(fit, _unique(f"peak_{_safe(c.species)}", used), "NXpeak")
        _field(peak, "label", c.label or c.species)
        pd = new_group(peak, "data", "NXdata", signal="intensity", axes=["position"])
        pd["position"] = energy
        if comps is not None and k < len(comps):
            _field(pd, "intensity", comps[k], unit)
        _field(peak, "total_area", float(c.area), f"{unit}*eV")
        function = new_group(peak, "function", "NXfit_function")
        known = FUNCTION_TYPES.get(c.lineshape)
        if known:
            _field(function, "function_type", known)
        else:   # NeXus' rule for a value outside its open enumeration
            _field(function, "function_type", c.lineshape, custom=np.bool_(True))
    bg_type = str(fr.recipe.background.type)
    bg = new_group(fit, f"background_{_safe(bg_type)}", "NXpeak")
    _field(bg, "label", bg_type)
    bd = new_group(bg, "data", "NXdata", signal="intensity", axes=["position"])
    bd["position"] = energy
    if "background" in curves:
        curves["background"].attrs["units"] = unit
        bd["intensity"] = curves["background"]
    _field(fit, "figure_of_merit", float(fr.statistics.redchi), metric="reduced_chi2")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name)) or "x"


def _unique(name: str, used: set) -> str:
    out, n = name, 1
    while out in used:
        out, n = f"{name}_{n}", n + 1
    used.add(out)
    return out
