"""PHI MultiPak ``.spe`` spectrum files.

A text header between ``SOFH`` and ``EOFH`` (one ``SpectralRegDef:`` line per region: index,
index, name, atomic number, points, step, start, end, …, time per point, pass energy), then a
little-endian binary part:

* 16 bytes: four int32 (?, number of regions, size of the descriptor table, 16);
* one 96-byte descriptor per region: 24 int32 of which [5] = points, [19] = data size in bytes
  and [20] = data offset from the start of the binary part; bytes 72–73 hold a type tag
  (``f4``, ``f8`` or ``u8``; the size per point, 4 or 8, says float32 or float64 — ``u8``
  data in the files seen are float64 too);
* the data: counts per second.

Counts = c/s × the header's time per point (dwell × sweeps): this reproduces MultiPak's own ASCII
export to the count (checked on a 6-region multiplex). Depth profiles (``FileType: DEPTHPRO``)
are refused.
"""
from __future__ import annotations

import math
import re
import struct
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum, normalise_region
from . import integral_counts, limits, region_from_text

NAME = "phi_spe"
SUFFIXES = (".spe",)

_SOURCES = {"al": 1486.6, "mg": 1253.6}


def sniff(head: bytes, path: Path) -> bool:
    return head.lstrip(b"\r\n").startswith(b"SOFH")


def _header(data: bytes, path: Path) -> tuple[list[str], int]:
    end = data.find(b"EOFH")
    if end < 0:
        raise FileFormatError("no EOFH: PHI header is incomplete (truncated?)", path=path)
    nl = data.find(b"\n", end)
    if nl < 0:
        raise FileFormatError("file ends right after the PHI header (no data)", path=path)
    return data[:end].decode("latin-1").splitlines(), nl + 1


def _hv(text: str) -> float:
    m = re.search(r"(\d+(?:\.\d+)?)", text)
    if m:
        return float(m.group(1))
    m = re.match(r"\s*(Al|Mg)", text, re.I)
    return _SOURCES[m.group(1).lower()] if m else math.nan


def read(path, **options) -> list:
    path = Path(path)
    data = limits.read_bytes(path)
    lines, start = _header(data, path)
    keys: dict[str, str] = {}
    regions = []
    for lineno, line in enumerate(lines, 1):
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        keys.setdefault(key, value)
        if key == "SpectralRegDef":
            f = value.split()
            try:
                regions.append(dict(name=f[2], points=int(f[4]), step=float(f[5]),
                                    start=float(f[6]), end=float(f[7]), time=float(f[10]),
                                    pe=float(f[11]), line=lineno))
            except (IndexError, ValueError):
                raise FileFormatError(f"bad SpectralRegDef line: {value[:60]!r}", path=path,
                                      line=lineno) from None
    file_type = keys.get("FileType", "SPECTRUM").upper()
    if file_type != "SPECTRUM":
        raise FileFormatError(f"PHI file type {file_type!r} is not supported (only SPECTRUM; "
                              "depth profiles and maps are not read)", path=path)
    if not regions:
        raise FileFormatError("PHI header has no SpectralRegDef line", path=path)
    binary = data[start:]
    if len(binary) < 16:
        raise FileFormatError("PHI binary part is missing (truncated file)", path=path)
    _, n_regions, table_size, _ = struct.unpack_from("<4i", binary, 0)
    if n_regions != len(regions) or n_regions <= 0 or table_size != 96 * n_regions:
        raise FileFormatError(f"binary part describes {n_regions} regions, header "
                              f"{len(regions)}", path=path)
    hv = _hv(keys.get("XraySource", ""))
    spectra = []
    for i, reg in enumerate(regions):
        base = 16 + 96 * i
        if base + 96 > len(binary):
            raise FileFormatError("region descriptor table is truncated", path=path, block=i)
        desc = struct.unpack_from("<24i", binary, base)
        points, size, offset = desc[5], desc[19], desc[20]
        if points != reg["points"]:
            raise FileFormatError(f"region {reg['name']!r}: binary says {points} points, "
                                  f"header {reg['points']}", path=path, block=i)
        width = size // points if points else 0
        if width not in (4, 8) or width * points != size:
            raise FileFormatError(f"region {reg['name']!r}: unexpected data size {size} for "
                                  f"{points} points", path=path, block=i)
        if offset < 0 or offset + size > len(binary):
            raise FileFormatError(f"region {reg['name']!r}: data run past the end of the file "
                                  "(truncated)", path=path, block=i)
        cps = np.frombuffer(binary, dtype="<f4" if width == 4 else "<f8", count=points,
                            offset=offset).astype(float)
        energy = reg["start"] + reg["step"] * np.arange(points)
        if not math.isclose(energy[-1], reg["end"], abs_tol=abs(reg["step"]) * 0.51):
            raise FileFormatError(f"region {reg['name']!r}: start/step/points do not reach the "
                                  f"stated end {reg['end']}", path=path, line=reg["line"])
        time = reg["time"]
        if time > 0:
            counts, unit, converted = integral_counts(cps * time), "counts", "counts/s"
        else:
            counts, unit, converted = cps, "counts/s", ""
        spectra.append(make_spectrum(
            energy, counts, axis="BE", excitation_energy=hv, path=str(path), block=i,
            region=_region(reg["name"]), block_name=reg["name"], label=reg["name"],
            sample=keys.get("FileDesc", ""),
            work_function=_float(keys.get("AnalyserWorkFcn", "")),
            scans=1, dwell=time, pass_energy=reg["pe"],
            acquisition_time=keys.get("AcqFileDate", ""), counts_unit=unit,
            converted_from=converted, format=NAME, technique=keys.get("Technique", "XPS")))
    return spectra


def _region(name: str) -> str:
    """PHI names regions like ``Bi4f``, ``Sr3d``; surveys are ``Su1s`` or ``1su``."""
    found = region_from_text(name)
    if found:
        return found
    return "Survey" if re.fullmatch(r"\d*su\d*s?", name, re.I) else normalise_region(name)


def _float(text: str) -> float:
    m = re.search(r"-?\d+(?:\.\d+)?", text)
    return float(m.group(0)) if m else math.nan
