"""Thermo Avantage-style CSV exports with fit columns (layout as described for the
``data/xps_raw`` exports in ``real_spectra/MANIFEST.md``; no such file is in the shared set)::

    <blank rows>
    Characteristic Energy eV,1486.6,Acquisition Time s,0.1,...
    BE_C1s,CPS_C1s,C-C_1_C1s,C-O_2_C1s,...,Background_C1s,Envelope_C1s
    rows of numbers (binding energy descending)

The measured intensity (``CPS_<region>``, counts per second) is read; the component, background
and envelope columns are the exporting program's fit, kept as peer curves
(:mod:`xpsfit.io.peer_curves`). Whether the exported component columns include the background is
decided from the data: they do when every component curve stays at or above the background.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum, normalise_region
from . import region_from_text
from .peer_curves import add_peer_curves

NAME = "avantage_csv"
SUFFIXES = (".csv",)

def _start(lines: list[str]) -> int | None:
    for i, ln in enumerate(lines[:20]):
        if ln.startswith("Characteristic Energy eV,"):
            return i
        if ln.strip(", \t"):
            return None
    return None


def sniff(head: bytes, path: Path) -> bool:
    lines = head.decode("latin-1").splitlines()
    at = _start(lines)
    return at is not None and at + 1 < len(lines) and lines[at + 1].startswith("BE_")


def _meta(line: str) -> dict[str, float]:
    cells = [c.strip() for c in line.split(",")]
    out = {}
    for k in range(0, len(cells) - 1, 2):
        try:
            out[cells[k]] = float(cells[k + 1])
        except ValueError:
            continue
    return out


def read(path, **options) -> list:
    path = Path(path)
    lines = path.read_bytes().decode("latin-1").splitlines()
    at = _start(lines)
    if at is None or at + 1 >= len(lines):
        raise FileFormatError("Avantage CSV: no 'Characteristic Energy eV' line", path=path)
    meta = _meta(lines[at])
    header = [c.strip() for c in lines[at + 1].split(",")]
    region_tag = header[0][3:]
    try:
        cps = header.index(f"CPS_{region_tag}")
        bg = header.index(f"Background_{region_tag}")
    except ValueError:
        raise FileFormatError(f"Avantage CSV: header lacks CPS_{region_tag} or "
                              f"Background_{region_tag}", path=path, line=at + 2) from None
    env = header.index(f"Envelope_{region_tag}") if f"Envelope_{region_tag}" in header else None
    rows = []
    for j in range(at + 2, len(lines)):
        if not lines[j].strip(", \t"):
            break
        try:
            rows.append([float(c) if c.strip() else math.nan
                         for c in lines[j].split(",")[:len(header)]])
        except ValueError:
            raise FileFormatError(f"Avantage CSV: not numbers: {lines[j][:60]!r}", path=path,
                                  line=j + 1) from None
    if len(rows) < 2 or any(len(r) < len(header) for r in rows):
        raise FileFormatError("Avantage CSV: fewer than 2 complete data rows", path=path,
                              line=at + 3)
    data = np.array(rows)
    energy = data[:, 0]
    hv = meta.get("Characteristic Energy eV", math.nan)
    spectrum = make_spectrum(
        energy, data[:, cps], axis="BE", excitation_energy=hv, path=str(path), block=0,
        region=region_from_text(region_tag) or normalise_region(region_tag), block_name=region_tag,
        label=region_tag, dwell=meta.get("Acquisition Time s", math.nan), scans=1,
        counts_unit="counts/s", format=NAME, technique="XPS")
    comp_cols = [k for k in range(cps + 1, bg)]
    comps = [(re.sub(rf"_{re.escape(region_tag)}$", "", header[k]), data[:, k])
             for k in comp_cols]
    background = data[:, bg]
    with_bg = bool(comps) and all(np.nanmin(c - background) >= -1e-6 * np.nanmax(np.abs(c))
                                  for _, c in comps)
    return [add_peer_curves(spectrum, "Avantage", energy, comps, background=background,
                            envelope=data[:, env] if env is not None else None,
                            components_include_background=with_bg)]
