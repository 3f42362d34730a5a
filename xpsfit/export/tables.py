"""CSV tables of fit results (one row per spectrum × species), written atomically."""
from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable

from ..atomic import atomic_write
from ..errors import ExportError
from ..result import TABLE_COLUMNS, FitResult


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
    """Write a CSV with :data:`xpsfit.result.TABLE_COLUMNS` (plus any extra keys the rows carry,
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


__all__ = ["write_table", "write_rows"]
