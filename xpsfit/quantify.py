"""Atomic % across the regions of an acquisition (or of the states of several series).

X_e = (A_e / RSF_e) / Σ (A / RSF), with A the total fitted area of a region and RSF the library
region's relative sensitivity factor (its source shown); no transmission or IMFP correction beyond
what the RSF set assumes. These are atomic fractions, not the species fractions of one region.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .errors import FitError
from .results import FitResult


def element_quantification(results: Sequence, *, labels: Sequence[str] | None = None
                           ) -> xr.Dataset:
    """Atomic % across regions: X_e = (A_e / RSF_e) / Σ (A / RSF) per state.

    ``results`` is a sequence of SeriesResults of different regions over the same states (same
    length and order), or of single FitResults of one state. The area of a region is the total
    fitted component area; the RSF comes from the recipe's library region
    (``sensitivity_factor``, with its ``sensitivity_source``). No transmission or IMFP
    correction beyond what the RSF set assumes."""
    series = [[r] if isinstance(r, FitResult) else list(r.results) for r in results]
    if not series:
        raise FitError("element quantification needs at least one region")
    n = len(series[0])
    if any(len(s) != n for s in series):
        raise FitError("element quantification: the regions have different numbers of states "
                       f"({', '.join(str(len(s)) for s in series)})")
    regions, rsf, sources, placeholder = [], [], [], []
    for s in series:
        rec = s[0].recipe
        reg = rec.library.region(rec.region)
        if rec.region in regions:
            raise FitError(f"element quantification: region {rec.region!r} given twice")
        regions.append(rec.region)
        rsf.append(float(reg.sensitivity_factor))
        sources.append(reg.sensitivity_source or "library default")
        placeholder.append(placeholder_rsf(reg))
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
         "rsf": ("region", rsf), "rsf_source": ("region", sources),
         "rsf_placeholder": ("region", np.array(placeholder, dtype=bool))},
        coords={"spectrum": np.arange(n), "region": regions, "label": ("spectrum", list(labels))},
        attrs={"quantity": "atomic % from region areas divided by library sensitivity factors "
                           "(not species fractions)"})


def placeholder_rsf(region) -> bool:
    """True when a library region's RSF was never set (the libraries mark those "placeholder";
    a region without a source has the built-in 1.0): atomic % from it are not comparable."""
    source = str(region.sensitivity_source or "").strip().lower()
    return not source or source.startswith("placeholder")


def quantification_rows(ds: xr.Dataset) -> list[dict]:
    """One row per spectrum × region of :func:`element_quantification` (CSV and CLI table)."""
    rows = []
    for j in range(ds.sizes["spectrum"]):
        for k, region in enumerate(ds["region"].values):
            rows.append({"label": str(ds["label"].values[j]), "region": str(region),
                         "area": float(ds["area"].values[j, k]),
                         "rsf": float(ds["rsf"].values[k]),
                         "atomic_percent": 100 * float(ds["atomic_fraction"].values[j, k]),
                         "atomic_percent_stderr":
                             100 * float(ds["atomic_fraction_stderr"].values[j, k]),
                         "rsf_source": str(ds["rsf_source"].values[k]),
                         "rsf_placeholder": bool(ds["rsf_placeholder"].values[k])})
    return rows


#: columns of :func:`quantification_rows`, in order
QUANTIFICATION_COLUMNS = ["label", "region", "area", "rsf", "atomic_percent",
                          "atomic_percent_stderr", "rsf_source", "rsf_placeholder"]


def _total_area_var(fit_result) -> float:
    """Variance of the region's total area from the fit covariance (NaN if unavailable)."""
    cov = fit_result.covariance
    names = fit_result.covariance_names
    if cov is None:
        return math.nan
    g = np.zeros(len(names))
    for c in fit_result.components:
        key = c.parameters.get("area")
        if key in names:
            g[names.index(key)] = 1.0
    return float(g @ np.asarray(cov) @ g)


__all__ = ["element_quantification", "placeholder_rsf", "quantification_rows",
           "QUANTIFICATION_COLUMNS"]
