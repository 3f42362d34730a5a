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
        with atomic_path(path, what="figure") as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
    except OSError as exc:
        raise ExportError(f"cannot write figure: {exc.strerror or exc}", path=path) from None


def save_fit_figure(result: FitResult, path: str | os.PathLike, *, dpi: int = 150) -> None:
    """The single-fit panel as PNG/PDF, written atomically."""
    save_figure(fit_figure(result), path, dpi=dpi)


__all__ = ["species_colour", "plot_fit", "fit_figure", "save_figure", "save_fit_figure"]


# ------------------------------------------------------------------------ series figures
# (added for series analysis: new functions only; the single-fit functions above are unchanged)

def plot_series_fits(series, axes=None, *, ncols: int | None = None, fig: Figure | None = None):
    """A grid of fit panels, one per spectrum in series order (same species colours, BE
    decreasing to the right, shared intensity scale so growth is visible). Returns the axes."""
    n = len(series.results)
    if axes is None:
        ncols = ncols or min(n, 5)
        nrows = -(-n // ncols)
        fig = fig or Figure(figsize=(2.6 * ncols, 2.5 * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    ymax = max(float(r.curves["data"].max()) for r in series.results)
    ymin = min(float(r.curves["background"].min()) for r in series.results)
    for k, ax in enumerate(axes):
        if k >= n:
            ax.set_visible(False)
            continue
        r = series.results[k]
        plot_fit(r, ax, None, title=series.labels[k], legend=(k == 0))
        ax.set_ylim(ymin * 0.95, ymax * 1.05)
        if k > 0:
            ax.set_ylabel("")
        for o in series.onsets:          # name the species that first appears here
            if o.index == k and k > 0:
                ax.text(0.97, 0.95, f"onset: {o.species}", transform=ax.transAxes,
                        ha="right", va="top", fontsize=7,
                        color=species_colour(o.species))
    return axes


def series_fits_figure(series, *, ncols: int | None = None) -> Figure:
    fig = Figure(layout="constrained")
    n = len(series.results)
    ncols = ncols or min(n, 5)
    nrows = -(-n // ncols)
    fig.set_size_inches(2.6 * ncols, 2.6 * nrows)
    plot_series_fits(series, ncols=ncols, fig=fig)
    fig.suptitle(f"{series.recipe.region} — {series.mode} fit of {n} spectra", fontsize=10)
    return fig


def plot_composition_bars(series, ax=None, *, horizontal: bool = False):
    """Stacked composition bars per spectrum (fractions in % of the region's area) with 1σ
    error bars on each segment and onset marks (▼ above the bar where a species first
    appears). Returns the axes."""
    import numpy as np
    if ax is None:
        ax = Figure(figsize=(4.2, 3.6), layout="constrained").subplots()
    comps = series.results[0].components
    species = [c.species for c in comps]
    n = len(series.results)
    x = np.arange(n)
    bottom = np.zeros(n)
    for c in comps:
        f = np.array([100 * max(r.component(c.species).fraction, 0.0) for r in series.results])
        e = np.array([100 * r.component(c.species).fraction_stderr for r in series.results])
        e = np.where(np.isfinite(e), e, 0.0)
        colour = species_colour(c.species)
        ax.bar(x, f, 0.7, bottom=bottom, color=colour, alpha=0.8, label=c.label,
               edgecolor="white", lw=0.5)
        ax.errorbar(x, bottom + f, yerr=e, fmt="none", ecolor="k", elinewidth=0.7, capsize=2)
        bottom = bottom + f
    for o in series.onsets:
        if o.index is None or o.index == 0:
            continue
        cum = 0.0
        r = series.results[o.index]
        for sp in species:
            cum += 100 * max(r.component(sp).fraction, 0.0)
            if sp == o.species:
                break
        ax.plot([o.index + 0.42], [cum - 100 * max(r.component(o.species).fraction, 0) / 2],
                marker="<", color=species_colour(o.species), mec="k", mew=0.5, ms=7)
    ax.set_xticks(x, series.labels, rotation=30 if n > 4 else 0, fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel(f"% of {series.recipe.region} area")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"{series.recipe.region} composition (◄ onset, bars ± 1σ)", fontsize=9)
    return ax


def composition_figure(series) -> Figure:
    fig = Figure(figsize=(5.2, 3.6), layout="constrained")
    plot_composition_bars(series, fig.subplots())
    return fig


def series_report_figure(series_list, *, title: str | None = None) -> Figure:
    """One page: for each series (e.g. CNF and KB, or S 2p and P 2p) a row of fit panels beside
    its composition bars (the reference study's Fig. 3 layout), then the onset sentences."""
    if not isinstance(series_list, (list, tuple)):
        series_list = [series_list]
    rows = len(series_list)
    nmax = max(len(s.results) for s in series_list)
    fig = Figure(figsize=(2.1 * nmax + 4.2, 2.6 * rows + 1.2), layout="constrained")
    sentences = []
    outer = fig.subfigures(2, 1, height_ratios=[2.6 * rows, 1.0 + 0.12 * 4 * rows])
    grid = outer[0].subfigures(rows, 2, width_ratios=[2.1 * nmax, 4.2], squeeze=False)
    for k, s in enumerate(series_list):
        axes = grid[k, 0].subplots(1, nmax, sharey=True, squeeze=False).ravel()
        plot_series_fits(s, axes)
        for ax in axes:
            ax.tick_params(labelsize=6)
            ax.title.set_fontsize(8)
            ax.set_xlabel("BE (eV)", fontsize=7)
            leg = ax.get_legend()
            if leg is not None:
                leg.remove()
        name = _series_name(s)
        grid[k, 0].suptitle(name, fontsize=9)
        plot_composition_bars(s, grid[k, 1].subplots())
        sentences += [f"{name} — {o.sentence}" for o in s.onsets]
    tax = outer[1].subplots()
    tax.axis("off")
    tax.text(0.0, 1.0, "\n".join(sentences) or "(no onsets)", va="top", ha="left", fontsize=7,
             family="monospace", transform=tax.transAxes)
    fig.suptitle(title or "xpsfit series report", fontsize=11)
    return fig


def _series_name(series) -> str:
    a = series.results[0].spectrum.attrs if series.results else {}
    src = str(a.get("source_file", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    return f"{series.recipe.region}" + (f" ({src})" if src else "") + f", {series.mode}"


def save_series_figures(series, *, fits=None, bars=None, report=None, dpi: int = 150) -> None:
    """Write any of the fit grid, composition bars and one-page report (atomic)."""
    if fits:
        save_figure(series_fits_figure(series), fits, dpi=dpi)
    if bars:
        save_figure(composition_figure(series), bars, dpi=dpi)
    if report:
        save_figure(series_report_figure(series), report, dpi=dpi)


__all__ += ["plot_series_fits", "series_fits_figure", "plot_composition_bars",
            "composition_figure", "series_report_figure", "save_series_figures"]
