"""Readers: one module per format, and :func:`read` which sniffs the content.

Each format module exposes ``NAME``, ``SUFFIXES``, ``sniff(head: bytes, path: Path) -> bool`` and
``read(path: Path, **options) -> list[xarray.DataArray]`` (Spectra, see ``xpsfit.spectrum``).

The registry asks every format, in a fixed order, whether it recognises the first 64 KiB of the
file. Content decides; the file suffix only breaks ties between formats that both claim it (so a
VAMAS file renamed ``.txt`` is still VAMAS and a CSV renamed ``.xy`` is still CSV).
"""
from __future__ import annotations

import importlib
import inspect
import os
import re
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import xarray as xr

from ..errors import FileFormatError, UnsupportedFormatError, XpsfitError
from ..spectrum import DIM
from . import energy_scale, limits

HEAD_BYTES = 65536

#: (name, module, suffixes, description) in sniffing order: the strict, magic-marked formats
#: first, the permissive column-text format last.
_REGISTRY: list[tuple[str, str, tuple[str, ...], str]] = [
    ("vamas", "vamas", (".vms", ".npl"), "VAMAS ISO 14976 (.vms, .npl)"),
    ("specs_xml", "specs_xml", (".xml",), "SPECS SpecsLab2 XML (.xml)"),
    ("specs_xy", "specs_xy", (".xy",), "SPECS Prodigy XY export (.xy)"),
    ("phi_spe", "phi_spe", (".spe",), "PHI MultiPak spectrum (.spe)"),
    ("kherve_xlsx", "kherve_xlsx", (".xlsx",), "KherveFitting workbook (.xlsx)"),
    ("avantage_xlsx", "avantage_xlsx", (".xlsx",), "Thermo Avantage Excel export (.xlsx)"),
    ("scienta_txt", "scienta_txt", (".txt",), "Scienta SES text export (.txt)"),
    ("scienta_ibw", "scienta_ibw", (".ibw",), "Scienta SES Igor binary wave (.ibw)"),
    ("phi_ascii", "phi_ascii", (".txt",), "PHI MultiPak ASCII export (.txt)"),
    ("omicron_eis", "omicron_eis", (".txt",), "Omicron EIS multi-region text export (.txt)"),
    ("casa_text", "casa_text", (".txt",), "CasaXPS text export (.txt)"),
    ("clam2", "clam2", (".txt",), "CLAM2 synchrotron EDC text (.txt)"),
    ("avantage_csv", "avantage_csv", (".csv",), "Avantage-style CSV with fit columns (.csv)"),
    ("refused", "refused", (), "recognised formats that are not read (refused by name)"),
    ("text_columns", "text_columns", (".csv", ".txt", ".dat", ".xy", ".tsv"),
     "two/three-column text (.csv, .txt, .dat, .xy)"),
]

#: (name, suffixes, description) of every supported format, for messages and docs.
SUPPORTED: list[tuple[str, tuple[str, ...], str]] = [(n, s, d) for n, _, s, d in _REGISTRY
                                                     if n != "refused"]

_OPTION_NAMES = ("region", "axis", "excitation_energy")


def _load(module_name: str) -> ModuleType | None:
    """Import one format module; a module not written yet is skipped, not fatal."""
    full = f"{__name__}.{module_name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return None
        raise
    except Exception as exc:  # a module being edited must not take every other format down
        warnings.warn(f"xpsfit reader {module_name!r} could not be imported: {exc}",
                      RuntimeWarning, stacklevel=3)
        return None


def available_formats() -> list[tuple[str, ModuleType]]:
    """(name, module) of every format whose module imports, in sniffing order."""
    out = []
    for name, module_name, _, _ in _REGISTRY:
        module = _load(module_name)
        if module is not None:
            out.append((name, module))
    return out


def supported_text() -> str:
    return "; ".join(d for _, _, d in SUPPORTED)


def _check_file(path: Path) -> bytes:
    # regular files only, size-capped: a FIFO or /dev/zero named *.vms must not hang or fill
    # memory (the readers re-open through limits.read_bytes, which checks again)
    with limits.open_regular(path) as fh:
        try:
            head = fh.read(HEAD_BYTES)
        except OSError as exc:
            raise FileFormatError(f"cannot read: {exc.strerror or exc}", path=path) from None
    if not head:
        raise FileFormatError("empty file", path=path)
    return head


def detect_format(path: str | os.PathLike, head: bytes | None = None) -> str:
    """Name of the format whose sniffer recognises the file (suffix breaks ties)."""
    path = Path(path)
    if head is None:
        head = _check_file(path)
    claims = []
    for name, module in available_formats():
        try:
            if module.sniff(head, path):
                claims.append((name, module))
        except Exception:  # a sniffer must never crash detection; it just does not claim
            continue
    if not claims:
        raise UnsupportedFormatError(f"unknown file format; supported: {supported_text()}",
                                     path=path)
    suffix = path.suffix.lower()
    for name, module in claims:
        if suffix in tuple(s.lower() for s in getattr(module, "SUFFIXES", ())):
            return name
    return claims[0][0]


def _takes(module: ModuleType, option: str) -> bool:
    """Whether a reader uses an option by name (``**options`` catch-alls do not count)."""
    return option in inspect.signature(module.read).parameters


def _call_reader(module: ModuleType, path: Path, options: dict) -> list[xr.DataArray]:
    """Pass the options a reader accepts (all of them if it takes ``**options``)."""
    params = inspect.signature(module.read).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        options = {k: v for k, v in options.items() if k in params}
    return list(module.read(path, **options))


def read(path: str | os.PathLike, *, format: str | None = None, region: str | None = None,
         axis: str | None = None, excitation_energy: float | None = None,
         work_function: float | None = None, shift: float | None = None) -> list[xr.DataArray]:
    """Read every spectrum of a file as a list of Spectra (see :mod:`xpsfit.spectrum`).

    ``format`` forces a reader by name (see :data:`SUPPORTED`); otherwise the content decides.
    ``region`` names spectra whose file gives no region (plain CSV). ``axis`` ("KE"/"BE") and
    ``excitation_energy`` (eV) are for column files whose header does not say them.
    ``work_function`` (eV) makes BE = hν − KE − φ for kinetic-energy column files (refused for
    files that state φ or whose KE is Fermi-referenced, see :mod:`xpsfit.io.energy_scale`).
    ``shift`` (eV) moves every binding-energy axis rigidly (recorded in ``energy_shift`` and
    ``charge_shift``). ``attrs["axis_source"]``, ``["excitation_energy_source"]`` and
    ``["work_function_source"]`` say what the file stated and what was given or assumed.
    Every failure is a :class:`FileFormatError` naming the file.
    """
    path = Path(path)
    head = _check_file(path)
    axis, excitation_energy, work_function, shift = energy_scale.checked_options(
        axis, excitation_energy, work_function, shift, path=path)
    if format is None:
        name = detect_format(path, head)
    else:
        name = format
    modules = dict(available_formats())
    if name not in modules:
        raise UnsupportedFormatError(
            f"unknown format {name!r}; supported: {', '.join(n for n, _, _ in SUPPORTED)}",
            path=path)
    options = {"region": region, "axis": axis, "excitation_energy": excitation_energy}
    module = modules[name]
    try:
        # overflow/NaN from absurd numbers is caught below by the finite-value checks of
        # make_spectrum; numpy's RuntimeWarnings about it would only be noise
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            spectra = _call_reader(module, path, options)
    except XpsfitError as exc:
        if exc.path is None:  # make sure the user learns which file failed
            raise type(exc)(exc.message, path=path, line=exc.line, block=exc.block,
                            key=exc.key) from exc
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # safety net: no foreign exception type escapes a reader
        detail = (str(exc).strip() or type(exc).__name__)[:200]  # a 1 MB token stays out
        raise FileFormatError(f"cannot read as {name}: {type(exc).__name__}: {detail}",
                              path=path) from exc
    if not spectra:
        raise FileFormatError(f"no spectra found (read as {name})", path=path)
    fermi = energy_scale.fermi_referenced(module)
    energy_scale.stamp_sources(spectra, fermi, excitation_energy is not None
                               and _takes(module, "excitation_energy"))
    energy_scale.note_overridden_options(spectra, axis, excitation_energy)
    if work_function is not None:
        spectra = [energy_scale.apply_work_function(s, work_function, path, fermi)
                   for s in spectra]
    if shift:
        spectra = [energy_scale.apply_shift(s, shift) for s in spectra]
    limits.check_spectra(spectra, path)
    for s in spectra:
        if region and not s.attrs.get("region"):
            s.attrs["region"] = region
        if not s.attrs.get("format"):
            s.attrs["format"] = name
    return spectra


def add_coordinate(spectrum: xr.DataArray, name: str, file_energy, values) -> xr.DataArray:
    """Attach a per-point column given in *file order* (e.g. transmission) as a coordinate.

    ``make_spectrum`` re-orders points to ascending binding energy; the file-order energies are
    kept in ``original_energy``, which lets us put each value back beside its own point.
    """
    e = np.asarray(file_energy, dtype=float)
    v = np.asarray(values, dtype=float)
    sorter = np.argsort(e, kind="stable")
    pos = sorter[np.searchsorted(e, spectrum["original_energy"].values, sorter=sorter)]
    return spectrum.assign_coords({name: (DIM, v[pos])})


ELEMENTS = frozenset(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As "
    "Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd "
    "Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Th U".split())
_CORE_LEVEL = re.compile(r"(?<![A-Za-z])([A-Z][a-z]?)[ _]?(\d[spdf])(?:\s*\d/\d)?(?![a-z])")


def region_from_text(text: str) -> str:
    """The first core level named in a label or file name: ``"C1s_sample"`` -> ``"C 1s"``,
    ``"clean_Au_4f"`` -> ``"Au 4f"``; ``""`` when none (only real element symbols count)."""
    for m in _CORE_LEVEL.finditer(str(text)):
        if m.group(1) in ELEMENTS:
            return f"{m.group(1)} {m.group(2)}"
    return ""


def integral_counts(values: np.ndarray) -> np.ndarray:
    """Round rebuilt counts (c/s × time) to integers when they are integers up to float noise
    (float32 rates carry ~1e-7 relative error, hence the relative term)."""
    values = np.asarray(values, dtype=float)
    rounded = np.round(values)
    ok = np.all(np.abs(values - rounded) <= 1e-3 + 1e-6 * np.abs(values))
    return rounded if ok else values
