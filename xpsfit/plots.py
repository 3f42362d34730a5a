"""matplotlib figures for reports and the CLI (Agg only, no pyplot state).

* :func:`species_colour` — the one palette shared by every figure and the GUI;
* :func:`plot_fit` / :func:`save_fit_figure` — the single-fit panel: data, envelope, components
  shaded against the background, residual panel below; BE decreasing to the right.

Series figures (fit grids, composition bars) are separate functions added beside these.
"""
from __future__ import annotations

import os
import zlib

from matplotlib.figure import Figure

from .atomic import atomic_path
from .errors import ExportError
from .result import FitResult
from .spectrum import DIM

# Fixed colours for the species of the reference study; anything else hashes into a
# colour-blind-friendly cycle so a key always gets the same colour in every figure.
_FIXED = {
    "PS4": "#1f77b4", "S2-": "#d62728", "polysulfide": "#2ca02c", "S0": "#ff7f0e",
    "SOx": "#9467bd", "P2Sx": "#8c564b", "POx": "#e377c2",
    "C-C": "#7f7f7f", "C-O": "#17becf", "C=O": "#bcbd22", "O-C=O": "#9467bd",
}
_CYCLE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442",
          "#000000", "#999999"]


def species_colour(key: str) -> str:
    """Hex colour of a species key, identical in every figure and in the GUI."""
    if key in _FIXED:
        return _FIXED[key]
    return _CYCLE[zlib.crc32(str(key).encode()) % len(_CYCLE)]


def plot_fit(result: FitResult, ax=None, residual_ax=None, *, title: str | None = None,
             legend: bool = True):
    """Draw one fit on ``ax`` (and normalised residuals on ``residual_ax``). Creates a Figure
    with both panels when ``ax`` is None. Returns (ax, residual_ax)."""
    if ax is None:
        fig = Figure(figsize=(6.4, 5.2), layout="constrained")
        ax, residual_ax = fig.subplots(2, 1, sharex=True, height_ratios=[4, 1])
    cv = result.curves
    x = cv[DIM].values
    bg = cv["background"].values
    ax.plot(x, cv["data"].values, "o", ms=2.5, color="0.25", mfc="none", mew=0.7, label="data")
    for i, sp in enumerate(cv["species"].values):
        comp = cv["components"].values[i]
        colour = species_colour(str(sp))
        lab = str(cv["label"].values[i]) if "label" in cv else str(sp)
        ax.fill_between(x, bg, bg + comp, color=colour, alpha=0.35, lw=0)
        ax.plot(x, bg + comp, color=colour, lw=1.0, label=lab)
    ax.plot(x, bg, color="0.45", lw=1.0, ls="--", label=f"background ({result.recipe.background.type})")
    ax.plot(x, cv["envelope"].values, color="k", lw=1.3, label="envelope")
    ax.set_xlim(x.max(), x.min())          # BE decreasing to the right, as XPS readers expect
    ax.set_ylabel("intensity (counts)" if result.spectrum.attrs.get("counts_unit", "counts")
                  == "counts" else f"intensity ({result.spectrum.attrs.get('counts_unit')})")
    ax.set_title(title if title is not None else
                 f"{result.recipe.region} {result.label}".strip(), fontsize=10)
    if legend:
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    if residual_ax is not None:
        residual_ax.axhline(0, color="0.5", lw=0.8)
        residual_ax.plot(x, cv["residual"].values, color="k", lw=0.8)
        residual_ax.set_ylabel("(data−fit)/σ", fontsize=8)
        residual_ax.set_xlim(x.max(), x.min())
        residual_ax.set_xlabel("binding energy (eV)")
    else:
        ax.set_xlabel("binding energy (eV)")
    return ax, residual_ax


def fit_figure(result: FitResult) -> Figure:
    fig = Figure(figsize=(6.4, 5.2), layout="constrained")
    ax, rax = fig.subplots(2, 1, sharex=True, height_ratios=[4, 1])
    plot_fit(result, ax, rax)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 150) -> None:
    """Save a Figure atomically; format from the suffix (png, pdf, svg)."""
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
    if fmt not in ("png", "pdf", "svg"):
        raise ExportError(f"unsupported figure format {fmt!r} (use .png, .pdf or .svg)", path=path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
    except OSError as exc:
        raise ExportError(f"cannot write figure: {exc.strerror or exc}", path=path) from None


def save_fit_figure(result: FitResult, path: str | os.PathLike, *, dpi: int = 150) -> None:
    """The single-fit panel as PNG/PDF, written atomically."""
    save_figure(fit_figure(result), path, dpi=dpi)


__all__ = ["species_colour", "plot_fit", "fit_figure", "save_figure", "save_fit_figure"]
