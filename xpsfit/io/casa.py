"""CasaXPS processing lines kept in VAMAS block comments, parsed into plain records.

CasaXPS writes its quantification regions and fit components into the block comment lines::

    CASA region (*Fe 2p*) (*U 3 Tougaard*) 737.52 786.76 16.42 2 0 0 ...
    CASA comp (*Fe 2p*) (*LF(0.54,10,80,100,6)*) Area 63507.374 1e-020 6383903.5 -1 1
        MFWHM 3.8576 1.07 26.75 -1 1 Position 777.56313 738.01 782.59919 -1 1 RSF ...
    Calib M = 6.8 A = 0 BE ADD

Positions and region limits are stored on the **kinetic-energy** scale even when the data axis
is binding energy, so they are converted with the block's own excitation energy,
BE = hν − stored (xps_domain.md 8.1). The reader keeps the lines raw in
``attrs["comments"]``; this module only interprets them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import xarray as xr

from ..errors import FileFormatError

_TOKEN = re.compile(r"\(\*(.*?)\*\)|(\S+)")


@dataclass(frozen=True)
class CasaRegion:
    """A CasaXPS quantification/background region."""

    name: str
    background: str          # e.g. "Shirley", "U 3 Tougaard", "Linear"
    start_be: float          # region limits converted to binding energy (eV)
    end_be: float
    rsf: float
    av_width: float          # end-point averaging width (channels)
    start: float             # limits exactly as stored (kinetic-energy scale)
    end: float
    raw: str
    start_offset: float = 0.0   # % of the end-point intensity removed from each end
    end_offset: float = 0.0
    cross_section: tuple[float, ...] = ()   # background parameters (Tougaard B, C, D, ...)


@dataclass(frozen=True)
class CasaComponent:
    """A CasaXPS fit component (one synthetic peak)."""

    name: str
    lineshape: str           # CasaXPS text, e.g. "GL(30)", "LA(1.4,1.7,100)"
    area: float
    fwhm: float              # CasaXPS "MFWHM" value (eV)
    position_be: float       # converted to binding energy (eV)
    position: float          # as stored (kinetic-energy scale)
    position_min_be: float   # fit constraint range, converted (low <= high; NaN when tied)
    position_max_be: float
    rsf: float
    raw: str
    # constraints as stored: (min, max) and a link (index of the component it follows in file
    # order, -1 for none; factor for area and width, KE offset for the position)
    area_bounds: tuple[float, float] = (0.0, math.inf)
    area_link: tuple[int, float] = (-1, 1.0)
    fwhm_bounds: tuple[float, float] = (0.0, math.inf)
    fwhm_link: tuple[int, float] = (-1, 1.0)
    position_link: tuple[int, float] = (-1, 0.0)


def _tokens(line: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2)
            for m in _TOKEN.finditer(line)]


def _float(tokens: list[str], at: int, line: str, key: str) -> float:
    try:
        return float(tokens[at])
    except (IndexError, ValueError):
        raise FileFormatError(f"CasaXPS line has no number after {key}: {line.strip()[:80]}",
                              key=key) from None


def _after(tokens: list[str], key: str, line: str, offset: int = 1) -> float:
    if key not in tokens:
        raise FileFormatError(f"CasaXPS component line lacks {key}: {line.strip()[:80]}",
                              key=key)
    return _float(tokens, tokens.index(key) + offset, line, key)


def _optional_after(tokens: list[str], key: str, line: str) -> float:
    return _after(tokens, key, line) if key in tokens else math.nan


def counts_per_casa_area(spectrum: xr.DataArray) -> float:
    """xpsfit area (counts·eV) per CasaXPS area: CasaXPS reports areas of the spectrum in counts
    per second (counts / (dwell × scans)); 1 when dwell or scans are unknown."""
    a = spectrum.attrs
    try:
        factor = float(a.get("dwell", math.nan)) * float(a.get("scans", math.nan))
    except (TypeError, ValueError):
        return 1.0
    return factor if math.isfinite(factor) and factor > 0 else 1.0


def _comment_lines(spectrum: xr.DataArray) -> list[str]:
    return [ln.strip() for ln in str(spectrum.attrs.get("comments", "")).split("\n")]


def _hv(spectrum: xr.DataArray) -> float:
    return float(spectrum.attrs.get("excitation_energy", math.nan))


def parse_region(line: str, excitation_energy: float) -> CasaRegion:
    """One ``CASA region`` line; limits converted with BE = hν − stored."""
    t = _tokens(line)
    # t: CASA region name background start end rsf av_width ...
    if len(t) < 8:
        raise FileFormatError(f"short CasaXPS region line: {line.strip()[:80]}",
                              key="CASA region")
    start, end = _float(t, 4, line, "start"), _float(t, 5, line, "end")
    extra = {}
    if len(t) >= 14:
        extra = dict(start_offset=_float(t, 8, line, "start offset"),
                     end_offset=_float(t, 9, line, "end offset"),
                     cross_section=tuple(_float(t, k, line, "cross section")
                                         for k in range(10, 14)))
    return CasaRegion(name=t[2], background=t[3], start_be=excitation_energy - start,
                      end_be=excitation_energy - end, rsf=_float(t, 6, line, "RSF"),
                      av_width=_float(t, 7, line, "av_width"), start=start, end=end, raw=line,
                      **extra)


def _constraint(t: list[str], key: str, line: str) -> tuple[tuple[float, float], tuple[int, float]]:
    """(min, max), (link index, link factor) stored after ``key``'s value; no link when absent."""
    at = t.index(key)
    lo, hi = _float(t, at + 2, line, key), _float(t, at + 3, line, key)
    try:
        link = (int(float(t[at + 4])), float(t[at + 5]))
    except (IndexError, ValueError):
        link = (-1, 1.0)
    return (lo, hi), link


def parse_component(line: str, excitation_energy: float) -> CasaComponent:
    """One ``CASA comp`` line; the position converted with BE = hν − stored."""
    t = _tokens(line)
    if len(t) < 4:
        raise FileFormatError(f"short CasaXPS component line: {line.strip()[:80]}",
                              key="CASA comp")
    position = _after(t, "Position", line)
    stored_lo, stored_hi = _after(t, "Position", line, 2), _after(t, "Position", line, 3)
    if stored_lo == stored_hi == 0.0:
        # CasaXPS writes "0 0" for a position tied to another component: no own range
        lo = hi = math.nan
    else:
        lo, hi = excitation_energy - stored_lo, excitation_energy - stored_hi
    area_bounds, area_link = _constraint(t, "Area", line)
    fwhm_bounds, fwhm_link = _constraint(t, "MFWHM", line)
    _, position_link = _constraint(t, "Position", line)
    return CasaComponent(name=t[2], lineshape=t[3], area=_after(t, "Area", line),
                         fwhm=_after(t, "MFWHM", line), position_be=excitation_energy - position,
                         position=position, position_min_be=min(lo, hi),
                         position_max_be=max(lo, hi), rsf=_optional_after(t, "RSF", line),
                         raw=line, area_bounds=area_bounds, area_link=area_link,
                         fwhm_bounds=fwhm_bounds, fwhm_link=fwhm_link,
                         position_link=position_link)


def _parse_all(spectrum: xr.DataArray, prefix: str, parse, excitation_energy: float | None):
    hv = _hv(spectrum) if excitation_energy is None else float(excitation_energy)
    try:
        return [parse(ln, hv) for ln in _comment_lines(spectrum) if ln.startswith(prefix)]
    except FileFormatError as exc:
        # say which file and block the broken line came from
        raise FileFormatError(exc.message, path=spectrum.attrs.get("source_file") or None,
                              block=spectrum.attrs.get("block_index"), key=exc.key) from None


def casa_regions(spectrum: xr.DataArray, excitation_energy: float | None = None
                 ) -> list[CasaRegion]:
    """CasaXPS regions stored in ``spectrum.attrs["comments"]`` (empty list when none).
    ``excitation_energy`` overrides the spectrum's hν for the KE -> BE conversion."""
    return _parse_all(spectrum, "CASA region", parse_region, excitation_energy)


def casa_components(spectrum: xr.DataArray, excitation_energy: float | None = None
                    ) -> list[CasaComponent]:
    """CasaXPS fit components stored in ``spectrum.attrs["comments"]``, in file order."""
    return _parse_all(spectrum, "CASA comp", parse_component, excitation_energy)


_CALIB = re.compile(r"^Calib\s+M\s*=\s*(\S+)\s+A\s*=\s*(\S+)\s+(BE|KE)\s+ADD\b", re.IGNORECASE)


def calibration_shift(spectrum: xr.DataArray) -> float:
    """Binding-energy shift (eV, to add to the BE axis) from CasaXPS ``Calib M = .. A = ..``
    lines; 0.0 when there are none.

    A BE calibration moves the measured M to the aligned A, so BE shifts by A − M; a KE
    calibration moves kinetic energies by A − M, i.e. binding energies by M − A. Several lines
    add up. Range calibrations (several comma-separated M values) rescale the axis rather than
    shift it and are not represented here: they raise :class:`FileFormatError`.
    """
    total = 0.0
    for ln in _comment_lines(spectrum):
        m = _CALIB.match(ln)
        if not m:
            continue
        try:
            measured, aligned = float(m.group(1)), float(m.group(2))
        except ValueError:
            raise FileFormatError(f"unsupported CasaXPS calibration (not a single shift): {ln}",
                                  path=str(spectrum.attrs.get("source_file", "")) or None,
                                  block=spectrum.attrs.get("block_index"),
                                  key="Calib") from None
        delta = aligned - measured
        total += delta if m.group(3).upper() == "BE" else -delta
    return total


#: ``attrs["energy_frame"]`` values
FRAME_AS_ACQUIRED = "as acquired"
FRAME_CASA_CALIBRATED = "CasaXPS calibrated"


def apply_calibration(spectrum: xr.DataArray) -> xr.DataArray:
    """The spectrum in CasaXPS's calibrated frame, the frame its ``CASA region``/``CASA comp``
    positions are in: the BE axis moved by :func:`calibration_shift`, recorded in
    ``attrs["casa_calibration"]`` (eV added) and ``attrs["energy_frame"]``. A calibration that is
    not a single shift is not applied: the frame then says so, and the CasaXPS model of that block
    does not match its axis (``recipe from-casa`` refuses it)."""
    from ..spectrum import DIM

    out = spectrum.copy(deep=False)
    out.attrs = dict(spectrum.attrs)
    try:
        delta = calibration_shift(spectrum)
    except FileFormatError as exc:
        out.attrs["casa_calibration"] = math.nan
        out.attrs["energy_frame"] = f"{FRAME_AS_ACQUIRED} ({exc.message}; not applied)"
        return out
    out.attrs["casa_calibration"] = delta
    if delta == 0.0:
        out.attrs["energy_frame"] = FRAME_AS_ACQUIRED
        return out
    out = out.assign_coords({DIM: spectrum[DIM].values + delta})
    out.attrs["energy_frame"] = f"{FRAME_CASA_CALIBRATED} ({delta:+g} eV from the Calib lines)"
    return out
