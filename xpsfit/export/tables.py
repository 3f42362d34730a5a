"""CSV tables of fit results (one row per spectrum × species), written atomically."""
from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable

from ..atomic import atomic_write
from ..errors import ExportError
from ..results import ONSET_COLUMNS, SERIES_COLUMNS, TABLE_COLUMNS, FitResult, onset_rows, series_rows


def _rows(results) -> list[dict]:
    if isinstance(results, FitResult):
        return results.table_rows()
    rows: list[dict] = []
    if hasattr(results, "table_rows"):          # a SeriesResult may provide its own long table
        return list(results.table_rows())
    for r in results:
        rows.extend(_rows(r))
    return rows


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return "" if v is None else str(v)


def write_table(results: FitResult | Iterable[FitResult], path: str | os.PathLike,
                columns: list[str] | None = None) -> None:
    """Write a CSV with :data:`xpsfit.results.TABLE_COLUMNS` (plus any extra keys the rows carry,
    e.g. ``series_index``) to ``path``; NaN is written as an empty cell. Atomic: the previous
    file stays intact if anything fails."""
    rows = _rows(results)
    if columns is None:
        columns = list(TABLE_COLUMNS)
        for row in rows:
            for k in row:
                if k not in columns:
                    columns.append(k)
    write_rows(rows, columns, path)


def write_rows(rows: list[dict], columns: list[str], path: str | os.PathLike) -> None:
    """Write dict rows as CSV with the given columns (NaN/None as empty cells), atomically."""
    try:
        with atomic_write(path, "w", newline="", what="table") as fh:
            w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            w.writeheader()
            for row in rows:
                w.writerow({k: _fmt(row.get(k)) for k in columns})
    except OSError as exc:
        raise ExportError(f"cannot write table: {exc.strerror or exc}", path=path) from None


def curve_rows(result: FitResult) -> tuple[list[dict], list[str]]:
    """Rows and columns of a fit's curves, one row per energy (ascending BE): binding_energy,
    kinetic_energy (when hν is known), data, background, one column per component (its own
    curve, background not added), envelope (background + components), as Avantage and CasaXPS
    export them for plotting elsewhere."""
    curves = result.curves
    be = curves["binding_energy"].values
    hv = float(result.spectrum.attrs.get("excitation_energy", math.nan))
    names = [f"{c.label or c.species} ({c.species})" if c.label and c.label != c.species
             else c.species for c in result.components]
    columns = ["binding_energy"] + (["kinetic_energy"] if math.isfinite(hv) else [])
    columns += ["data", "background", *names, "envelope"]
    comps = curves["components"].values
    rows = []
    for i, e in enumerate(be):
        row = {"binding_energy": float(e), "data": float(curves["data"].values[i]),
               "background": float(curves["background"].values[i]),
               "envelope": float(curves["envelope"].values[i])}
        if math.isfinite(hv):
            row["kinetic_energy"] = hv - float(e)
        for k, name in enumerate(names):
            row[name] = float(comps[k, i])
        rows.append(row)
    return rows, columns


def write_curves(result: FitResult, path: str | os.PathLike) -> None:
    """Write :func:`curve_rows` of one fit as CSV, atomically."""
    rows, columns = curve_rows(result)
    write_rows(rows, columns, path)


__all__ = ["write_table", "write_rows", "curve_rows", "write_curves", "write_series_table",
           "write_onsets"]


def write_series_table(result, path: str | os.PathLike) -> None:
    """The long CSV of a series: one row per spectrum × species (atomic)."""
    rows = series_rows(result)
    columns = list(SERIES_COLUMNS)
    for row in rows:
        for k in row:
            if k not in columns:
                columns.append(k)
    write_rows(rows, columns, path)


def write_onsets(result, path: str | os.PathLike) -> None:
    """``onsets.csv``: empty label/index when a species is never detected (atomic)."""
    write_rows(onset_rows(result), ONSET_COLUMNS, path)

