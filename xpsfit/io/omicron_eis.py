"""Omicron EIS multi-region text export (``.txt``, tab-separated): per region a header row
``Region Enabled DataFlag Start End Step Sweeps Dwell Mode CAE/CRR ... Notes ...`` and its values,
a ``Layer ...`` row and its values (the channel formula), then ``Energy Counts`` and the data rows
(binding energy, summed counts) up to the next ``Region`` row.

The export states no excitation energy; the region name is taken from ``Notes`` (e.g. ``C1s`` ->
"C 1s"). A layer row other than the first of a region (several formulas) is not read.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum, normalise_region
from . import integral_counts, region_from_text

NAME = "omicron_eis"
SUFFIXES = (".txt",)

_HEADER = "Region\tEnabled\tDataFlag"


def sniff(head: bytes, path: Path) -> bool:
    return head.lstrip(b"\xef\xbb\xbf\r\n").startswith(_HEADER.encode())


def _number(row: dict, key: str) -> float:
    try:
        return float(row.get(key, ""))
    except ValueError:
        return math.nan


def read(path, **options) -> list:
    path = Path(path)
    lines = path.read_bytes().decode("latin-1").splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.startswith(_HEADER)]
    spectra = []
    for k, at in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        if at + 1 >= end:
            raise FileFormatError("Omicron EIS text: region header without values", path=path,
                                  line=at + 1)
        row = dict(zip(lines[at].split("\t"), lines[at + 1].split("\t")))
        try:
            data_at = next(j for j in range(at, end) if lines[j].startswith("Energy\t"))
        except StopIteration:
            raise FileFormatError("Omicron EIS text: region has no 'Energy Counts' row",
                                  path=path, line=at + 1) from None
        rows = []
        for j in range(data_at + 1, end):
            f = lines[j].split("\t")
            if not lines[j].strip():
                continue
            try:
                rows.append((float(f[0]), float(f[1])))
            except (IndexError, ValueError):
                raise FileFormatError(f"Omicron EIS text: not two numbers: "
                                      f"{lines[j].strip()[:60]!r}", path=path, line=j + 1) from None
        if len(rows) < 2:
            raise FileFormatError("Omicron EIS text: region has fewer than 2 data rows",
                                  path=path, line=data_at + 1)
        energy, counts = np.array(rows).T
        name = row.get("Notes", "").strip() or f"region {row.get('Region', k + 1)}"
        sweeps = _number(row, "Sweeps-Acquired")
        if not math.isfinite(sweeps):
            sweeps = _number(row, "Sweeps")
        spectra.append(make_spectrum(
            energy, integral_counts(counts), axis="BE", path=str(path), block=k,
            region=region_from_text(name) or normalise_region(name), block_name=name,
            label=name, scans=sweeps if math.isfinite(sweeps) else 1,
            dwell=_number(row, "Dwell"), pass_energy=_number(row, "CAE/CRR"),
            analyser_mode=row.get("Mode", ""), counts_unit="counts", format=NAME,
            technique="XPS"))
    if not spectra:
        raise FileFormatError("Omicron EIS text: no region", path=path)
    return spectra
