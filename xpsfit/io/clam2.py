"""CLAM2 synchrotron EDC text (SLRI BL3.2Ua and others): a header (``Fix Photon Energy: 600 eV``,
``Kinetic Energy Scan: 50 - 75 eV``, ``Number of scan : 10``), a column header ``Energy (eV)
CPS Ie (mA) Ip (A) CPS/Ip Avg CPS Avg CPS/Ip``, then one block per scan (``Scan : n``) of rows.

The spectrum is the mean count rate over the complete scans (c/s, kinetic-energy axis; what the
file's running ``Avg CPS`` column reaches in its last scan). Beam-current normalisation (CPS/Ip)
is left to the user: it is not a counting statistic.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum
from . import region_from_text

NAME = "clam2"
SUFFIXES = (".txt",)

_HV = re.compile(r"Fix Photon Energy:\s*([-+\d.eE]+)")
_SCAN = re.compile(r"^Scan :\s*(\d+)")


def sniff(head: bytes, path: Path) -> bool:
    return b"CLAM2" in head[:300] and b"Scan :" in head


def read(path, *, region: str | None = None, **options) -> list:
    path = Path(path)
    lines = path.read_bytes().decode("latin-1").splitlines()
    text = "\n".join(lines[:40])
    m = _HV.search(text)
    hv = float(m.group(1)) if m else math.nan
    scans: list[list[tuple[float, float]]] = []
    for i, line in enumerate(lines, 1):
        if _SCAN.match(line.strip()):
            scans.append([])
            continue
        f = line.split("\t")
        if not scans or not line.strip():
            continue
        try:
            scans[-1].append((float(f[0]), float(f[1])))
        except (IndexError, ValueError):
            raise FileFormatError(f"CLAM2: not numbers: {line.strip()[:60]!r}", path=path,
                                  line=i) from None
    scans = [s for s in scans if s]
    if not scans:
        raise FileFormatError("CLAM2: no 'Scan : n' block with data", path=path)
    n = len(scans[0])
    complete = [np.array(s) for s in scans if len(s) == n]
    energy = complete[0][:, 0]
    if any(not np.allclose(s[:, 0], energy) for s in complete):
        raise FileFormatError("CLAM2: the scans have different energy points", path=path)
    cps = np.mean([s[:, 1] for s in complete], axis=0)
    name = region or region_from_text(path.stem) or ""
    return [make_spectrum(energy, cps, axis="KE", excitation_energy=hv, path=str(path), block=0,
                          region=name, block_name=path.stem, label=path.stem,
                          scans=len(complete), counts_unit="counts/s", format=NAME,
                          technique="XPS")]
