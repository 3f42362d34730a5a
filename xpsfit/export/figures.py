"""The reference study's figure layouts, built once for the CLI, the PDF report and the GUI.

* :func:`study_figure` — Fig. 3 (S 2p) / Fig. S13 (P 2p): one column of fit panels per series
  (e.g. CNF and KB), one row per state of charge, and ONE stacked composition chart between the
  columns holding every series (rows aligned with the states), species legend on top;
* :func:`composition_chart_figure` — that chart alone;
* :func:`singles_figure` — Fig. 4: single spectra (e.g. the 4.3 V controls) with each species'
  presence verdict (fraction ± σ, or "not detected" with its upper limit) under each panel.

All figures are built at print size (:func:`xpsfit.export.plots.journal_figure`), BE decreasing to the
right, each species in its :func:`xpsfit.export.plots.species_colour`, labelled with its chemical
label. Error bars are ±1σ_total of each fraction — σ_total = √(σ_stat² + σ_bg²), the
covariance σ with the background-systematic σ_bg (:mod:`xpsfit.engine.background_variants`) — at
the segment's edge, cut to 0–100 % (:func:`xpsfit.export.plots.clipped_errors`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..errors import ExportError
from ..recipe.naming import sample_name
from .plots import FONT, TITLE_FONT, background_name, clipped_errors, journal_figure, plot_fit, species_colour, width_cm

_SEGMENT_ALPHA = 0.85
_ND_STYLE = {"alpha": 0.35, "hatch": "/////", "edgecolor": "0.35"}


def series_title(series) -> str:
    """What a person calls a series: the sample name its spectra share ("CNF"), else the file
    name without suffix, else the region."""
    attrs = [r.spectrum.attrs for r in series.results]
    samples = {sample_name(a.get("sample", "")) for a in attrs}
    if len(samples) == 1 and "" not in samples:
        return samples.pop()
    files = {Path(str(a.get("source_file", "") or "")).stem for a in attrs}
    if len(files) == 1 and "" not in files:
        return files.pop()
    return series.recipe.region


def _species(series_list) -> list[tuple[str, str]]:
    """(key, chemical label) of every species in the series, in recipe order."""
    out: dict[str, str] = {}
    for s in series_list:
        for c in s.results[0].components:
            out.setdefault(c.species, c.label or c.species)
    return list(out.items())


def _legend(fig, series_list, *, ncols: int, data: bool = True) -> None:
    """Species swatches (+ data/envelope/background keys) on top, at most ``ncols`` per row,
    rows balanced."""
    handles = [Patch(facecolor=species_colour(k), alpha=_SEGMENT_ALPHA, edgecolor="none",
                     label=lab) for k, lab in _species(series_list)]
    if any(not t.present for s in series_list for t in s.presence):
        handles.append(Patch(facecolor="0.85", label="not detected", **{
            k: v for k, v in _ND_STYLE.items() if k != "alpha"}))
    if data:
        first = series_list[0].results[0]
        handles += [Line2D([], [], ls="none", marker="o", ms=3, mfc="none", mew=0.6,
                           color="0.2", label="data"),
                    Line2D([], [], color="k", lw=1.0, label="envelope"),
                    Line2D([], [], color="0.4", lw=0.8, ls="--", label=background_name(first))]
    rows = -(-len(handles) // ncols)
    fig.legend(handles=handles, loc="outside upper center", ncols=-(-len(handles) // rows),
               fontsize=FONT, frameon=False, handlelength=1.4, columnspacing=1.0,
               handletextpad=0.4)


def _key_lines(ax, lines, xy) -> None:
    """Stacked lines of text from ``xy`` (axes fraction) downwards, each after a square in its
    species colour: black text stays legible where orange or sky-blue text would not."""
    for i, (text, colour, weight) in enumerate(lines):
        dy = -8.5 * i
        indent = 0
        if colour is not None:
            ax.annotate("■", xy=xy, xycoords="axes fraction", xytext=(0, dy),
                        textcoords="offset points", ha="left", va="top", fontsize=FONT,
                        color=colour)
            indent = 8
        ax.annotate(text, xy=xy, xycoords="axes fraction", xytext=(indent, dy),
                    textcoords="offset points", ha="left", va="top", fontsize=FONT,
                    color="#B8420A" if weight == "warn" else "k",
                    fontweight="bold" if weight in ("bold", "warn") else "normal")


def _fit_column(sub, series, nrows: int, *, residuals: bool, ylabel: bool,
                narrow: bool = False) -> list:
    """One series' fit panels, top to bottom in series order, one intensity scale per column
    so growth down the column is visible. Returns the fit axes."""
    ratios = [4, 1] * nrows if residuals else [1] * nrows
    axes = sub.subplots(len(ratios), 1, sharex=True, height_ratios=ratios, squeeze=False)[:, 0]
    fits = axes[::2] if residuals else axes
    ymax = max(float(r.curves["data"].max()) for r in series.results)
    ymin = min(float(r.curves["background"].min()) for r in series.results)
    onsets = {}
    for o in series.onsets:
        if o.index is not None and o.index > 0:
            onsets.setdefault(o.index, []).append(o.species)
    labels = {c.species: c.label for c in series.results[0].components}
    for k in range(nrows):
        ax = fits[k]
        rax = axes[2 * k + 1] if residuals else None
        if k >= len(series.results):
            ax.set_visible(False)
            if rax is not None:
                rax.set_visible(False)
            continue
        r = series.results[k]
        plot_fit(r, ax, rax, title="", legend=False, data_ms=1.6)
        ax.set_ylim(ymin - 0.03 * (ymax - ymin), ymax + 0.12 * (ymax - ymin))
        ax.set_ylabel("")
        ax.set_xlabel("")
        ax.tick_params(left=False, labelleft=False, labelsize=FONT, length=2.5, pad=1.5)
        if rax is not None:
            rax.set_xlabel("")
            rax.set_ylabel("")
            rax.tick_params(labelleft=False, left=False, labelsize=FONT, length=2.0, pad=1.5)
        lines = [(series.labels[k], None, "bold")]
        lines += [(f"{labels.get(sp, sp)} appears", species_colour(sp), "normal")
                  for sp in onsets.get(k, [])]
        if not r.success:
            lines.append(("fit flagged: see report", None, "warn"))
        _key_lines(ax, lines, (0.03, 0.94))
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    sub.supxlabel("BE (eV)" if narrow else "binding energy (eV)", fontsize=TITLE_FONT)
    if ylabel:
        sub.supylabel("intensity (a.u.)", fontsize=TITLE_FONT)
    return list(fits)


def plot_composition_chart(ax, series_list, names=None) -> None:
    """Horizontal stacked composition bars of every series: one group per state, top to
    bottom in series order so the groups line up with the fit rows, one bar per series in the
    group, ±1σ_total error bars (statistical and background-systematic) at each segment's edge
    cut to 0–100 %."""
    names = list(names) if names is not None else [series_title(s) for s in series_list]
    species = _species(series_list)
    nseries = len(series_list)
    nstates = max(len(s.results) for s in series_list)
    height = min(0.7 / nseries, 0.6)
    offsets = (np.arange(nseries) - (nseries - 1) / 2) * height * 1.08
    if nseries > 1:
        offsets = offsets + 0.1        # room for the state caption above each group
    ticks, ticklabels = [], []
    for i, s in enumerate(series_list):
        pos = np.arange(len(s.results)) + offsets[i]
        start = np.zeros(len(s.results))
        for key, _label in species:
            f = np.array([100 * max(_fraction(r, key), 0.0) for r in s.results])
            e = np.array([100 * _fraction(r, key, "fraction_stderr_total") for r in s.results])
            nd = np.array([_not_detected(s, j, key) for j in range(len(s.results))])
            for mask, style in ((~nd, {}), (nd, _ND_STYLE)):
                if mask.any():
                    ax.barh(pos[mask], f[mask], height, left=start[mask],
                            **(dict(color=species_colour(key), alpha=_SEGMENT_ALPHA,
                                    edgecolor="white", linewidth=0.4) | style))
            edge = start + f
            shown = f > 0
            ax.errorbar(edge[shown], pos[shown], xerr=clipped_errors(edge[shown], e[shown]),
                        fmt="none", ecolor="k", elinewidth=0.5, capsize=1.5, capthick=0.5)
            start = edge
        ticks += list(pos)
        ticklabels += [names[i]] * len(pos)
    if nseries == 1:                           # one bar per state: the state is the tick
        ticks, ticklabels = list(range(nstates)), list(series_list[0].labels)
    ax.set_yticks(ticks, ticklabels, fontsize=FONT)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel(f"% of {series_list[0].recipe.region} area ± σ_total", fontsize=TITLE_FONT)
    ax.tick_params(labelsize=FONT, length=2.5, pad=1.5)
    ax.set_xlim(0, 100)
    ax.set_ylim(nstates - 0.5, -0.5)           # first state on top, like the fit rows
    if nseries > 1:                            # state caption above each group
        labels = series_list[0].labels
        for k in range(nstates):
            ax.text(0.0, k + offsets[0] - height / 2 - 0.03, labels[k] if k < len(labels)
                    else "", ha="left", va="bottom", fontsize=FONT, fontweight="bold",
                    transform=ax.get_yaxis_transform())
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _not_detected(series, j: int, key: str) -> bool:
    """True when spectrum j's presence test says the species is not there: its segment is
    then hatched, so a fitted non-zero fraction is not read as a detection."""
    return any(t.series_index == j and t.species == key and not t.present
               for t in series.presence)


def _fraction(result, key: str, field: str = "fraction") -> float:
    try:
        v = getattr(result.component(key), field)
    except KeyError:                           # a species another series has, this one not
        return 0.0
    return float(v) if math.isfinite(v) else 0.0


def study_figure(series_list, names=None, *, size="double", residuals: bool = False):
    """Fig. 3 / Fig. S13 layout: fit columns of the series with ONE composition chart in the
    middle (first half of the series left of it, the rest right), legend on top."""
    if not isinstance(series_list, (list, tuple)):
        series_list = [series_list]
    names = list(names) if names is not None else [series_title(s) for s in series_list]
    nrows = max(len(s.results) for s in series_list)
    w = width_cm(size)
    row_cm = (2.9 if w > 12 else 2.3) + (0.8 if residuals else 0.0)
    nspecies = len(_species(series_list))
    ncols_legend = 8 if w > 12 else 3
    legend_rows = -(-(nspecies + 4) // ncols_legend)
    fig = journal_figure(size, nrows * row_cm + 1.6 + 0.45 * legend_rows)
    left = -(-len(series_list) // 2)
    order = list(range(left)) + [None] + list(range(left, len(series_list)))
    ratios = [1.0 if k is not None else 1.15 for k in order]
    subs = fig.subfigures(1, len(order), width_ratios=ratios, wspace=0.01)
    for sub, k in zip(np.atleast_1d(subs), order):
        if k is None:
            ax = sub.subplots()
            plot_composition_chart(ax, series_list, names)
            sub.suptitle(f"{series_list[0].recipe.region} composition", fontsize=TITLE_FONT,
                         fontweight="bold")
            continue
        _fit_column(sub, series_list[k], nrows, residuals=residuals, ylabel=(k == 0),
                    narrow=w < 12)
        sub.suptitle(names[k], fontsize=TITLE_FONT, fontweight="bold")
    _legend(fig, series_list, ncols=ncols_legend)
    return fig


def composition_chart_figure(series_list, names=None, *, size="single"):
    """The composition chart of one or more series on its own, with a species legend."""
    if not isinstance(series_list, (list, tuple)):
        series_list = [series_list]
    nstates = max(len(s.results) for s in series_list)
    fig = journal_figure(size, 2.0 + nstates * (0.55 + 0.55 * len(series_list)))
    plot_composition_chart(fig.subplots(), series_list, names)
    _legend(fig, series_list, ncols=3 if width_cm(size) < 12 else 6, data=False)
    return fig


def verdict_lines(series, k: int) -> list[tuple[str, str, str]]:
    """(text, colour, species key) per species of spectrum ``k``: the fraction ± σ_total when
    the presence test says present, "not detected (< upper limit)" otherwise."""
    tests = {t.species: t for t in series.presence if t.series_index == k}
    out = []
    for c in series.results[k].components:
        t = tests.get(c.species)
        value = f"{c.label}: {100 * c.fraction:.1f} ± {100 * c.fraction_stderr_total:.1f} %"
        if t is None:
            text = f"{value} (untested)"
        elif t.present:
            text = value
        else:
            ul = f" (< {100 * t.upper_limit:.1f} %)" if math.isfinite(t.upper_limit) else ""
            text = f"{c.label}: not detected{ul}"
        out.append((text, species_colour(c.species), c.species))
    return out


def singles_figure(series_list, *, size="double", residuals: bool = False):
    """Fig. 4 layout: one row per region (series), one panel per spectrum, each with its
    presence verdicts listed under it (never over the data)."""
    if not isinstance(series_list, (list, tuple)):
        series_list = [series_list]
    ncols = max(len(s.results) for s in series_list)
    nlines = max(len(s.results[0].components) for s in series_list)
    w = width_cm(size)
    panel_cm = 3.6 if w > 12 else 2.8
    text_cm = 0.33 * nlines + 0.2
    fig = journal_figure(size, len(series_list) * (panel_cm + text_cm + 1.1
                                                   + (0.8 if residuals else 0)) + 1.2)
    rows = fig.subfigures(len(series_list), 1, squeeze=False)[:, 0]
    for sub, s in zip(rows, series_list):
        ratios = [panel_cm, 0.8, text_cm] if residuals else [panel_cm, text_cm]
        grid = sub.subplots(len(ratios), ncols, height_ratios=ratios, squeeze=False)
        for k in range(ncols):
            ax, tax = grid[0, k], grid[-1, k]
            rax = grid[1, k] if residuals else None
            tax.axis("off")
            if k >= len(s.results):
                ax.set_visible(False)
                if rax is not None:
                    rax.set_visible(False)
                continue
            r = s.results[k]
            plot_fit(r, ax, rax, title=s.labels[k], legend=False, data_ms=1.6)
            ax.tick_params(left=False, labelleft=False, labelsize=FONT, length=2.5, pad=1.5)
            ax.set_ylabel("intensity (a.u.)" if k == 0 else "", fontsize=TITLE_FONT)
            if rax is not None:
                rax.set_ylabel("")
                rax.tick_params(labelleft=False, left=False, labelsize=FONT)
                ax.set_xlabel("")
                ax.tick_params(labelbottom=False)
            lines = [(text, colour, "normal") for text, colour, _key in verdict_lines(s, k)]
            if not r.success:
                lines.append(("fit flagged: see report", None, "warn"))
            _key_lines(tax, lines, (0.0, 1.0))
        sub.suptitle(f"{s.recipe.region}", fontsize=TITLE_FONT, fontweight="bold")
    _legend(fig, series_list, ncols=8 if w > 12 else 3)
    return fig


LAYOUTS = ("study", "singles")


def study_figure_of(layout: str, series_list, names=None, *, size="double",
                    residuals: bool = False):
    """The figure of a layout name: "study" (Fig. 3 / S13) or "singles" (Fig. 4)."""
    if layout == "study":
        return study_figure(series_list, names, size=size, residuals=residuals)
    if layout == "singles":
        return singles_figure(series_list, size=size, residuals=residuals)
    raise ExportError(f"unknown figure layout {layout!r} (use {' or '.join(LAYOUTS)})")


__all__ = ["study_figure", "study_figure_of", "LAYOUTS", "composition_chart_figure",
           "singles_figure", "plot_composition_chart",
           "series_title", "verdict_lines"]
