"""Scienta SES text export (``.txt``, SES 1.3): ``[Info]`` with the number of regions, then per
region ``[Region n]`` (name, energy dimension), ``[Info n]`` (``Key=Value``: excitation energy,
energy scale, pass energy, sweeps, step time in ms, ...), ``[Run Mode Information n]`` and
``[Data n]`` (energy and intensity columns).

The energy column is kinetic or binding as ``Dimension 1 name`` says. SES writes summed counts
for swept spectra; intensities that are not whole numbers (normalised data) are read as
arbitrary units, so the fit estimates the noise instead of assuming Poisson counts.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum, normalise_region
from . import integral_counts, region_from_text

NAME = "scienta_txt"
SUFFIXES = (".txt",)

_SECTION = re.compile(r"^\[(.+?)\]\s*$")


def sniff(head: bytes, path: Path) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf\r\n ")
    return text.startswith(b"[Info]") and b"Number of Regions" in text[:200]


def _sections(lines: list[str]) -> list[tuple[str, int, list[str]]]:
    out: list[tuple[str, int, list[str]]] = []
    for i, line in enumerate(lines, 1):
        m = _SECTION.match(line.strip())
        if m:
            out.append((m.group(1), i, []))
        elif out:
            out[-1][2].append(line)
    return out


def ses_keys(body: list[str]) -> dict[str, str]:
    """``key=value`` lines of a Scienta SES section (text export or .ibw wave note)."""
    keys = {}
    for line in body:
        k, sep, v = line.partition("=")
        if sep:
            keys[k.strip()] = v.strip()
    return keys


def ses_number(keys: dict, key: str) -> float:
    try:
        return float(keys.get(key, ""))
    except ValueError:
        return math.nan


def read(path, **options) -> list:
    path = Path(path)
    text = path.read_bytes().decode("latin-1")
    sections = _sections(text.splitlines())
    by_name = {name: (line, body) for name, line, body in sections}
    if "Info" not in by_name:
        raise FileFormatError("Scienta SES text: no [Info] section", path=path)
    spectra = []
    n = 1
    while f"Region {n}" in by_name:
        region = ses_keys(by_name[f"Region {n}"][1])
        info = ses_keys(by_name.get(f"Info {n}", (0, []))[1])
        if f"Data {n}" not in by_name:
            raise FileFormatError(f"Scienta SES text: region {n} has no [Data {n}] section",
                                  path=path, block=n - 1)
        data_line, body = by_name[f"Data {n}"]
        rows = []
        for k, line in enumerate(body):
            f = line.split()
            if not f:
                continue
            try:
                rows.append((float(f[0]), float(f[1])))
            except (IndexError, ValueError):
                raise FileFormatError(f"Scienta SES text: not two numbers: {line.strip()[:60]!r}",
                                      path=path, line=data_line + 1 + k) from None
        if not rows:
            raise FileFormatError(f"Scienta SES text: [Data {n}] is empty", path=path,
                                  line=data_line)
        energy, y = np.array(rows).T
        dim = region.get("Dimension 1 name", "")
        axis = "BE" if dim.lower().startswith("binding") else "KE"
        hv = ses_number(info, "Excitation Energy")
        counts = integral_counts(y)
        whole = bool(np.all(counts == np.round(counts)))
        name = region.get("Region Name", info.get("Region Name", f"region {n}"))
        sweeps = ses_number(info, "Number of Sweeps")
        step_ms = ses_number(info, "Step Time")
        spectra.append(make_spectrum(
            energy, counts if whole else y, axis=axis, excitation_energy=hv, path=str(path),
            block=n - 1, region=region_from_text(name) or normalise_region(name),
            block_name=name, label=info.get("Spectrum Name", name), sample=info.get("Sample", ""),
            scans=sweeps if math.isfinite(sweeps) else 1,
            dwell=step_ms / 1000.0 if math.isfinite(step_ms) else math.nan,
            pass_energy=ses_number(info, "Pass Energy"),
            acquisition_time=f"{info.get('Date', '')}T{info.get('Time', '')}".strip("T"),
            counts_unit="counts" if whole else "arbitrary", format=NAME, technique="XPS",
            instrument=info.get("Instrument", ""), analyser_mode=info.get("Lens Mode", "")))
        n += 1
    if not spectra:
        raise FileFormatError("Scienta SES text: no [Region 1] section", path=path)
    return spectra
