"""SPECS SpecsLab2 ``.xml`` (CORBA XMLSerializer) files.

Each ``RegionData`` holds its definition (``kinetic_energy`` start, ``scan_delta`` step,
``values_per_curve``, dwell, pass energy, excitation energy) and raw detector counts per cycle and
scan. The counts of one scan are interleaved per multi-channel-detector (MCD) channel and run
``mcd_head`` points before and ``mcd_tail`` points after the region, because each channel sees
the region shifted by ``shift × pass_energy``. Channel ``c`` at sample ``i`` measured

    KE = kinetic_energy + (i − mcd_head) · scan_delta + shift_c · pass_energy

so each channel is interpolated onto the region grid and the channels and scans are summed: the
result is raw counts on the region's own kinetic-energy grid (what SpecsLab2 shows). One Spectrum
per (region, cycle). FixedEnergies (snapshot) regions have no energy scan and are skipped.
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum, normalise_region
from . import limits

NAME = "specs_xml"
SUFFIXES = (".xml",)
#: kinetic energies are Fermi-referenced: the PBTTT S 2p sits at 164.0 eV with BE = hν − KE,
#: 4.37 eV too low if the file's effective_workfunction were subtracted (io.energy_scale)
FERMI_REFERENCED_KE = True


def sniff(head: bytes, path: Path) -> bool:
    text = head[:16384].decode("latin-1")
    return "<" in text[:200] and ("specs.de/Serializer" in text or "RegionGroupSeq" in text)


def _named(parent: ET.Element, tag: str, name: str) -> ET.Element | None:
    for child in parent:
        if child.tag == tag and child.get("name") == name:
            return child
    return None


def _num(parent: ET.Element, name: str, default: float = math.nan) -> float:
    for tag in ("double", "ulong", "long", "float"):
        el = _named(parent, tag, name)
        if el is not None and el.text is not None:
            try:
                return float(el.text)
            except ValueError:
                raise FileFormatError(f"<{tag} name={name!r}> is not a number: "
                                      f"{el.text.strip()[:40]!r}") from None
    return default


def _int(parent: ET.Element, name: str, default: int) -> int:
    """A count or index; NaN/inf/fractional values are a broken file, not a crash."""
    v = _num(parent, name, default)
    if not (math.isfinite(v) and v == int(v)):
        raise FileFormatError(f"{name} must be an integer, not {v!r}")
    return int(v)


def _text(parent: ET.Element, name: str) -> str:
    el = _named(parent, "string", name)
    return (el.text or "").strip() if el is not None else ""


def _numbers(seq: ET.Element | None) -> np.ndarray:
    if seq is None:
        return np.empty(0)
    words = "".join(t for t in seq.itertext()).split()
    try:
        return np.array(words, dtype=float)
    except ValueError:
        bad = next(w for w in words if not _is_float(w))
        raise FileFormatError(f"non-number {bad[:40]!r} in <sequence name="
                              f"{seq.get('name')!r}>") from None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read(path, **options) -> list:
    path = Path(path)
    data = limits.read_bytes(path)
    if b"<!ENTITY" in data:  # no entity expansion games in a local data file
        raise FileFormatError("XML entity declarations are not allowed in SPECS files", path=path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise FileFormatError(f"broken XML: {exc}", path=path,
                              line=getattr(exc, "position", (None,))[0]) from None
    spectra = []
    skipped = []
    for group in root.iter("struct"):
        if group.get("type_name") != "RegionGroup":
            continue
        group_name = _text(group, "name")
        regions = _named(group, "sequence", "regions")
        for region in (regions if regions is not None else []):
            if region.get("type_name") != "RegionData":
                continue
            made = _region_spectra(path, group_name, region, len(spectra), len(data))
            if made is None:
                skipped.append(_text(region, "name"))
            else:
                spectra.extend(made)
    if not spectra:
        what = f" (FixedEnergies regions skipped: {', '.join(skipped)})" if skipped else ""
        raise FileFormatError(f"no spectra in SPECS XML file{what}", path=path)
    return spectra


def _region_spectra(path: Path, group_name: str, region: ET.Element, first_index: int,
                    file_size: int):
    name = _text(region, "name")
    rdef = _named(region, "struct", "region")
    if rdef is None:
        raise FileFormatError(f"region {name!r} has no region definition", path=path,
                              block=first_index)
    scan_mode = rdef.find("struct[@name='scan_mode']")
    mode = _text(scan_mode, "name") if scan_mode is not None else ""
    if mode.replace(" ", "").lower().startswith("fixedenergies"):
        return None
    n = _int(rdef, "values_per_curve", 0)
    curves = _int(rdef, "curves_per_scan", 1) or 1
    step = _num(rdef, "scan_delta")
    ke0 = _num(rdef, "kinetic_energy")
    pe = _num(rdef, "pass_energy")
    hv = _num(rdef, "excitation_energy")
    dwell = _num(rdef, "dwell_time")
    head = _int(region, "mcd_head", 0)
    tail = _int(region, "mcd_tail", 0)
    if n < 2 or not (math.isfinite(step) and math.isfinite(ke0)):
        raise FileFormatError(f"region {name!r}: incomplete energy definition", path=path,
                              block=first_index)
    if min(head, tail) < 0 or curves < 0 or (n + head + tail) * curves > file_size:
        # every value takes at least 2 bytes of text: a count claiming more than the file can
        # hold is corrupt, and must not make us allocate grids for it
        raise FileFormatError(f"region {name!r}: {n} points × {curves} curves (mcd head "
                              f"{head}, tail {tail}) cannot fit in a {file_size}-byte file",
                              path=path, block=first_index)
    shifts = [_num(d, "shift", 0.0) for d in region.iter("struct")
              if d.get("type_name") == "Detector"] or [0.0]
    shifts_ev = np.asarray(shifts) * (pe if math.isfinite(pe) else 0.0)
    n_ch = len(shifts)
    n_raw = n + head + tail
    grid = ke0 + step * np.arange(n)
    raw_grid = ke0 + step * (np.arange(n_raw) - head)
    trans = _numbers(_named(region, "sequence", "transmission"))
    cycles = _named(region, "sequence", "cycles")
    if cycles is None or not len(cycles):
        if len(_named(region, "sequence", "compact_cycles") or []):
            raise FileFormatError(f"region {name!r}: compact cycles are not supported",
                                  path=path, block=first_index)
        raise FileFormatError(f"region {name!r} has no data cycles", path=path,
                              block=first_index)
    out = []
    label = re.sub(r"^\d+\s+", "", name)  # SpecsLab numbers its regions: "3 S 2p"
    for ci, cycle in enumerate(cycles):
        scans = [s for s in cycle.iter("struct") if s.get("type_name") == "ScanData"]
        if not scans:
            continue
        total = np.zeros(n * curves)
        for s in scans:
            counts = _numbers(_named(s, "sequence", "counts"))
            if counts.size != n_raw * n_ch * curves:
                raise FileFormatError(
                    f"region {name!r}: a scan holds {counts.size} counts, expected "
                    f"{n_raw * n_ch * curves} ({n_raw} points × {n_ch} channels × {curves} "
                    f"curves; truncated?)", path=path, block=first_index + len(out))
            per_curve = counts.reshape(curves, n_raw, n_ch)
            for k in range(curves):
                for c in range(n_ch):
                    total[k * n:(k + 1) * n] += np.interp(grid, raw_grid + shifts_ev[c],
                                                          per_curve[k, :, c])
        for k in range(curves):
            index = first_index + len(out)
            suffix = (f" cycle {ci}" if len(cycles) > 1 else "") + \
                (f" curve {k}" if curves > 1 else "")
            spec = make_spectrum(
                grid, total[k * n:(k + 1) * n], axis="KE", excitation_energy=hv,
                path=str(path), block=index, region=normalise_region(label), block_name=name,
                sample=group_name, label=label + suffix,
                work_function=_num(rdef, "effective_workfunction"), scans=len(scans),
                dwell=dwell, pass_energy=pe, counts_unit="counts", format=NAME,
                technique=_text(rdef, "analysis_method") or "XPS",
                comments=f"scan mode {mode}; {n_ch} detector channels summed")
            if trans.size == n:
                from . import add_coordinate
                spec = add_coordinate(spec, "transmission", grid, trans)
            out.append(spec)
    return out
