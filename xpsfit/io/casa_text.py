"""CasaXPS text exports (``.txt``): the "lineshapes in columns" export and the plain spectrum
export. One block per spectrum::

    Cycle 0:FeO:Fe2p                                         cycle:sample:region
    <TAB>Characteristic Energy eV<TAB>1486.61<TAB>Acquisition Time s<TAB>2
    Name<TAB><TAB>Fe 2p<TAB>...                              component table (may be empty)
    Position / FWHM / Area / Lineshape rows
    K.E.<TAB>Counts<TAB><comp>...<TAB>Background<TAB>Envelope<TAB><TAB>B.E.<TAB>CPS<TAB>...
    rows of numbers

The first column group (energy, counts, components, background, envelope) is read; the group
after the empty column repeats it in c/s. Components, background and envelope are CasaXPS's fit:
kept as peer curves (:mod:`xpsfit.io.peer_curves`; CasaXPS's component columns include the
background, which is removed). Counts are the numbers of the VAMAS file the export came from.
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

NAME = "casa_text"
SUFFIXES = (".txt",)
#: the K.E. columns are CasaXPS's, from Fermi-referenced VAMAS data (io.energy_scale)
FERMI_REFERENCED_KE = True

_CYCLE = re.compile(r"^Cycle \d+:")
_TABLE_ROWS = ("Name", "Position", "FWHM", "Area", "Lineshape")


def sniff(head: bytes, path: Path) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf\r\n")
    return re.match(rb"Cycle \d+:", text) is not None and b"Characteristic Energy" in text[:400]


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def read(path, **options) -> list:
    path = Path(path)
    lines = path.read_bytes().decode("latin-1").splitlines()
    starts = [i for i, ln in enumerate(lines) if _CYCLE.match(ln)]
    spectra = []
    for k, at in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        spectra.append(_block(path, lines, at, end, k))
    if not spectra:
        raise FileFormatError("CasaXPS text export: no 'Cycle n:' block", path=path)
    return spectra


def _block(path: Path, lines: list[str], at: int, end: int, index: int):
    title = lines[at].strip()
    _, sample, region = (title.split(":", 2) + ["", ""])[:3]
    meta = lines[at + 1].split("\t") if at + 1 < end else []
    hv = _float(meta[meta.index("Characteristic Energy eV") + 1]) \
        if "Characteristic Energy eV" in meta else math.nan
    acq = _float(meta[meta.index("Acquisition Time s") + 1]) \
        if "Acquisition Time s" in meta else math.nan
    table = {}
    header_at = None
    for j in range(at + 2, end):
        first = lines[j].split("\t")[0]
        if first in _TABLE_ROWS:
            table[first] = [c.strip() for c in lines[j].split("\t")[2:]]
        elif first in ("K.E.", "B.E."):
            header_at = j
            break
    if header_at is None:
        raise FileFormatError("CasaXPS text export: block has no 'K.E.' or 'B.E.' header row",
                              path=path, line=at + 1, block=index)
    header = lines[header_at].split("\t")
    group = header[:header.index("")] if "" in header else header
    rows = []
    for j in range(header_at + 1, end):
        if not lines[j].strip():
            break
        f = lines[j].split("\t")
        try:
            if len(f) < len(group):
                raise ValueError
            rows.append([float(v) for v in f[:len(group)]])
        except ValueError:
            raise FileFormatError(f"CasaXPS text export: not {len(group)} numbers: "
                                  f"{lines[j][:60]!r}",
                                  path=path, line=j + 1, block=index) from None
    if len(rows) < 2:
        raise FileFormatError("CasaXPS text export: fewer than 2 data rows", path=path,
                              line=header_at + 1, block=index)
    data = np.array(rows)
    energy, counts = data[:, 0], data[:, 1]
    axis = "KE" if group[0] == "K.E." else "BE"
    unit = "counts/s" if group[1].strip().upper() == "CPS" else "counts"
    spectrum = make_spectrum(
        energy, counts, axis=axis, excitation_energy=hv, path=str(path), block=index,
        region=region_from_text(region) or normalise_region(region), block_name=region,
        label=f"{sample}:{region}" if sample else region, sample=sample,
        dwell=acq, scans=1, counts_unit=unit, format=NAME, technique="XPS")
    labels = group[2:]
    if "Background" in labels:
        b = labels.index("Background")
        comps = [(labels[i], data[:, 2 + i]) for i in range(b)]
        envelope = data[:, 2 + labels.index("Envelope")] if "Envelope" in labels else None
        text = "\n".join(" | ".join(row) for row in zip(*(
            [key] + table.get(key, []) for key in _TABLE_ROWS)) if any(row[1:]) or
            row[0] == "Name") if table.get("Name") else ""
        spectrum = add_peer_curves(spectrum, "CasaXPS", energy, comps,
                                   background=data[:, 2 + b], envelope=envelope, table=text,
                                   components_include_background=True)
    return spectrum
