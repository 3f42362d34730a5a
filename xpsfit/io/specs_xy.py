"""SPECS Prodigy ``.xy`` export (``# key: value`` header lines, whitespace-separated columns).

Layout (see the domain reference, section 8.2): export settings, then per group/region a block of
``# Key: value`` metadata, ``# Cycle: c`` lines and per curve (optionally per scan and channel)
``# Cycle: c, Curve: k, Scan: s`` headers followed by ``# ColumnLabels:`` and numeric rows.

One Spectrum per (group, region, cycle, curve). Separate scan/channel blocks are summed; when a
file holds both per-scan blocks and the total, the total is used, so nothing is counted twice.
Counts per second are turned back into counts with dwell × scans (summed per-scan cps × dwell).
FixedEnergies/snapshot regions (first column is not an energy) are skipped.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum, normalise_region
from . import limits

NAME = "specs_xy"
SUFFIXES = (".xy",)
#: kinetic energies are Fermi-referenced (BE = hν − KE; do not subtract Eff. Workfunction,
#: xps_domain.md SPECS XY notes; io.energy_scale)
FERMI_REFERENCED_KE = True

_KEYVAL = re.compile(r"^#\s*([^:]+?):\s*(.*?)\s*$")
_CURVE = re.compile(r"^#\s*Cycle:\s*(\d+)\s*,\s*Curve:\s*(\d+)(.*)$")
_CYCLE = re.compile(r"^#\s*Cycle:\s*(\d+)\s*$")
_EXTRA = re.compile(r",\s*([A-Za-z ]+?):\s*(\d+)")


def sniff(head: bytes, path: Path) -> bool:
    text = head[:8192].removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    if "SpecsLab Prodigy" in text and text.lstrip().startswith("#"):
        return True
    return bool(re.search(r"^#\s*Region:", text, re.M) and "ColumnLabels" in head.decode("latin-1"))


@dataclass
class _Block:
    """One numeric block: a curve of one scan/channel."""
    line: int
    cycle: int
    curve: int
    extra: dict[str, int]
    labels: list[str] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)


@dataclass
class _Region:
    group: str
    name: str
    line: int
    meta: dict[str, str]
    scans_by_cycle: dict[int, int] = field(default_factory=dict)
    blocks: list[_Block] = field(default_factory=list)


def _float(text: str, default: float = math.nan) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def _parse(path: Path) -> tuple[dict[str, str], list[_Region]]:
    settings: dict[str, str] = {}
    regions: list[_Region] = []
    group = ""
    region: _Region | None = None
    block: _Block | None = None
    cycle = 0
    # utf-8-sig: Prodigy and editors on Windows may start the file with a BOM
    with limits.open_regular(path) as binary, \
            io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line:
                block = None
                continue
            if line.startswith("#"):
                if block is not None and block.rows:
                    block = None
                m = _CURVE.match(line)
                if m:
                    if region is None:
                        raise FileFormatError("curve data before any '# Region:' line",
                                              path=path, line=lineno)
                    extra = {k.strip().lower(): int(v) for k, v in _EXTRA.findall(m.group(3))}
                    block = _Block(lineno, int(m.group(1)), int(m.group(2)), extra)
                    region.blocks.append(block)
                    continue
                m = _CYCLE.match(line)
                if m:
                    cycle = int(m.group(1))
                    continue
                m = _KEYVAL.match(line)
                if not m:
                    continue
                key, value = m.group(1).strip(), m.group(2)
                if key == "Group":
                    group = value
                elif key == "Region":
                    region = _Region(group, value, lineno, {})
                    regions.append(region)
                    block = None
                elif key == "ColumnLabels" and block is not None:
                    block.labels = value.split()
                elif key == "Number of Scans" and region is not None:
                    region.scans_by_cycle[cycle] = int(_float(value, 1))
                elif region is None:
                    settings[key] = value
                elif block is None:
                    region.meta.setdefault(key, value)
                continue
            if block is None:
                raise FileFormatError("numeric data outside a '# Cycle: …, Curve: …' block",
                                      path=path, line=lineno)
            try:
                row = [float(x) for x in line.split()]
            except ValueError:
                raise FileFormatError(f"not a number row: {line[:40]!r}", path=path,
                                      line=lineno) from None
            if block.rows and len(row) != len(block.rows[0]):
                raise FileFormatError(f"{len(row)} columns where the block has "
                                      f"{len(block.rows[0])}", path=path, line=lineno)
            if len(block.rows) >= limits.MAX_POINTS:
                raise FileFormatError(f"more than {limits.MAX_POINTS} rows in one curve, the "
                                      "limit of points per spectrum", path=path, line=lineno)
            block.rows.append(row)
    return settings, regions


def _is_energy_axis(region: _Region, block: _Block) -> bool:
    if region.meta.get("Scan Mode", "").replace(" ", "").lower().startswith("fixedenergies"):
        return False
    return not block.labels or block.labels[0].lower() in ("energy", "binding", "kinetic")


def _choose(blocks: list[_Block]) -> list[_Block]:
    """Blocks to sum: per-scan/per-channel pieces only when no total is present."""
    for level in ("channel", "scan"):
        with_level = [b for b in blocks if level in b.extra]
        without = [b for b in blocks if level not in b.extra]
        if with_level and without:
            blocks = without
    return [b for b in blocks if not (set(b.extra) - {"scan", "channel"})]


def read(path, **options) -> list:
    path = Path(path)
    settings, regions = _parse(path)
    if not regions:
        raise FileFormatError("no '# Region:' found in SPECS .xy file", path=path)
    axis_text = settings.get("Energy Axis", "Binding Energy").lower()
    axis = "KE" if "kinetic" in axis_text else "BE"
    cps = "second" in settings.get("Count Rate", "Counts per Second").lower()
    spectra = []
    skipped = []
    for region in regions:
        by_curve: dict[tuple[int, int], list[_Block]] = {}
        for b in region.blocks:
            by_curve.setdefault((b.cycle, b.curve), []).append(b)
        for (cycle, curve), blocks in sorted(by_curve.items()):
            blocks = [b for b in _choose(blocks) if b.rows]
            if not blocks:
                continue
            if not _is_energy_axis(region, blocks[0]):
                skipped.append(region.name)
                continue
            spectra.append(_spectrum(path, region, cycle, curve, blocks, axis, cps,
                                     len(spectra)))
    if not spectra:
        what = f" (FixedEnergies regions skipped: {', '.join(skipped)})" if skipped else ""
        raise FileFormatError(f"no energy-axis spectra in SPECS .xy file{what}", path=path)
    return spectra


def _spectrum(path: Path, region: _Region, cycle: int, curve: int, blocks: list[_Block],
              axis: str, cps: bool, index: int):
    from . import add_coordinate

    meta = region.meta
    expected = int(_float(meta.get("Values/Curve", ""), -1))
    arrays = []
    for b in blocks:
        a = np.asarray(b.rows, dtype=float)
        if expected > 0 and a.shape[0] != expected:
            raise FileFormatError(f"region {region.name!r} has {a.shape[0]} values, header says "
                                  f"{expected} (truncated?)", path=path, line=b.line)
        if a.shape[1] < 2:
            raise FileFormatError("data rows need an energy and an intensity column",
                                  path=path, line=b.line)
        arrays.append(a)
    energy = arrays[0][:, 0]
    for a, b in zip(arrays[1:], blocks[1:]):
        if a.shape != arrays[0].shape or not np.allclose(a[:, 0], energy):
            raise FileFormatError("scan/channel blocks disagree on the energy axis",
                                  path=path, line=b.line)
    total = np.sum([a[:, 1] for a in arrays], axis=0)
    per_scan = any("scan" in b.extra for b in blocks)
    n_scan_blocks = len({b.extra.get("scan") for b in blocks})
    scans = n_scan_blocks if per_scan else region.scans_by_cycle.get(cycle, 1)
    dwell = _float(meta.get("Dwell Time", ""))
    hv = _float(meta.get("Excitation Energy", ""))
    if cps and math.isfinite(dwell) and dwell > 0:
        # summed per-scan rates × dwell are counts; a single averaged block needs × scans too
        counts = total * dwell * (1 if per_scan else scans)
        unit, converted = "counts", "counts/s"
    else:
        counts, unit, converted = total, ("counts/s" if cps else "counts"), ""
    labels = blocks[0].labels
    date = meta.get("Acquisition Date", "")
    name = region.name
    spec = make_spectrum(
        energy, counts, axis=axis, excitation_energy=hv, path=str(path), block=index,
        region=normalise_region(name), species="", transition="", block_name=name,
        sample=region.group,
        label=name if (cycle, curve) == (0, 0) else f"{name} cycle {cycle} curve {curve}",
        work_function=_float(meta.get("Eff. Workfunction", "")), scans=int(scans),
        dwell=dwell, pass_energy=_float(meta.get("Pass Energy", "")), acquisition_time=date,
        counts_unit=unit, converted_from=converted, format=NAME,
        technique=meta.get("Analysis Method", "XPS") or "XPS",
        comments=meta.get("Comment", ""))
    if arrays[0].shape[1] >= 3:
        col = labels[2] if len(labels) >= 3 else "column3"
        # transmission is a property of the analyser, identical for every scan: keep one copy
        spec = add_coordinate(spec, re.sub(r"\W+", "_", col.lower()), energy, arrays[0][:, 2])
    return spec
