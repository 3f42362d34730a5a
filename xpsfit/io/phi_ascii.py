"""PHI MultiPak ASCII export (``.txt``): a first line ``Cycles n; Regions m; Anode Mg; Photon
Energy 1253.6; XPS;``, a line of region names and one of numbers, then per region a line
``Element Bi 4f; Region 1 of 6; Depth Cycle 1 of 1; Time Per Step 50; Sweeps 8; ...`` followed
by ``energy<TAB>counts`` rows (binding energy, descending) up to a blank line.

The counts are those of the ``.spe`` file the export came from (the PHI reader rebuilds them from
c/s × time per point and agrees to the count). Time Per Step is in ms per sweep.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum, normalise_region
from . import integral_counts

NAME = "phi_ascii"
SUFFIXES = (".txt",)

_FIRST = re.compile(rb"Cycles \d+; Regions \d+;")
_FIELD = re.compile(r"\s*([^;]+?)\s+([-+\d.eE]+|[A-Za-z][\w ]*)\s*$")


def sniff(head: bytes, path: Path) -> bool:
    return _FIRST.match(head.lstrip(b"\xef\xbb\xbf\r\n")) is not None


def _fields(line: str) -> dict[str, str]:
    """``"Element Bi 4f; Region 1 of 6; Sweeps 8"`` -> {"Element": "Bi 4f", "Region": "1 of 6",
    "Sweeps": "8"} (the key is the first word, or two for Time Per Step / Photon Energy)."""
    out = {}
    for part in line.split(";"):
        part = part.strip()
        if not part:
            continue
        for key in ("Time Per Step", "Photon Energy", "Depth Cycle", "Element", "Region",
                    "Sweeps", "Anode", "Cycles", "Regions"):
            if part.startswith(key + " "):
                out[key] = part[len(key):].strip()
                break
        else:
            out[part] = ""
    return out


def _number(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def read(path, **options) -> list:
    path = Path(path)
    lines = path.read_bytes().decode("latin-1").splitlines()
    head = _fields(lines[0])
    hv = _number(head.get("Photon Energy"))
    blocks: list[tuple[int, dict]] = [(i, _fields(ln)) for i, ln in enumerate(lines)
                                      if ln.startswith("Element ")]
    if not blocks:
        raise FileFormatError("PHI MultiPak ASCII: no 'Element ...; Region ...' line", path=path)
    spectra = []
    for k, (at, info) in enumerate(blocks):
        rows = []
        for j in range(at + 1, len(lines)):
            f = lines[j].split()
            if not f:
                break
            try:
                rows.append((float(f[0]), float(f[1])))
            except (IndexError, ValueError):
                raise FileFormatError(f"PHI MultiPak ASCII: not two numbers: "
                                      f"{lines[j].strip()[:60]!r}", path=path, line=j + 1) from None
        if len(rows) < 2:
            raise FileFormatError(f"PHI MultiPak ASCII: region {info.get('Element', k + 1)} "
                                  "has fewer than 2 data rows", path=path, line=at + 1)
        energy, counts = np.array(rows).T
        name = info.get("Element", f"region {k + 1}")
        step_ms = _number(info.get("Time Per Step"))
        sweeps = _number(info.get("Sweeps"))
        spectra.append(make_spectrum(
            energy, integral_counts(counts), axis="BE", excitation_energy=hv, path=str(path),
            block=k, region=normalise_region(name), block_name=name, label=name,
            scans=sweeps if math.isfinite(sweeps) else 1,
            dwell=step_ms / 1000.0 if math.isfinite(step_ms) else math.nan,
            counts_unit="counts", format=NAME, technique="XPS",
            source_label=head.get("Anode", "")))
    return spectra
