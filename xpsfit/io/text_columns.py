"""Two/three-column text spectra (CSV, TSV, whitespace ``.txt``/``.xy``/``.dat``).

A few optional header lines (``BE/eV,InC1s_sample``, ``#E_kin, intensity``, ``BE,Int``, none),
then rows of 2 or 3 numbers separated by comma, tab, semicolon or whitespace (sniffed).

* axis: KE when the header says so (``E_kin``, ``KE``, ``kinetic``), BE when it says so
  (``BE``, ``binding``), otherwise the ``axis=`` option, otherwise BE — recorded as
  ``axis_source`` = ``file`` | ``option`` | ``assumed``;
* excitation energy: the ``excitation_energy=`` option, else a header hint (``hv=180eV``,
  ``AlKa``/``MgKa``), else the file name (``..._hv_180_...``); a KE file without one is refused
  with a message asking for it;
* region: the header, else the file name (``C1s_sample.csv`` -> ``C 1s``), else ``region=``;
* a named third column is kept as a coordinate; the intensity unit is ``arbitrary`` unless the
  header says counts (``counts``/``cps``).
"""
from __future__ import annotations

import itertools
import math
import re
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum
from . import add_coordinate, limits, region_from_text

NAME = "text_columns"
SUFFIXES = (".csv", ".txt", ".dat", ".xy", ".tsv")

MAX_HEADER_LINES = 3
_DELIMITERS = (",", "\t", ";", None)  # None: any whitespace
_SOURCES = {"alka": 1486.6, "al k": 1486.6, "mgka": 1253.6, "mg k": 1253.6}


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _split(line: str, delimiter: str | None) -> list[str]:
    parts = line.split(delimiter)
    return [p.strip() for p in parts if p.strip() != ""] if delimiter is None else \
        [p.strip() for p in parts]


def _numbers(line: str, delimiter: str | None) -> list[float] | None:
    try:
        return [float(p) for p in _split(line, delimiter)]
    except ValueError:
        return None


def _layout(lines: list[str]) -> tuple[int, str | None, int] | None:
    """(number of header lines, delimiter, columns) if the text looks like a column file."""
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    for n_header in range(0, MAX_HEADER_LINES + 1):
        body = [ln for ln in lines[first + n_header:first + n_header + 50] if ln.strip()]
        if len(body) < 2:
            continue
        for delim in _DELIMITERS:
            rows = [_numbers(ln, delim) for ln in body]
            if all(r is not None for r in rows):
                widths = {len(r) for r in rows}
                if len(widths) == 1 and widths.pop() in (2, 3):
                    return first + n_header, delim, len(rows[0])
        # a header line must not itself be numeric data (in any of the delimiters)
        if n_header < MAX_HEADER_LINES and first + n_header < len(lines) and \
                any(_numbers(lines[first + n_header], d) for d in _DELIMITERS):
            break
    return _damaged_layout(lines, first)


def _damaged_layout(lines: list[str], first: int) -> tuple[int, str | None, int] | None:
    """The layout of a column file with some broken rows (``156.1,abc``), so that the reader
    can name the first bad line instead of calling the file an unknown format. Claimed only
    when a header names exactly the columns that the first data row holds, and most rows are
    good."""
    for n_header in range(1, MAX_HEADER_LINES + 1):
        if first + n_header >= len(lines):
            break
        names = lines[first + n_header - 1].strip().lstrip("#").strip()
        body = [ln for ln in lines[first + n_header:first + n_header + 50] if ln.strip()]
        if len(body) < 2:
            continue
        for delim in _DELIMITERS:
            head = _numbers(body[0], delim)
            if head is None or len(head) not in (2, 3):
                continue
            fields = _split(names, delim)
            if len(fields) != len(head) or _numbers(names, delim) is not None:
                continue
            good = sum(1 for ln in body if (r := _numbers(ln, delim)) and len(r) == len(head))
            if 2 * good >= len(body):
                return first + n_header, delim, len(head)
    return None


def sniff(head: bytes, path: Path) -> bool:
    if b"\x00" in head[:4096]:
        return False
    lines = _decode(head).splitlines()
    if len(head) >= 65536 and lines:  # the last line of a cut-off head may be partial
        lines = lines[:-1]
    return _layout(lines) is not None


def _rows(lines: Iterable[str], start: int, delim: str | None, ncol: int, path: Path
          ) -> np.ndarray:
    """The numeric rows (streamed, at most ``limits.MAX_POINTS``); the first bad row is named
    by its line number."""
    values = array("d")
    n = 0
    for lineno, line in enumerate(lines, start + 1):
        if not line.strip():
            continue
        nums = _numbers(line, delim)
        if nums is None or len(nums) != ncol:
            raise FileFormatError(f"expected {ncol} numbers, got {line.strip()[:40]!r}",
                                  path=path, line=lineno)
        n += 1
        if n > limits.MAX_POINTS:
            raise FileFormatError(f"more than {limits.MAX_POINTS} data rows, the limit of "
                                  "points per spectrum", path=path, line=lineno)
        values.extend(nums)
    return np.frombuffer(values, dtype=float).reshape(-1, ncol) if n else np.zeros((0, ncol))


def _hv_hint(text: str) -> float:
    m = re.search(r"h\s*[vν]\s*[=:_ ]\s*(\d+(?:\.\d+)?)", text, re.I)
    if m:
        return float(m.group(1))
    low = text.lower().replace("α", "a")
    for key, value in _SOURCES.items():
        if key in low:
            return value
    return math.nan


def _axis_hint(header: str) -> str | None:
    low = header.lower()
    if re.search(r"e_?kin|kinetic|\bke\b|k\.e\.", low):
        return "KE"
    if re.search(r"e_?bin|binding|\bbe\b|b\.e\.", low):
        return "BE"
    return None


def _unit_hint(header: str) -> str:
    low = header.lower()
    if re.search(r"\bcps\b|counts\s*/\s*s|counts per second|c/s", low):
        return "counts/s"
    if re.search(r"\bcounts?\b", low):
        return "counts"
    return "arbitrary"


def _lines(fh) -> Iterator[str]:
    """The lines of a binary file, decoded one by one (UTF-8, else Latin-1) so a big file is
    never held as one text; line breaks as ``str.splitlines`` sees them."""
    first = True
    for raw in fh:
        if first:
            raw, first = raw.removeprefix(b"\xef\xbb\xbf"), False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        yield from text.splitlines() or [""]


def _preview(lines: Iterator[str]) -> list[str]:
    """The first lines, enough for :func:`_layout` (it looks at 50 non-blank body lines)."""
    out, filled = [], 0
    for line in lines:
        out.append(line)
        filled += bool(line.strip())
        if filled > MAX_HEADER_LINES + 52:
            break
    return out


def read(path, *, region: str | None = None, axis: str | None = None,
         excitation_energy: float | None = None, **options) -> list:
    path = Path(path)
    with limits.open_regular(path) as fh:
        lines = _lines(fh)
        preview = _preview(lines)
        layout = _layout(preview)
        if layout is None:
            raise FileFormatError("not a 2- or 3-column numeric text file", path=path)
        start, delim, ncol = layout
        header_lines = [ln.strip().lstrip("#").strip() for ln in preview[:start] if ln.strip()]
        data = _rows(itertools.chain(preview[start:], lines), start, delim, ncol, path)
    header = " ".join(header_lines)
    file_axis = _axis_hint(header)
    if file_axis and axis and file_axis != axis:
        raise FileFormatError(f"header says {file_axis} but axis={axis} was given", path=path)
    use_axis = file_axis or axis or "BE"
    axis_source = "file" if file_axis else "option" if axis else "assumed"
    hv = float(excitation_energy) if excitation_energy is not None else _hv_hint(header)
    hv_source = "option" if excitation_energy is not None else "file"
    if not math.isfinite(hv):
        hv, hv_source = _hv_hint(path.stem.replace("_", " ")), "file name"
    if use_axis == "KE" and not math.isfinite(hv):
        raise FileFormatError("kinetic-energy axis but no excitation energy: give it "
                              "(excitation_energy= / --excitation-energy)", path=path)
    names = _split(header_lines[-1], delim) if header_lines else []
    found = (region_from_text(" ".join(names[1:])) or region_from_text(path.stem)
             or (region or ""))
    spec = make_spectrum(
        data[:, 0], data[:, 1], axis=use_axis, excitation_energy=hv, path=str(path), block=0,
        region=found, block_name=path.stem, label=path.stem,
        counts_unit=_unit_hint(" ".join(names[1:2]) or header), format=NAME,
        comments=header, axis_source=axis_source,
        excitation_energy_source=hv_source if math.isfinite(hv) else "")
    if ncol == 3 and len(names) == 3 and names[2]:
        coord = re.sub(r"\W+", "_", names[2].lower()).strip("_") or "column3"
        spec = add_coordinate(spec, coord, data[:, 0], data[:, 2])
    return [spec]
