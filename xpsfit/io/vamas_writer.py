"""VAMAS (ISO 14976) writer: Spectra -> one NORM experiment file, one block per Spectrum.

The layout is the positional one described in ``xps_domain.md`` §8.1 (one value per line, no
keys). Choices that matter for an exact round trip through :mod:`xpsfit.io.vamas`:

* numbers are written with the shortest repr that parses back to the same float (integer-valued
  floats as plain integers, which keeps the files small), so write -> read gives identical values;
* the scan mode is REGULAR (start + increment) when every spectrum's axis is regular to 1e-10 eV,
  otherwise the whole file is written IRREGULAR with the abscissa as the first corresponding
  variable (VAMAS has one scan mode per file);
* a spectrum whose ``original_axis`` is KE and whose excitation energy is known is written on the
  kinetic-energy scale (KE = hν − BE, ascending KE, as analysers and CasaXPS write it); anything
  else is written as "Binding Energy" (ascending BE, positive increment);
* unknown numbers (NaN attrs) are written as the VAMAS sentinel ``1e+37``;
* the file is assembled in memory, written to a temporary file in the target folder and moved
  into place with ``os.replace``; nothing is left behind on failure.

The binding-energy axis is written as it stands, so an applied ``charge_shift`` is baked into the
written energies (VAMAS has no field for it; a reader sees ``charge_shift`` 0).
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import xarray as xr

from ..atomic import atomic_write
from ..errors import ExportError
from ..spectrum import DIM
from .casa_writer import without_applied_calibration

VAMAS_ID = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"
SENTINEL = "1e+37"
#: largest deviation (eV) from start + i·increment still written as a REGULAR axis
REGULAR_TOL = 1e-10
#: technique labels ISO 14976 allows for electron spectroscopies we write
_TECHNIQUES = {"XPS", "UPS", "AES dir", "AES diff", "ELS"}
#: (hν, source label) of common lab anodes, for the analysis-source label item
_SOURCES = ((1486.6, "Al"), (1253.6, "Mg"), (2984.3, "Ag"), (21.22, "He I"), (40.81, "He II"))
_NEWLINES = re.compile(r"[\r\n]+")


def write_vamas(path: str | os.PathLike, spectra: Sequence[xr.DataArray] | xr.DataArray, *,
                institution: str = "xpsfit", instrument: str = "synthetic", operator: str = "",
                experiment: str = "", comments: Iterable[str] = ()) -> Path:
    """Write ``spectra`` to ``path`` as an ISO 14976 VAMAS file (NORM mode) and return the path.

    One block per Spectrum, in the given order. Block id = ``label`` (or ``block_name``), sample
    id = ``sample``; species/transition from the attrs (or split from ``region``); hν, work
    function, pass energy, dwell and scans from the attrs. A ``transmission`` coordinate is
    written as a second corresponding variable. Raises :class:`ExportError` (naming the file and
    block) for unusable input or when the file cannot be written; an existing target is then left
    untouched.
    """
    target = Path(path)
    if isinstance(spectra, xr.DataArray):
        spectra = [spectra]
    spectra = list(spectra)
    if not spectra:
        raise ExportError("no spectra to write", path=target)
    blocks = [_BlockData.from_spectrum(s, i, target) for i, s in enumerate(spectra)]
    regular = all(b.is_regular() for b in blocks)
    lines = _header(institution, instrument, operator, experiment, list(comments), blocks, regular)
    for b in blocks:
        lines.extend(b.lines(regular))
    lines.append("end of experiment")
    _atomic_write(target, "\r\n".join(lines) + "\r\n")
    return target


class _BlockData:
    """The numbers and texts of one block, checked and put on the file's abscissa."""

    def __init__(self, spectrum: xr.DataArray, index: int, path: Path):
        self.index = index
        self.path = path
        a = spectrum.attrs
        if spectrum.ndim != 1 or spectrum.dims != (DIM,):
            self._fail(f"not a Spectrum: dims {spectrum.dims}, expected ({DIM!r},)")
        be = np.asarray(spectrum[DIM].values, dtype=float)
        y = np.asarray(spectrum.values, dtype=float)
        if be.size < 2:
            self._fail("fewer than 2 data points")
        if not (np.all(np.isfinite(be)) and np.all(np.isfinite(y))):
            self._fail("non-finite energy or intensity values")
        if np.any(np.diff(be) <= 0):
            self._fail("binding-energy axis is not strictly ascending")
        trans = None
        if "transmission" in spectrum.coords:
            trans = np.asarray(spectrum.coords["transmission"].values, dtype=float)
            if trans.shape != y.shape or not np.all(np.isfinite(trans)):
                self._fail("transmission coordinate is not finite or has the wrong shape")
        self.hv = _finite_or_nan(a.get("excitation_energy"))
        self.kinetic = str(a.get("original_axis", "BE")).upper() == "KE" and math.isfinite(self.hv)
        if self.kinetic:
            # ascending KE = descending BE: reverse every per-point array
            self.x = self.hv - be[::-1]
            self.y = y[::-1]
            self.trans = None if trans is None else trans[::-1]
        else:
            self.x, self.y, self.trans = be, y, trans
        self.attrs = a

    @classmethod
    def from_spectrum(cls, spectrum, index: int, path: Path) -> "_BlockData":
        if not isinstance(spectrum, xr.DataArray):
            raise ExportError(f"expected a Spectrum (xarray.DataArray), got {type(spectrum).__name__}",
                              path=path, block=index)
        return cls(spectrum, index, path)

    def _fail(self, message: str):
        raise ExportError(message, path=self.path, block=self.index)

    def is_regular(self) -> bool:
        start, inc = self.start_increment()
        grid = start + inc * np.arange(self.x.size)
        return bool(np.max(np.abs(grid - self.x)) <= REGULAR_TOL)

    def start_increment(self) -> tuple[float, float]:
        return float(self.x[0]), float((self.x[-1] - self.x[0]) / (self.x.size - 1))

    def lines(self, regular: bool) -> list[str]:
        a = self.attrs
        species, transition = _species_transition(a)
        block_id = _text(a.get("label") or a.get("block_name") or f"block {self.index}")
        # an axis already moved by CasaXPS Calib lines must not be moved again on reading
        text = without_applied_calibration(str(a.get("comments", "") or ""),
                                           a.get("casa_calibration", 0.0))
        comments = [_text(c) for c in text.splitlines()]
        technique = str(a.get("technique", "XPS"))
        out = [block_id, _text(a.get("sample", ""))]
        out += _date_lines(a.get("acquisition_time", ""))
        out += [str(len(comments)), *comments]
        out += [technique if technique in _TECHNIQUES else "XPS"]
        out += ["0"]                                    # [11] the one experimental variable
        out += [_source_label(self.hv), _num(self.hv)]  # [12] source label, [14] hν
        out += [SENTINEL, SENTINEL, SENTINEL]           # [15] strength, [16] beam width x, y
        out += ["0", "0"]                               # [19], [20] source polar/azimuth
        out += ["FAT", _num(_finite_or_nan(a.get("pass_energy")))]   # [21] mode, [22] pass energy
        if technique == "AES diff":
            out += [SENTINEL]                           # [23] differential width
        out += [SENTINEL]                               # [24] lens magnification
        out += [_num(_finite_or_nan(a.get("work_function")))]        # [25]
        out += ["0", SENTINEL, SENTINEL, "0", "0"]      # [26] bias, [27] width x, y, [28] take-off
        out += [species, transition, "-1"]              # [29], [30] + particle charge
        abscissa = "Kinetic Energy" if self.kinetic else "Binding Energy"
        if regular:
            start, inc = self.start_increment()
            out += [abscissa, "eV", _num(start), _num(inc)]          # [31]
        columns: list[tuple[str, str, np.ndarray]] = []
        if not regular:
            columns.append((abscissa, "eV", self.x))
        columns.append((*_ordinate_label(a), self.y))
        if self.trans is not None:
            columns.append(("Transmission", "d", self.trans))
        out += [str(len(columns))]                      # [32]
        for label, units, _ in columns:
            out += [label, units]
        out += ["pulse counting", _num(_finite_or_nan(a.get("dwell")))]  # [33], [34]
        out += [_num(_scans(a.get("scans", 1)))]        # [35]
        out += ["0", "0", "0", "0"]                     # [36] dead time, [38] tilt, [39] rotation
        out += ["0"]                                    # [40] no additional parameters
        slab = np.column_stack([c[2] for c in columns])
        out += [str(slab.size)]
        for col in slab.T:
            out += [_num(col.min()), _num(col.max())]
        out += [_num(v) for v in slab.ravel()]          # interleaved by point
        return out


def _header(institution, instrument, operator, experiment, comments, blocks, regular) -> list[str]:
    comment_lines = [_text(c) for text in comments for c in (str(text).splitlines() or [""])]
    regions = {_species_transition(b.attrs) for b in blocks}
    return [VAMAS_ID, _text(institution), _text(instrument), _text(operator), _text(experiment),
            str(len(comment_lines)), *comment_lines,
            "NORM", "REGULAR" if regular else "IRREGULAR",
            str(len(regions)),                  # number of spectral regions
            "1", "Exp Variable", "d",           # one experimental variable, as CasaXPS writes
            "0",                                # inclusion list: all block items present
            "0",                                # manually entered items
            "0", "0",                           # future-upgrade experiment / block entries
            str(len(blocks))]


def _atomic_write(target: Path, text: str) -> None:
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"folder {folder} does not exist", path=target)
    try:
        # Latin-1 is what VAMAS readers (CasaXPS included) expect; other characters become "?"
        with atomic_write(target, "w", encoding="latin-1", errors="replace", newline="",
                          what="VAMAS file") as fh:
            fh.write(text)
    except OSError as exc:
        raise ExportError(f"cannot write VAMAS file: {exc.strerror or exc}", path=target) from exc


def _num(v: float) -> str:
    """Shortest text that parses back to the same float; ``1e+37`` for NaN."""
    v = float(v)
    if not math.isfinite(v):
        return SENTINEL
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _finite_or_nan(v) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _scans(v) -> float:
    v = _finite_or_nan(v)
    return float(round(v)) if math.isfinite(v) and v >= 1 else math.nan


def _text(v) -> str:
    """One VAMAS line: embedded newlines would shift every following positional item."""
    return _NEWLINES.sub(" ", str(v))


def _species_transition(a: dict) -> tuple[str, str]:
    species, transition = _text(a.get("species", "")), _text(a.get("transition", ""))
    if species or transition:
        return species, transition
    parts = _text(a.get("region", "")).split(None, 1)
    if len(parts) == 2:
        return parts[0], parts[1]
    return (parts[0] if parts else ""), ""


def _ordinate_label(a: dict) -> tuple[str, str]:
    unit = a.get("counts_unit", "counts")
    if unit == "counts/s":
        return "counts per second", "c/s"
    if unit == "arbitrary":
        return "Intensity", "d"
    return "counts", "d"


def _source_label(hv: float) -> str:
    for energy, label in _SOURCES:
        if math.isfinite(hv) and abs(hv - energy) < 0.5:
            return label
    return "X-ray"


def _date_lines(iso: str) -> list[str]:
    """[1]-[7] year, month, day, hours, minutes, seconds, hours ahead of GMT (0 when unknown)."""
    try:
        t = datetime.fromisoformat(str(iso))
    except ValueError:
        return ["0"] * 7
    offset = t.utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0
    return [str(t.year), str(t.month), str(t.day), str(t.hour), str(t.minute), str(t.second),
            _num(hours)]
