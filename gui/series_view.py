"""Series view: stacked composition bars per spectrum (fraction ± σ), onset marks, and the
onset sentences — the layout of the reference study's composition bar chart."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .palette import species_colour, text_colour


def composition(series) -> tuple[list[str], dict[str, str], np.ndarray, np.ndarray]:
    """(species keys, labels, fractions[n_spectra, n_species] in %, σ in %) of a SeriesResult."""
    species: list[str] = []
    labels: dict[str, str] = {}
    for res in series.results:
        for c in res.components:
            if c.species not in labels:
                species.append(c.species)
                labels[c.species] = c.label
    frac = np.full((len(series.results), len(species)), np.nan)
    err = np.full_like(frac, np.nan)
    for i, res in enumerate(series.results):
        for c in res.components:
            j = species.index(c.species)
            frac[i, j] = 100 * c.fraction
            err[i, j] = 100 * c.fraction_stderr
    return species, labels, frac, err


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
                                "series) to see compositions and onsets here.")
        self.sentences.setWordWrap(True)
        self.sentences.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.sentences)
        self.series = None
        self.bars: dict[str, pg.BarGraphItem] = {}

    def show_series(self, series) -> None:
        self.plot.clear()
        self.legend.clear()
        self.bars.clear()
        self.series = series
        if series is None:
            return
        species, labels, frac, err = composition(series)
        n = frac.shape[0]
        x = np.arange(n, dtype=float)
        bottom = np.zeros(n)
        width = 0.6
        for j, key in enumerate(species):
            h = np.nan_to_num(frac[:, j])
            colour = QColor(species_colour(key))
            bar = pg.BarGraphItem(x=x, height=h, y0=bottom.copy(), width=width,
                                  brush=colour, pen=pg.mkPen("#333333", width=0.5))
            self.plot.addItem(bar)
            self.legend.addItem(bar, labels[key])
            self.bars[key] = bar
            top = bottom + h
            e = np.nan_to_num(err[:, j])
            self.plot.addItem(pg.ErrorBarItem(x=x, y=top,
                                              top=e, bottom=np.minimum(e, h), beam=0.08,
                                              pen=pg.mkPen("#000000", width=1)))
            bottom = top
        self._mark_onsets(series, species, frac, x, width)
        self.plot.getAxis("bottom").setTicks([[(float(i), str(lab))
                                               for i, lab in enumerate(series.labels)]])
        # room on the right for the legend, above the bars for the onset marks
        self.plot.setXRange(-0.6, n + 0.9, padding=0)
        # the onset marks need room above 100 %, but the axis is a percentage: ticks 0–100 only,
        # and the range starts just below 0 so the 0 tick is drawn
        self.plot.setYRange(-2, 122, padding=0)
        self.plot.getAxis("left").setTicks([[(float(v), str(v)) for v in range(0, 101, 20)]])
        title = series.results[0].recipe.region if series.results else ""
        self.plot.setTitle(f"<span style='color:#222;font-size:11pt'>{title} composition "
                           f"({series.mode} fit)</span>")
        text = [o.sentence for o in series.onsets if o.sentence]
        self.sentences.setText("\n".join(text) if text else "No onset calls in this result.")

    def _mark_onsets(self, series, species, frac, x, width) -> None:
        """A ▼ above the bar where each species is first detected, in its colour."""
        stacked: list[int] = []      # onsets already labelled per bar, to stack their labels
        for onset in series.onsets:
            if onset.index is None or onset.species not in species:
                continue
            i = int(onset.index)
            # present from the first spectrum on is not an onset worth marking
            if not 0 < i < len(x):
                continue
            colour = species_colour(onset.species)
            self.plot.addItem(pg.ScatterPlotItem([x[i]], [105.0], symbol="t", size=14,
                                                 brush=pg.mkBrush(colour),
                                                 pen=pg.mkPen("#000000", width=0.8)))
            name = next((c.label for c in series.results[0].components
                         if c.species == onset.species), onset.species)
            label = pg.TextItem(f"{name} appears", color=text_colour(onset.species),
                                anchor=(0.5, 1.0))
            label.setPos(x[i], 109.0 + 4.0 * (stacked.count(i)))
            stacked.append(i)
            self.plot.addItem(label)
