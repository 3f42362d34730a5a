"""The study report: one PDF with the figure, then A4 pages of text.

Pages: (1) the study figure at its print size (:func:`xpsfit.export.figures.study_figure`, or
the Fig. 4 layout for single spectra); (2…) the composition table with σ (n.d. = not detected,
with its upper limit), the onset statements with their statistics, the fit verdicts (reduced χ²,
flags, warnings), the recipe as TOML and the software version.
"""
from __future__ import annotations

import math
import os
import textwrap

from matplotlib.figure import Figure

from ..atomic import atomic_path
from ..errors import ExportError
from ..spectrum import energy_scale_notes
from .plots import CM, VECTOR_RC

_A4 = (21.0 * CM, 29.7 * CM)
_FONT_PT = 7.5
_LINES_PER_PAGE = 76
_WIDTH_CHARS = 112


def _cell(c, test) -> str:
    if test is not None and not test.present:
        ul = test.upper_limit
        return f"n.d. < {100 * ul:.1f}" if math.isfinite(ul) else "n.d."
    s = (f"{100 * c.fraction_stderr_total:.1f}" if math.isfinite(c.fraction_stderr_total)
         else "?")
    return f"{100 * c.fraction:.1f} ± {s}"


def composition_lines(series, name: str) -> list[str]:
    """The composition table of one series as fixed-width text (% of the region's area)."""
    comps = series.results[0].components
    tests = {(t.series_index, t.species): t for t in series.presence}
    width = max([14] + [len(c.label) + 3 for c in comps])
    lab_w = max([8] + [len(x) for x in series.labels]) + 2
    head = f"{'state':<{lab_w}}" + "".join(f"{c.label:>{width}}" for c in comps)
    lines = [f"{name} — % of {series.recipe.region} area (1σ_total: the "
             f"{'joint ' if series.mode == 'joint' else ''}fit covariance ⊕ background "
             "variants)", head,
             "-" * len(head)]
    for j, r in enumerate(series.results):
        cells = "".join(f"{_cell(r.component(c.species), tests.get((j, c.species))):>{width}}"
                        for c in comps)
        lines.append(f"{series.labels[j]:<{lab_w}}" + cells)
    return lines


def fit_verdict_lines(series, name: str) -> list[str]:
    lines = [f"{name} — fit verdicts ({series.mode} mode)"]
    st = series.statistics
    if st is not None:
        lines.append(f"  series: reduced χ² = {st.redchi:.3g}, N = {st.ndata}, "
                     f"free parameters = {st.nvarys}, converged = {st.success}")
    for j, (lab, r) in enumerate(zip(series.labels, series.results)):
        verdict = "ok" if r.success else "NOT TRUSTWORTHY: " + "; ".join(r.flags)
        # the joint fit's rigid shift of this spectrum (s{j}_shift), else the charge reference's
        p = series.parameters.get(f"s{j}_shift")
        if p is None:
            shift = f"charge shift = {r.charge_shift:+.3f} eV"
        elif not p.vary:
            shift = f"rigid shift = {p.value:+.3f} eV (fixed: the series' energy reference)"
        else:
            shift = f"rigid shift = {p.value:+.3f} ± {p.stderr:.3f} eV"
        notes = energy_scale_notes(r.spectrum.attrs)   # what the file did not say
        lines.append(f"  {lab}: reduced χ² = {r.statistics.redchi:.3g}, Abbe = "
                     f"{r.statistics.abbe:.2f}, {shift} — {verdict}"
                     + (f" [{'; '.join(notes)}]" if notes else ""))
        lines += [f"      warning: {w}" for w in r.warnings]
    lines += [f"  warning: {w}" for w in series.warnings]
    return lines


def report_text(series_list, names, *, title: str, onsets: bool = True) -> list[str]:
    from .. import __version__
    from ..recipe.spec import recipe_to_toml
    out = [title, f"xpsfit {__version__} — fractions are % of the region's doublet area "
                  f"(species fractions, no RSF); ± is 1σ_total = √(σ_stat² + σ_bg²) (σ_bg: the "
                  "largest change over the background variants).",
           "Present = nested-model F-test p < 0.05 AND area > 3σ_total(area); n.d. = not "
           "detected, shown with the upper limit fraction + 3σ_total.",
           "Error bars in the figure: ±1σ_total at each segment's edge, cut at 0 and 100 % (a "
           "fraction cannot leave that range; the σ here are uncut).", ""]
    for s, n in zip(series_list, names):
        out += composition_lines(s, n) + [""]
    if onsets:           # single spectra (controls) have verdicts, not a series to onset in
        out.append("Onsets (sustained rule: present in that spectrum and every later one)")
        for s, n in zip(series_list, names):
            out += [f"  {n}: {o.sentence}" for o in s.onsets]
        out.append("")
    for s, n in zip(series_list, names):
        out += fit_verdict_lines(s, n) + [""]
    recipes = {id(s.recipe): s.recipe for s in series_list}
    for r in recipes.values():
        out += [f"Recipe ({r.region})", ""] + recipe_to_toml(r).splitlines() + [""]
    wrapped = []
    for line in out:
        wrapped += textwrap.wrap(line, _WIDTH_CHARS, subsequent_indent="      ",
                                 replace_whitespace=False, drop_whitespace=False) or [""]
    return wrapped


def text_pages(lines: list[str]) -> list[Figure]:
    pages = []
    for start in range(0, max(len(lines), 1), _LINES_PER_PAGE):
        fig = Figure(figsize=_A4)
        chunk = lines[start:start + _LINES_PER_PAGE]
        fig.text(1.5 * CM / _A4[0], 1 - 1.5 * CM / _A4[1], "\n".join(chunk), ha="left",
                 va="top", family="DejaVu Sans Mono", fontsize=_FONT_PT, linespacing=1.25)
        fig.text(0.5, 0.8 * CM / _A4[1], f"page {len(pages) + 2}", ha="center", fontsize=7)
        pages.append(fig)
    return pages


def write_report(path: str | os.PathLike, series_list, names=None, *, layout: str = "study",
                 title: str | None = None, size="double", residuals: bool = False) -> None:
    """Write the study report PDF atomically: ``layout="study"`` puts the Fig. 3 layout of
    ``series_list`` first and lists onsets; ``"singles"`` the Fig. 4 layout and no onsets."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib import rc_context
    from .. import __version__
    from .figures import series_title, study_figure_of
    if os.path.splitext(str(path))[1].lower() != ".pdf":
        raise ExportError("the report is a multi-page PDF: give it a .pdf name (use --plot "
                          "for a PNG/SVG figure)", path=path)
    if not isinstance(series_list, (list, tuple)):
        series_list = [series_list]
    names = list(names) if names is not None else [series_title(s) for s in series_list]
    title = title or f"{series_list[0].recipe.region}: " + " vs ".join(names)
    figure = study_figure_of(layout, series_list, names, size=size, residuals=residuals)
    pages = [figure] + text_pages(report_text(series_list, names, title=title,
                                              onsets=(layout == "study")))
    try:
        with atomic_path(path) as tmp, rc_context(VECTOR_RC):
            with PdfPages(tmp, metadata={"Title": title, "Creator": f"xpsfit {__version__}"}
                          ) as pdf:
                for page in pages:
                    pdf.savefig(page)
    except OSError as exc:
        raise ExportError(f"cannot write report: {exc.strerror or exc}", path=path) from None


__all__ = ["write_report", "report_text", "composition_lines"]
