"""Thermo Avantage ``.xlsx`` exports: one spectrum per region sheet.

A region sheet has some header rows (``Axis | Energy | Elements= | n`` and the source ``.VGD``
path), then a row starting ``Binding Energy (E)`` (or ``Kinetic Energy``), a units row
(``eV | | Counts / s``) and the data: energy in column A, the measured intensity in column C.
Further columns (fitted components, ``Backgnd.``, ``Envelope``, ``Residuals``) are Avantage's own
fit and are not read. Sheets without such a table (Peak Table, Titles, Quantifications) are
ignored. Avantage gives counts per second without dwell and scans, so ``counts_unit`` stays
``counts/s``.
"""
from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum, normalise_region
from . import limits, region_from_text

NAME = "avantage_xlsx"
SUFFIXES = (".xlsx",)


def sniff(head: bytes, path: Path) -> bool:
    # an xlsx is a zip whose first members are the workbook parts
    return head.startswith(b"PK\x03\x04") and b"xl/" in head


def _energy_header(row) -> str | None:
    first = str(row[0]).strip().lower() if row and row[0] is not None else ""
    if first.startswith("binding energy"):
        return "BE"
    if first.startswith("kinetic energy"):
        return "KE"
    return None


def read(path, *, excitation_energy: float | None = None, **options) -> list:
    import openpyxl

    path = Path(path)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(limits.read_bytes(path)), read_only=True,
                                    data_only=True)
    except FileFormatError:
        raise
    except Exception as exc:  # zipfile/openpyxl raise many types for a broken workbook
        raise FileFormatError(f"not a readable xlsx workbook: {exc}", path=path) from None
    spectra = []
    try:
        for sheet in wb.worksheets:
            spec = _sheet(path, sheet, len(spectra), excitation_energy)
            if spec is not None:
                spectra.append(spec)
    except FileFormatError:
        raise
    except Exception as exc:  # a corrupt sheet XML inside an intact zip (openpyxl ParseError)
        raise FileFormatError(f"broken workbook content: {type(exc).__name__}: "
                              f"{str(exc)[:120]}", path=path) from None
    finally:
        wb.close()
    if not spectra:
        # e.g. a KherveFitting workbook: say what xpsfit reads so the user knows why
        raise FileFormatError("no Avantage region sheet (a 'Binding Energy (E)' column) "
                              "found in the workbook: xpsfit reads Thermo Avantage Excel "
                              "exports only (KherveFitting workbooks are not read)", path=path)
    return spectra


def _sheet(path: Path, sheet, index: int, hv_option: float | None):
    rows = sheet.iter_rows(values_only=True)
    axis = None
    elements = None  # Avantage's own point count, the signature of its region sheets
    header_row = 0
    for header_row, row in enumerate(rows, 1):
        if row and len(row) > 3 and str(row[2]).strip() == "Elements=":
            elements = row[3]
        axis = _energy_header(row)
        if axis or header_row > 40:
            break
    if axis is None or not isinstance(elements, (int, float)):
        return None
    units = next(rows, None)
    energy, counts = [], []
    for lineno, row in enumerate(rows, header_row + 2):
        if not row or row[0] is None:
            break
        try:
            e, c = float(row[0]), float(row[2])
        except (TypeError, ValueError, IndexError):
            raise FileFormatError(f"sheet {sheet.title!r}: no number pair in row {lineno}",
                                  path=path, line=lineno) from None
        energy.append(e)
        counts.append(c)
    if len(energy) != int(elements):
        raise FileFormatError(f"sheet {sheet.title!r}: {len(energy)} rows, Avantage header says "
                              f"{int(elements)} (truncated?)", path=path)
    unit_text = str(units[2]).lower() if units and len(units) > 2 and units[2] else ""
    unit = "counts/s" if "/ s" in unit_text or "/s" in unit_text else \
        ("counts" if "count" in unit_text else "arbitrary")
    name = re.sub(r"\s*Scan$", "", sheet.title.strip())
    region = region_from_text(name) or normalise_region(name)
    hv = float(hv_option) if hv_option is not None else math.nan  # not in the export
    return make_spectrum(np.asarray(energy), np.asarray(counts), axis=axis,
                         excitation_energy=hv, path=str(path), block=index, region=region,
                         block_name=sheet.title, label=name, counts_unit=unit, format=NAME)
