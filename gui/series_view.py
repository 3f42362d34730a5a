"""Series view: stacked composition bars per spectrum (fraction ± σ), onset marks, verdicts and
the onset sentences — the composition chart of the reference study's Fig. 3, where two series
(e.g. CNF and KB) stand side by side in one chart, one bar per series in each state's group.

The numbers come from the core's ``xpsfit.composition_table`` (the same data the CSV, HDF5 and
the report's figure use); this module only draws them."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout,
                               QWidget)

import xpsfit

from .palette import species_colour, text_colour

#: a bar's caption mark for a fit that is not ok (the full reasons are in the report)
VERDICT_MARK = {"bad": "✗", "doubtful": "?"}
VERDICT_TEXT = {"bad": "#B8420A", "doubtful": "#7A5A00"}
#: at most this many series in one chart (the bars get too thin to read beyond it)
MAX_SERIES = 4


def _same_series(a, b) -> bool:
    return (a.recipe.region == b.recipe.region
            and xpsfit.series_title(a) == xpsfit.series_title(b))


class SeriesView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setLabel("left", "Fraction (%)")
        self.plot.setLabel("bottom", "Spectrum")
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setPen("k")
            self.plot.getAxis(side).setTextPen("k")
        self.plot.showGrid(y=True, alpha=0.15)
        self.legend = self.plot.addLegend(offset=(-10, 10), labelTextColor="k",
                                          brush=pg.mkBrush(255, 255, 255, 210),
                                          pen=pg.mkPen("#bbbbbb"))
        self.sentences = QLabel("Fit a series (select spectra of one region, then Fit ▸ Fit "
                                "series) to see compositions and onsets here. Fit a second "
                                "series of the same region (another sample) to see both "
                                "side by side.")
        self.sentences.setWordWrap(True)
        self.sentences.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.latest_only_button = QPushButton("Show the latest series only")
        self.latest_only_button.setToolTip("drop the other series from this chart")
        self.latest_only_button.clicked.connect(
            lambda: self.show_series(self.series) if self.series is not None else None)
        self.latest_only_button.setEnabled(False)
        # two series give two sets of sentences: they scroll instead of squeezing the chart
        scroll = QScrollArea()
        scroll.setWidget(self.sentences)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setMaximumHeight(130)
        row = QHBoxLayout()
        row.addWidget(scroll, 1)
        row.addWidget(self.latest_only_button, 0, Qt.AlignTop)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot_widget, 1)
        layout.addLayout(row)
        self.series = None                   # the latest series (what HDF5/CSV export)
        self.shown: list = []                # every series in the chart, left to right
        self.bars: dict[str, pg.BarGraphItem] = {}            # species → bar, latest series
        self.series_bars: dict[str, dict[str, pg.BarGraphItem]] = {}   # name → species → bar
        self.captions: dict[tuple[str, int], str] = {}        # (name, state) → bar caption
        self._nstates = 0

    # ------------------------------------------------------------------ what is shown
    def show_series(self, series) -> None:
        """Show ``series`` alone (None clears the chart)."""
        self.shown = [] if series is None else [series]
        self.series = series
        self._draw()

    def add_series(self, series) -> None:
        """Show ``series`` beside the series already in the chart: it replaces one of the same
        sample and region (a refit), a series of another region starts a new chart."""
        kept = [s for s in self.shown if s.recipe.region == series.recipe.region]
        same = [i for i, s in enumerate(kept) if _same_series(s, series)]
        if same:                          # a refit keeps its place in the chart
            kept[same[0]] = series
            self.shown = [s for i, s in enumerate(kept) if i not in same[1:]]
        else:
            self.shown = (kept + [series])[-MAX_SERIES:]
        self.series = series
        self._draw()

    def names(self) -> list[str]:
        """The series' names as the figures write them ("CNF", "KB"), made unique."""
        out: list[str] = []
        for s in self.shown:
            name = xpsfit.series_title(s)
            out.append(name if name not in out else f"{name} ({len(out) + 1})")
        return out

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        self.plot.clear()
        self.legend.clear()
        self.bars, self.series_bars, self.captions = {}, {}, {}
        self.latest_only_button.setEnabled(len(self.shown) > 1)
        if not self.shown:
            return
        tables = [xpsfit.composition_table(s) for s in self.shown]
        species: dict[str, str] = {}
        for t in tables:
            for key, label in zip(t.species.values, t.species_label.values):
                species.setdefault(str(key), str(label))
        names = self.names()
        nseries = len(self.shown)
        nstates = max(len(s.results) for s in self.shown)
        group = 0.9                              # of the unit between two states
        width = 0.6 if nseries == 1 else group / nseries * 0.9
        any_nd = False
        for i, (s, table, name) in enumerate(zip(self.shown, tables, names)):
            n = len(s.results)
            x = np.arange(n, dtype=float) + (i - (nseries - 1) / 2) * group / nseries \
                * (nseries > 1)
            bottom = np.zeros(n)
            own: dict[str, pg.BarGraphItem] = {}
            for key, label in species.items():
                if key in table.species.values:
                    col = table.sel(species=key)
                    h = 100 * np.nan_to_num(col.fraction.values)
                    e = 100 * np.nan_to_num(col.fraction_stderr.values)
                    present = col.present.values.astype(bool)
                else:                        # a species the other series has, this one not
                    h, e, present = np.zeros(n), np.zeros(n), np.ones(n, bool)
                colour = QColor(species_colour(key))
                # not detected by the presence test: hatched, so a fitted non-zero fraction
                # is not read as a detection (the report's figure does the same)
                brushes = [QBrush(colour) if p else QBrush(colour, Qt.BDiagPattern)
                           for p in present]
                any_nd |= not present[h > 0].all()
                bar = pg.BarGraphItem(x=x, height=h, y0=bottom.copy(), width=width,
                                      brush=colour, brushes=brushes, pen=pg.mkPen("#333333", width=0.5))
                self.plot.addItem(bar)
                if i == 0:
                    self.legend.addItem(bar, label)
                own[key] = bar
                top = bottom + h
                self.plot.addItem(pg.ErrorBarItem(x=x, y=top, top=e, bottom=np.minimum(e, h),
                                                  beam=0.08 * min(1.0, width / 0.6),
                                                  pen=pg.mkPen("#000000", width=1)))
                bottom = top
            self.series_bars[name] = own
            if s is self.series:
                self.bars = own
            self._caption_bars(s, name if nseries > 1 else "", x)
            self._mark_onsets(s, list(species), x, nseries)
        if any_nd:
            self.legend.addItem(pg.BarGraphItem(x=[0], height=[0], width=0,
                                                brush=QBrush(QColor("#888888"), Qt.BDiagPattern)),
                                "not detected")
        labels = max((s.labels for s in self.shown), key=len)
        self.plot.getAxis("bottom").setTicks([[(float(k), str(lab))
                                               for k, lab in enumerate(labels)]])
        # room on the right for the legend, above the bars for captions and onset marks
        self._nstates = nstates
        self._fit_x_range()
        # a percentage axis: ticks 0–100 only, the range starts just below 0 so the 0 tick is
        # drawn
        top = 122 if nseries == 1 else 132
        self.plot.setYRange(-2, top, padding=0)
        self.plot.getAxis("left").setTicks([[(float(v), str(v)) for v in range(0, 101, 20)]])
        region = self.shown[0].recipe.region
        what = f"({self.series.mode} fit)" if nseries == 1 else "— " + " | ".join(names)
        self.plot.setTitle(f"<span style='color:#222;font-size:11pt'>{region} composition "
                           f"{what}</span>")
        text = [(f"{name}: " if nseries > 1 else "") + o.sentence
                for s, name in zip(self.shown, names) for o in s.onsets if o.sentence]
        self.sentences.setText("\n".join(text) if text else "No onset calls in this result.")

    def _fit_x_range(self) -> None:
        """Room on the right for the legend: its width in pixels (fixed by its longest label)
        turned into data units of the current view width, so no bar sits under it."""
        last = self._nstates - 0.5 + 0.1
        vb_width = self.plot.getViewBox().width()
        legend_width = self.legend.boundingRect().width() + 25
        if vb_width > 1.6 * legend_width:
            right = -0.6 + (last + 0.6) / (1 - legend_width / vb_width)
        else:
            right = self._nstates + 1.6
        self.plot.setXRange(-0.6, max(right, self._nstates + 0.4), padding=0)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.shown:
            self._fit_x_range()

    def _caption_bars(self, series, name: str, x) -> None:
        """Above each bar: the series' name (several series) and a mark when the fit of that
        spectrum is not ok, in a warning colour."""
        for k, r in enumerate(series.results):
            verdict = getattr(r, "verdict", "") or ""
            mark = VERDICT_MARK.get(verdict, "")
            text = " ".join(t for t in (name, mark) if t)
            if not text:
                continue
            self.captions[(name, k)] = text
            colour = VERDICT_TEXT.get(verdict, "#222222")
            item = pg.TextItem(html=f"<span style='color:{colour};font-size:8pt'>{text}</span>",
                               anchor=(0.5, 1.0))
            item.setPos(float(x[k]), 101.0)
            self.plot.addItem(item)

    def _mark_onsets(self, series, species, x, nseries: int) -> None:
        """A ▼ above the bar where each species is first detected, in its colour."""
        stacked: list[int] = []      # onsets already labelled per bar, to stack their labels
        base = 105.0 if nseries == 1 else 113.0
        for onset in series.onsets:
            if onset.index is None or onset.species not in species:
                continue
            i = int(onset.index)
            # present from the first spectrum on is not an onset worth marking
            if not 0 < i < len(x):
                continue
            colour = species_colour(onset.species)
            self.plot.addItem(pg.ScatterPlotItem([x[i]], [base], symbol="t", size=14,
                                                 brush=pg.mkBrush(colour),
                                                 pen=pg.mkPen("#000000", width=0.8)))
            name = next((c.label for c in series.results[0].components
                         if c.species == onset.species), onset.species)
            label = pg.TextItem(f"{name} appears", color=text_colour(onset.species),
                                anchor=(0.5, 1.0))
            label.setPos(x[i], base + 4.0 + 4.0 * (stacked.count(i)))
            stacked.append(i)
            self.plot.addItem(label)
