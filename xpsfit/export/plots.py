"""matplotlib figures for reports, the CLI and the GUI's export (Agg only, no pyplot state).

* :func:`species_colour` — the one palette shared by every figure and the GUI;
* :func:`plot_fit` / :func:`fit_figure` — the single-fit panel: data, envelope, components
  shaded against the background, residual panel below; BE decreasing to the right;
* :func:`clipped_errors` — error bars of stacked fractions cut to 0–100 %;
* :func:`journal_figure`, :data:`WIDTHS_CM`, :data:`MIN_FONT_PT` — print sizes: every figure is
  built at its printed width (single column 8.5 cm, double 17.8 cm) with fonts ≥ 7 pt, so what
  is measured on the figure is what the journal prints.

The study layouts (Fig. 3 / S13 fits beside one composition chart, Fig. 4 single spectra) are in
:mod:`xpsfit.export.figures`; the PDF report in :mod:`xpsfit.export.report`.
"""
from __future__ import annotations

import os
import zlib

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..atomic import atomic_path
from ..errors import ExportError
from ..results import FitResult
from ..spectrum import DIM

CM = 1 / 2.54
#: journal column widths (cm): single and double column (ACS, RSC, Elsevier are within 0.3 cm)
WIDTHS_CM = {"single": 8.5, "double": 17.8}
#: smallest font at print size; every text of every figure is at least this big (tests check)
MIN_FONT_PT = 7.0
FONT = 7.0            # ticks, legends, panel labels
TITLE_FONT = 8.0      # column titles, axis labels

# Okabe & Ito (2008) colour-blind-safe palette. The reference study's species have fixed
# colours, chosen so that the species sharing a figure differ in hue AND lightness for the
# three common colour-vision deficiencies (the old brown P₂Sₓ / pink POₓ pair did not).
OKABE_ITO = {"blue": "#0072B2", "green": "#009E73", "orange": "#E69F00", "purple": "#CC79A7",
             "vermillion": "#D55E00", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000"}
_FIXED = {
    "PS4": OKABE_ITO["blue"], "S2-": OKABE_ITO["green"], "polysulfide": OKABE_ITO["orange"],
    "S0": OKABE_ITO["purple"], "SOx": "#882255", "SO4": "#882255", "SO3": "#AA4499",
    "P2Sx": OKABE_ITO["sky"], "POx": OKABE_ITO["vermillion"], "Cl-": OKABE_ITO["green"],
    "C-C": "#777777", "C-O": OKABE_ITO["sky"], "C=O": OKABE_ITO["orange"],
    "O-C=O": OKABE_ITO["purple"],
}
# anything else hashes into the same safe set so a key always gets the same colour
_CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "green", "purple", "sky", "vermillion")] + [
    "#882255", "#777777"]

VECTOR_RC = {"svg.fonttype": "none", "pdf.fonttype": 42}

_BACKGROUND_NAMES = {"shirley": "Shirley", "shirley_active": "Shirley", "tougaard": "Tougaard",
                     "linear": "linear", "none": "none"}


def species_colour(key: str) -> str:
    """Hex colour of a species key, identical in every figure and in the GUI."""
    if key in _FIXED:
        return _FIXED[key]
    return _CYCLE[zlib.crc32(str(key).encode()) % len(_CYCLE)]


def width_cm(size) -> float:
    """A size preset ("single", "double") or a width in cm."""
    if isinstance(size, str):
        try:
            return WIDTHS_CM[size]
        except KeyError:
            raise ExportError(f"unknown figure size {size!r} (use single, double or a width "
                              f"in cm)") from None
    w = float(size)
    if not 4.0 <= w <= 40.0:
        raise ExportError(f"figure width {w:g} cm is outside 4–40 cm")
    return w


def journal_figure(size="single", height_cm: float = 7.0) -> Figure:
    """An empty Figure at print size (constrained layout, small paddings)."""
    fig = Figure(figsize=(width_cm(size) * CM, height_cm * CM), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    return fig


def background_name(result: FitResult) -> str:
    """The background as drawn: the recipe's, or the linear one used where no static Shirley
    exists (the fit's ``background_not_converged`` notice), so a picture never hides it."""
    if any(w.code == "background_not_converged" for w in result.warnings):
        return "linear background (no Shirley)"
    kind = result.recipe.background.type
    return f"{_BACKGROUND_NAMES.get(kind, kind)} background"


def be_axis(ax, x) -> None:
    """BE decreasing to the right (as XPS readers expect), ticks only inside the range."""
    lo, hi = float(np.min(x)), float(np.max(x))
    ticks = [t for t in MaxNLocator(5, steps=[1, 2, 5, 10]).tick_values(lo, hi) if lo <= t <= hi]
    ax.set_xticks(ticks)
    ax.set_xlim(hi, lo)


def plot_fit(result: FitResult, ax=None, residual_ax=None, *, title: str | None = None,
             legend: bool = True, data_ms: float = 2.5):
    """Draw one fit on ``ax`` (and normalised residuals on ``residual_ax``). Creates a Figure
    with both panels when ``ax`` is None. Returns (ax, residual_ax). Components are labelled
    with the library's chemical labels (PS₄³⁻, S⁰), never with recipe keys."""
    if ax is None:
        fig = journal_figure("single", 8.0)
        ax, residual_ax = fig.subplots(2, 1, sharex=True, height_ratios=[4, 1])
    cv = result.curves
    x = cv[DIM].values
    bg = cv["background"].values
    ax.plot(x, cv["data"].values, "o", ms=data_ms, color="0.2", mfc="none", mew=0.5,
            label="data")
    labels = {c.species: c.label for c in result.components}
    for i, sp in enumerate(cv["species"].values):
        comp = cv["components"].values[i]
        colour = species_colour(str(sp))
        lab = labels.get(str(sp)) or (str(cv["label"].values[i]) if "label" in cv else str(sp))
        ax.fill_between(x, bg, bg + comp, color=colour, alpha=0.45, lw=0)
        ax.plot(x, bg + comp, color=colour, lw=0.8, label=lab)
    ax.plot(x, bg, color="0.4", lw=0.8, ls="--", label=background_name(result))
    ax.plot(x, cv["envelope"].values, color="k", lw=1.0, label="envelope")
    be_axis(ax, x)
    unit = result.spectrum.attrs.get("counts_unit", "counts")
    ax.set_ylabel("intensity (counts)" if unit == "counts" else f"intensity ({unit})",
                  fontsize=TITLE_FONT)
    ax.tick_params(labelsize=FONT)
    ax.set_title(title if title is not None else
                 f"{result.recipe.region} {result.label}".strip(), fontsize=TITLE_FONT)
    if legend:
        ax.legend(fontsize=FONT, frameon=False, loc="best")
    if residual_ax is not None:
        # no intensity tick in the bottom tenth: its label would run into the residual panel
        lo, hi = ax.get_ylim()
        ax.set_yticks([t for t in MaxNLocator(5).tick_values(lo, hi)
                       if lo + 0.1 * (hi - lo) <= t <= hi])
        ax.set_ylim(lo, hi)
        residual_ax.axhline(0, color="0.5", lw=0.6)
        r = cv["residual"].values
        residual_ax.plot(x, r, color="k", lw=0.6)
        # symmetric range, ticks well inside it: the top tick label must not reach up into
        # the bottom tick label of the panel above
        lim = max(3.0, 1.15 * float(np.nanmax(np.abs(r))) if np.isfinite(r).any() else 3.0)
        step = max(1, round(lim * 0.6))
        residual_ax.set_ylim(-lim, lim)
        residual_ax.set_yticks([-step, 0, step])
        residual_ax.set_ylabel("res. (σ)", fontsize=FONT)   # (data − fit)/σ, short to fit
        residual_ax.tick_params(labelsize=FONT)
        be_axis(residual_ax, x)
        residual_ax.set_xlabel("binding energy (eV)", fontsize=TITLE_FONT)
    else:
        ax.set_xlabel("binding energy (eV)", fontsize=TITLE_FONT)
    return ax, residual_ax


def fit_figure(result: FitResult, *, size="single", residuals: bool = True) -> Figure:
    """The single-fit figure at print size; the legend sits below the axes so it never covers
    the data."""
    fig = journal_figure(size, 7.0 + (1.8 if residuals else 0))
    if residuals:
        ax, rax = fig.subplots(2, 1, sharex=True, height_ratios=[4, 1])
        ax.tick_params(labelbottom=False)
    else:
        ax, rax = fig.subplots(), None
    plot_fit(result, ax, rax, legend=False)
    if rax is not None:
        ax.set_xlabel("")
    handles, labels = ax.get_legend_handles_labels()
    renderer = FigureCanvasAgg(fig).get_renderer()
    # three columns unless the labels are too long for the width (e.g. "CO₃²⁻ / OH / C=O" at
    # 8.5 cm): a legend wider than the figure is cut off at both edges
    for ncols in (3, 2, 1):
        legend = fig.legend(handles, labels, loc="outside lower center", ncols=ncols,
                            fontsize=FONT, frameon=False)
        if ncols == 1 or legend.get_window_extent(renderer).width <= fig.bbox.width:
            break
        legend.remove()
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, height + 0.45 * CM * -(-len(labels) // ncols))
    return fig


def check_dpi(dpi, path=None) -> None:
    if not 50 <= int(dpi) <= 2400:
        raise ExportError(f"dpi {dpi} is outside 50–2400", path=path)


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 300) -> None:
    """Save a Figure atomically; format from the suffix (png at ``dpi``, vector pdf, svg)."""
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
    if fmt not in ("png", "pdf", "svg"):
        raise ExportError(f"unsupported figure format {fmt!r} (use .png, .pdf or .svg)", path=path)
    check_dpi(dpi, path)
    try:
        # svg.fonttype "none" keeps text as text (editable in Inkscape/Illustrator);
        # pdf.fonttype 42 embeds TrueType fonts, which journals' PDF checks accept
        with atomic_path(path, what="figure") as tmp, rc_context(VECTOR_RC):
            fig.savefig(tmp, format=fmt, dpi=int(dpi), metadata=_metadata(fmt))
    except OSError as exc:
        raise ExportError(f"cannot write figure: {exc.strerror or exc}", path=path) from None


def _metadata(fmt: str) -> dict:
    from .. import __version__
    if fmt == "png":
        return {"Software": f"xpsfit {__version__}"}
    return {"Creator": f"xpsfit {__version__}"}


def save_fit_figure(result: FitResult, path: str | os.PathLike, *, dpi: int = 300,
                    size="single") -> None:
    """The single-fit panel as PNG/PDF/SVG, written atomically."""
    save_figure(fit_figure(result, size=size), path, dpi=dpi)


def clipped_errors(top: np.ndarray, err: np.ndarray, lo: float = 0.0, hi: float = 100.0):
    """Asymmetric error-bar lengths of ``top ± err`` cut at [lo, hi]. Why: a fraction cannot
    exceed 100 % of the region (nor fall below 0), so a stacked chart's top segment, whose edge
    is 100 % by construction, gets a one-sided bar; the σ itself is unchanged in the tables."""
    err = np.where(np.isfinite(err), err, 0.0)
    lower = np.clip(np.minimum(err, top - lo), 0.0, None)
    upper = np.clip(np.minimum(err, hi - top), 0.0, None)
    return np.vstack([lower, upper])


__all__ = ["species_colour", "plot_fit", "fit_figure", "save_figure", "save_fit_figure",
           "journal_figure", "width_cm", "WIDTHS_CM", "MIN_FONT_PT", "clipped_errors"]
