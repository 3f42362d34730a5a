"""KherveFitting workbooks (``.xlsx``): one sheet per core level with ``Binding Energy`` (or
``BE``) in column A and ``Raw Data`` (after an optional ``Corrected Data``) in the next columns,
an optional ``Transmission`` column, and, for fitted sheets, KherveFitting's fit to the right
(``BE | Residuals | Background | Calculated Fit | <peak labels>…``). Sheets of any other layout
(``Experimental description``, ``Results Table``) are skipped; the Results Table rows (peak label,
position, height, FWHM, L/G, area, …) are kept as text with each fitted sheet.

The ``Raw Data`` column is read: KherveFitting's values are c/s from the instrument export and are
not whole counts, so ``counts_unit`` is ``arbitrary`` unless they are integers. The fit columns
are kept as peer curves (:mod:`xpsfit.io.peer_curves`; KherveFitting's peak columns include the
background, which is removed).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import FileFormatError
from ..spectrum import make_spectrum, normalise_region
from . import add_coordinate, integral_counts, region_from_text
from .peer_curves import add_peer_curves

NAME = "kherve_xlsx"
SUFFIXES = (".xlsx",)

_ENERGY = ("binding energy", "be")


def _is_data_sheet(first_row) -> bool:
    cells = [str(c).strip().lower() if c is not None else "" for c in (first_row or ())[:3]]
    return len(cells) >= 2 and cells[0] in _ENERGY and "raw data" in cells[1:3]


def sniff(head: bytes, path: Path) -> bool:
    # an xlsx keeps its sheets compressed: only the workbook itself can say whose it is
    if not (head.startswith(b"PK\x03\x04") and b"xl/" in head):
        return False
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return any(_is_data_sheet(next(ws.iter_rows(max_row=1, values_only=True), None))
                   for ws in wb.worksheets)
    finally:
        wb.close()


def read(path, *, excitation_energy: float | None = None, **options) -> list:
    import openpyxl

    path = Path(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile/openpyxl raise many types for a broken workbook
        raise FileFormatError(f"not a readable xlsx workbook: {exc}", path=path) from None
    try:
        sheets = [(ws.title, list(ws.iter_rows(values_only=True))) for ws in wb.worksheets]
    except Exception as exc:   # corrupt sheet XML inside an intact zip
        raise FileFormatError(f"broken workbook content: {type(exc).__name__}: "
                              f"{str(exc)[:120]}", path=path) from None
    finally:
        wb.close()
    results = dict(sheets).get("Results Table", [])
    hv = float(excitation_energy) if excitation_energy is not None else math.nan
    spectra = []
    for title, rows in sheets:
        if rows and _is_data_sheet(rows[0]):
            spectra.append(_sheet(path, title, rows, len(spectra), hv, results))
    if not spectra:
        raise FileFormatError("KherveFitting workbook without a data sheet ('Binding Energy', "
                              "'Raw Data' columns)", path=path)
    return spectra


def _column(header, name: str, start: int = 0) -> int | None:
    for i in range(start, len(header)):
        if str(header[i] or "").strip().lower() == name.lower():
            return i
    return None


def _sheet(path: Path, title: str, rows, index: int, hv: float, results):
    header = rows[0]
    raw = _column(header, "Raw Data")
    trans = _column(header, "Transmission")
    energy, counts, tvals = [], [], []
    for lineno, row in enumerate(rows[1:], 2):
        if not row or row[0] is None:
            break
        try:
            energy.append(float(row[0]))
            counts.append(float(row[raw]))
            if trans is not None:
                tvals.append(float(row[trans]))
        except (TypeError, ValueError, IndexError):
            raise FileFormatError(f"sheet {title!r}: no numbers in row {lineno}", path=path,
                                  line=lineno) from None
    energy_a, counts_a = np.asarray(energy), integral_counts(np.asarray(counts))
    whole = bool(np.all(counts_a == np.round(counts_a)))
    name = title.strip()
    spectrum = make_spectrum(
        energy_a, counts_a, axis="BE", excitation_energy=hv, path=str(path), block=index,
        region=region_from_text(name) or normalise_region(name), block_name=name, label=name,
        counts_unit="counts" if whole else "arbitrary", format=NAME, technique="XPS")
    if trans is not None and len(tvals) == len(energy):
        spectrum = add_coordinate(spectrum, "transmission", energy_a, tvals)
    return _fit_curves(spectrum, header, rows[1:len(energy) + 1], energy_a, results)


def _fit_curves(spectrum, header, rows, energy, results):
    fit_at = _column(header, "Calculated Fit")
    bg_at = _column(header, "Background", start=(fit_at or 0) - 1) if fit_at else None
    if fit_at is None or bg_at is None:
        return spectrum
    labels = []
    for i in range(fit_at + 1, len(header)):   # the peak columns end at the first empty one
        if header[i] is None or not str(header[i]).strip():
            break
        labels.append((i, str(header[i]).strip()))

    def col(i):
        return [float(r[i]) if i < len(r) and isinstance(r[i], (int, float)) else math.nan
                for r in rows]

    table = _results_text(results, [label for _, label in labels])
    return add_peer_curves(spectrum, "KherveFitting", energy, [(lab, col(i)) for i, lab in labels],
                           background=col(bg_at), envelope=col(fit_at), table=table,
                           components_include_background=True)


def _results_text(results, labels: list[str]) -> str:
    """The Results Table rows of these peaks, ``|``-separated, with its header row."""
    header, out = None, []
    for row in results:
        cells = ["" if c is None else " ".join(str(c).split()) for c in row[1:14]]
        if cells and cells[0] == "Peak Label":
            header = cells
        elif header and cells and cells[0] in labels:
            out.append(" | ".join(cells))
    return "\n".join([" | ".join(header)] + out) if header and out else ""
