"""Composition of a series: species fractions per spectrum, onset table, element quantification.

* :func:`composition_table` — xarray Dataset, dims ``spectrum × species``: ``fraction``,
  ``fraction_stderr`` (1σ, propagated from the fit covariance with correlations), ``present``,
  ``upper_limit``, ``area``, ``area_stderr``. Fractions are "% of the region's area" (fraction of
  S or P atoms in each species within the probed depth, xps_domain.md §6.4), not atomic %.
* :func:`series_rows` / :func:`write_series_table` — the long CSV: the single-fit table columns
  plus ``series_index``, ``label``, ``present``.
* :func:`write_onsets` — ``onsets.csv`` (species, onset_label, onset_index, F, p_value, …).
* :func:`element_quantification` — atomic % across regions from total region areas divided by
  the library's relative sensitivity factors (RSF), clearly labelled as such.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .errors import FitError
from .result import TABLE_COLUMNS, SeriesResult

SERIES_COLUMNS = ["series_index", *TABLE_COLUMNS]
ONSET_COLUMNS = ["species", "onset_label", "onset_index", "F", "p_value", "fraction",
                 "fraction_stderr", "sentence"]


def _presence_map(result: SeriesResult) -> dict[tuple[int, str], object]:
    return {(t.series_index, t.species): t for t in result.presence}


def composition_table(result: SeriesResult) -> xr.Dataset:
    """Fractions ± σ, presence and upper limits as a Dataset (dims spectrum × species)."""
    if not result.results:
        raise FitError("the series has no results")
    species = [c.species for c in result.results[0].components]
    n, m = len(result.results), len(species)
    frac, ferr, area, aerr, ul = (np.full((n, m), np.nan) for _ in range(5))
    present = np.zeros((n, m), dtype=bool)
    tested = _presence_map(result)
    for j, r in enumerate(result.results):
        for i, sp in enumerate(species):
            c = r.component(sp)
            frac[j, i], ferr[j, i] = c.fraction, c.fraction_stderr
            area[j, i], aerr[j, i] = c.area, c.area_stderr
            t = tested.get((j, sp))
            present[j, i] = bool(t.present) if t is not None else bool(c.present)
            if t is not None:
                ul[j, i] = t.upper_limit
    dims = ("spectrum", "species")
    region = result.recipe.region
    ds = xr.Dataset(
        {"fraction": (dims, frac, {"long_name": f"fraction of {region} area", "units": "1"}),
         "fraction_stderr": (dims, ferr, {"long_name": "1 sigma of fraction (covariance)"}),
         "area": (dims, area, {"units": "counts*eV"}),
         "area_stderr": (dims, aerr),
         "present": (dims, present, {"rule": "F-test p < 0.05 and area > 3 sigma"}),
         "upper_limit": (dims, ul, {"long_name": "fraction upper limit when not detected "
                                                 "(fraction + 3 sigma)"})},
        coords={"spectrum": np.arange(n), "species": species,
                "label": ("spectrum", list(result.labels)),
                "species_label": ("species", [c.label for c in result.results[0].components])})
    ds.attrs.update({"region": region, "mode": result.mode,
                     "quantity": f"% of {region} area (species fractions, no RSF)",
                     "onsets": "\n".join(o.sentence for o in result.onsets)})
    return ds


def series_rows(result: SeriesResult) -> list[dict]:
    """The long table: one row per spectrum × species (single-fit columns + series_index)."""
    tested = _presence_map(result)
    rows = []
    for j, r in enumerate(result.results):
        for row in r.table_rows():
            row["series_index"] = j
            row["label"] = result.labels[j]
            t = tested.get((j, row["species"]))
            if t is not None:
                row["present"] = bool(t.present)
                row["upper_limit"] = t.upper_limit
                row["F"] = t.F
                row["p_value"] = t.p_value
            row["mode"] = result.mode
            rows.append(row)
    return rows


def _write_csv(rows: list[dict], columns: list[str], path) -> None:
    from .export.tables import write_rows
    write_rows(rows, columns, path)


def write_series_table(result: SeriesResult, path: str | os.PathLike) -> None:
    """The long CSV (atomic)."""
    rows = series_rows(result)
    columns = list(SERIES_COLUMNS)
    for row in rows:
        for k in row:
            if k not in columns:
                columns.append(k)
    _write_csv(rows, columns, path)


def onset_rows(result: SeriesResult) -> list[dict]:
    return [{"species": o.species, "onset_label": o.label or "",
             "onset_index": "" if o.index is None else o.index, "F": o.F,
             "p_value": o.p_value, "fraction": o.fraction, "fraction_stderr": o.fraction_stderr,
             "sentence": o.sentence} for o in result.onsets]


def write_onsets(result: SeriesResult, path: str | os.PathLike) -> None:
    """``onsets.csv``: empty label/index when a species is never detected (atomic)."""
    _write_csv(onset_rows(result), ONSET_COLUMNS, path)


# ------------------------------------------------------------------ element quantification
def element_quantification(results: Sequence, *, labels: Sequence[str] | None = None
                           ) -> xr.Dataset:
    """Atomic % across regions: X_e = (A_e / RSF_e) / Σ (A / RSF) per state.

    ``results`` is a sequence of SeriesResults of different regions over the same states (same
    length and order), or of single FitResults of one state. The area of a region is the total
    fitted component area; the RSF comes from the recipe's library region
    (``sensitivity_factor``, with its ``sensitivity_source``). No transmission or IMFP
    correction beyond what the RSF set assumes."""
    from .result import FitResult
    series = [[r] if isinstance(r, FitResult) else list(r.results) for r in results]
    if not series:
        raise FitError("element quantification needs at least one region")
    n = len(series[0])
    if any(len(s) != n for s in series):
        raise FitError("element quantification: the regions have different numbers of states "
                       f"({', '.join(str(len(s)) for s in series)})")
    regions, rsf, sources = [], [], []
    for s in series:
        rec = s[0].recipe
        reg = rec.library.region(rec.region)
        if rec.region in regions:
            raise FitError(f"element quantification: region {rec.region!r} given twice")
        regions.append(rec.region)
        rsf.append(float(reg.sensitivity_factor))
        sources.append(reg.sensitivity_source or "library default")
    area = np.array([[sum(c.area for c in s[j].components) for s in series] for j in range(n)])
    var = np.array([[_total_area_var(s[j]) for s in series] for j in range(n)])
    norm = area / np.array(rsf)[None, :]
    total = norm.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        atomic = norm / total
        # σ of X_e from independent region totals: ∂X_e/∂N_k = (δ_ek − X_e)/ΣN
        nvar = var / np.array(rsf)[None, :] ** 2
        jac = (np.eye(len(regions))[None, :, :] - atomic[:, :, None]) / total[:, :, None]
        err = np.sqrt(np.einsum("jek,jk->je", jac ** 2, nvar))
    if labels is None:
        labels = list(getattr(results[0], "labels", None) or [s[0].label for s in series][:1]
                      * n)
    dims = ("spectrum", "region")
    return xr.Dataset(
        {"atomic_fraction": (dims, atomic, {"long_name": "atomic % (area / RSF, normalised)",
                                            "units": "1"}),
         "atomic_fraction_stderr": (dims, err),
         "area": (dims, area, {"units": "counts*eV"}),
         "rsf": ("region", rsf), "rsf_source": ("region", sources)},
        coords={"spectrum": np.arange(n), "region": regions, "label": ("spectrum", list(labels))},
        attrs={"quantity": "atomic % from region areas divided by library sensitivity factors "
                           "(not species fractions)"})


def _total_area_var(fit_result) -> float:
    """Variance of the region's total area from the fit covariance (NaN if unavailable)."""
    cov = fit_result.covariance
    names = fit_result.covariance_names
    if cov is None:
        return math.nan
    from .naming import param_name
    g = np.zeros(len(names))
    for c in fit_result.components:
        key = param_name(c.species, "area")
        if key in names:
            g[names.index(key)] = 1.0
    return float(g @ np.asarray(cov) @ g)


__all__ = ["composition_table", "series_rows", "write_series_table", "onset_rows",
           "write_onsets", "element_quantification", "SERIES_COLUMNS", "ONSET_COLUMNS"]
