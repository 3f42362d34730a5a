"""The fit plot: data, envelope, filled components, background, residual panel, and the
interactive handles (fit-range region, one position marker per component).

Binding energy decreases to the right (``invertX``) in both panels; the residual panel's x axis
is linked to the main panel. While a marker or the range is dragged the model curves follow
(:mod:`~xpsfit_gui.live_preview`); a block's CasaXPS model can be shown as a dashed overlay
(:mod:`~xpsfit_gui.casa_overlay`).
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (QCheckBox, QGraphicsPathItem, QHBoxLayout, QLabel, QSizePolicy,
                               QVBoxLayout, QWidget)

from .live_preview import LivePreview
from .palette import species_colour, text_colour

DIM = "binding_energy"
#: the CasaXPS overlay's colour: one colour (its components are CasaXPS's, not species), far from
#: every species colour of the palette
CASA_COLOUR = "#e0001b"


def _colour(hex_colour: str, alpha: int = 255) -> QColor:
    c = QColor(hex_colour)
    c.setAlpha(alpha)
    return c


class SpectrumView(QWidget):
    """Plot of one spectrum and (optionally) its fit.

    Signals carry user intent only; the main window decides what to do (undoable edits, refit).
    """

    #: species key, new position (eV) — emitted when a marker drag is released
    markerMoved = Signal(str, float)
    #: (lo, hi) eV — emitted when the fit-range region drag is released
    rangeChanged = Signal(float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.casa_box = QCheckBox("CasaXPS model")
        self.casa_box.setChecked(True)
        self.casa_box.setToolTip("show the CasaXPS model stored with this block (dashed), drawn "
                                 "with xpsfit's line shapes at the CasaXPS parameters")
        self.casa_box.setVisible(False)
        self.casa_box.toggled.connect(self._on_casa_toggled)
        # why a block's CasaXPS model is not drawn; wraps instead of widening the window
        self.casa_note = QLabel()
        self.casa_note.setWordWrap(True)
        self.casa_note.setStyleSheet("color: #8a4b00")
        self.casa_note.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.casa_note.setVisible(False)
        row = QHBoxLayout()
        row.setContentsMargins(4, 2, 4, 0)
        row.addWidget(self.casa_note, 1)
        row.addStretch(0)
        row.addWidget(self.casa_box)
        layout.addLayout(row)
        layout.addWidget(self.graphics)

        self.main = self.graphics.addPlot(row=0, col=0)
        self.resid = self.graphics.addPlot(row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 4)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        for plot in (self.main, self.resid):
            plot.invertX(True)
            plot.showGrid(x=False, y=False)
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen("k")
                axis.setTextPen("k")
        self.resid.setXLink(self.main)
        self.main.setLabel("left", "Intensity", units="counts")
        self.main.getAxis("left").enableAutoSIPrefix(True)
        self.resid.setLabel("left", "Resid. (σ)")
        self.resid.setLabel("bottom", "Binding energy (eV)")
        self.main.getAxis("bottom").setStyle(showValues=False)
        self.resid.addLine(y=0, pen=pg.mkPen("#888888", style=Qt.DashLine))
        self.title = ""

        self.legend = self.main.addLegend(offset=(-10, 10), labelTextColor="k",
                                          brush=pg.mkBrush(255, 255, 255, 200),
                                          pen=pg.mkPen("#bbbbbb"))
        self.region = pg.LinearRegionItem(orientation="vertical", movable=True,
                                          brush=pg.mkBrush(120, 120, 220, 14),
                                          hoverBrush=pg.mkBrush(120, 120, 220, 50))
        self.region.setZValue(-20)
        self.region.sigRegionChangeFinished.connect(lambda _r: self._on_region(True))
        self.region.sigRegionChanged.connect(lambda _r: self._on_region(False))
        self.preview = LivePreview(self)
        self.previewing = False         # the fit items show a preview, not self.result
        self._held: list = []           # (ViewBox, auto-range state) frozen during a preview
        self.casa_overlay = None        # the CasaOverlay shown (None: the block has no model)
        self._casa_items: list = []
        self.markers: dict[str, pg.InfiniteLine] = {}
        self._items: list = []          # everything drawn for the current spectrum/fit
        self._fit_items: dict = {}      # the fit's items by role, for in-place updates
        self._suppress = False          # programmatic updates must not look like user drags
        self.spectrum = None
        self.result = None

    # ----------------------------------------------------------------------------- drawing
    def clear_plot(self) -> None:
        for item in self._items:
            for plot in (self.main, self.resid):
                if item.scene() is not None and item in plot.items:
                    plot.removeItem(item)
        self._items.clear()
        for line in self.markers.values():
            self.main.removeItem(line)
        self.markers.clear()
        if self.region.scene() is not None:
            self.main.removeItem(self.region)
        self.legend.clear()
        self._remove_casa_items()
        self.casa_overlay = None
        self.casa_box.setVisible(False)
        self.casa_note.setVisible(False)
        self.preview.cancel()
        self._release_axes()
        self._fit_items = {}
        self.spectrum = None
        self.result = None

    def _add(self, plot, item, name: str | None = None):
        plot.addItem(item)
        self._items.append(item)
        if name:
            self.legend.addItem(item, name)
        return item

    def show_spectrum(self, spectrum, fit_range: tuple[float, float] | None = None,
                      result=None, components=None) -> None:
        """Draw ``spectrum`` (and ``result`` when given). ``components`` are the recipe's
        ComponentSpecs: their start positions place the markers before any fit exists.

        A new fit of the spectrum already shown, with the same species, only moves the data of
        the existing items (no rebuild, the user's zoom is kept): that keeps a drag-release →
        refit → redraw cycle fast."""
        markers = self._marker_positions(result, components)
        curves = _fit_curves(result) if result is not None else None
        if (spectrum is self.spectrum and curves is not None and self._fit_items
                and list(curves["species"]) == list(self._fit_items["species"])
                and list(markers) == list(self.markers)):
            self._update_fit(result, curves, markers)
            return
        self.clear_plot()
        self.spectrum = spectrum
        self.result = result
        be = np.asarray(spectrum[DIM].values, dtype=float)
        y = np.asarray(spectrum.values, dtype=float)
        a = spectrum.attrs
        title = " · ".join(str(t) for t in (a.get("region", ""), a.get("label", "")
                                             or a.get("block_name", "")) if t)
        self.title = title
        self.main.setTitle(f"<span style='color:#222;font-size:11pt'>{title}</span>")
        unit = a.get("counts_unit", "counts")
        self.main.setLabel("left", "Intensity", units="counts/s" if unit == "counts/s" else
                           ("" if unit == "arbitrary" else "counts"))
        self._add(self.main, pg.PlotDataItem(be, y, pen=None, symbol="o", symbolSize=4,
                                             symbolPen=None, symbolBrush=pg.mkBrush("#333333")),
                  "data")
        if curves is not None:
            self._draw_fit(curves)
        lo_hi = fit_range or (float(be[0]), float(be[-1]))
        if curves is not None:
            lo_hi = (float(curves["x"][0]), float(curves["x"][-1]))
        self._suppress = True
        try:
            self.region.setBounds((float(be[0]), float(be[-1])))
            self.region.setRegion(lo_hi)
            self.main.addItem(self.region, ignoreBounds=True)
            self._add_markers(markers)
        finally:
            self._suppress = False
        self.main.enableAutoRange()
        self.resid.enableAutoRange()

    def _draw_fit(self, curves: dict) -> None:
        x, bg = curves["x"], curves["background"]
        bg_item = pg.PlotDataItem(x, bg, pen=pg.mkPen("#555555", width=1.5, style=Qt.DashLine))
        tops, fills = {}, {}
        for species, label, comp in zip(curves["species"], curves["labels"], curves["components"]):
            colour = species_colour(species)
            top = pg.PlotDataItem(x, bg + comp, pen=pg.mkPen(_colour(colour), width=1.2))
            self._add(self.main, top, label)
            fill = QGraphicsPathItem()
            fill.setBrush(pg.mkBrush(_colour(colour, 70)))
            fill.setPen(QPen(Qt.NoPen))
            fill.setPath(_band(x, bg, bg + comp))
            fill.setZValue(-10)
            self._add(self.main, fill)
            tops[species] = top
            fills[species] = fill
        self._add(self.main, bg_item, "background")
        env = self._add(self.main, pg.PlotDataItem(x, curves["envelope"],
                                                   pen=pg.mkPen("#000000", width=2)), "envelope")
        resid = self._add(self.resid, pg.PlotDataItem(x, curves["residual"],
                                                      pen=pg.mkPen("#444444", width=1),
                                                      symbol="o", symbolSize=3, symbolPen=None,
                                                      symbolBrush=pg.mkBrush("#444444")))
        self._fit_items = {"species": list(curves["species"]), "tops": tops, "fills": fills,
                           "background": bg_item, "envelope": env, "residual": resid}

    def _set_curves(self, curves: dict) -> None:
        items, x, bg = self._fit_items, curves["x"], curves["background"]
        items["background"].setData(x, bg)
        for species, comp in zip(curves["species"], curves["components"]):
            items["tops"][species].setData(x, bg + comp)
            items["fills"][species].setPath(_band(x, bg, bg + comp))
        items["envelope"].setData(x, curves["envelope"])
        items["residual"].setData(x, curves["residual"])

    def _update_fit(self, result, curves: dict, markers: dict) -> None:
        self.result = result
        self.preview.cancel()
        self._set_curves(curves)
        self._release_axes()
        self._suppress = True
        try:
            # a handle under the pointer stays there: a refit may land during the next drag
            if not _dragging(self.region):
                self.region.setRegion((float(curves["x"][0]), float(curves["x"][-1])))
            for species, (pos, _label) in markers.items():
                if not getattr(self.markers[species], "moving", False):
                    self.markers[species].setValue(pos)
        finally:
            self._suppress = False

    @staticmethod
    def _marker_positions(result, components) -> dict[str, tuple[float, str]]:
        positions: dict[str, tuple[float, str]] = {}
        if components:
            for c in components:
                positions[c.species] = (float(c.position), c.label)
        if result is not None:
            for c in result.components:
                if math.isfinite(c.position):
                    positions[c.species] = (float(c.position), c.label)
        return positions

    def _add_markers(self, positions: dict[str, tuple[float, str]]) -> None:
        for k, (species, (pos, label)) in enumerate(positions.items()):
            colour = species_colour(species)
            # labels at staggered heights so close components stay readable
            opts = {"position": 0.95 - 0.06 * (k % 3), "color": text_colour(species),
                    "fill": (255, 255, 255, 180), "movable": False}
            line = pg.InfiniteLine(pos=pos, angle=90, movable=True,
                                   pen=pg.mkPen(_colour(colour), width=1.5, style=Qt.DotLine),
                                   hoverPen=pg.mkPen(_colour(colour), width=3),
                                   label=label, labelOpts=opts)
            line.setToolTip(f"{label}: drag to move the start position; the fit reruns on release")
            line.species = species
            line.sigPositionChangeFinished.connect(lambda ln: self._on_marker(ln, True))
            line.sigPositionChanged.connect(lambda ln: self._on_marker(ln, False))
            self.main.addItem(line, ignoreBounds=True)
            self.markers[species] = line

    def move_markers(self, components) -> None:
        """Put the markers at the recipe's start positions without a redraw (before a refit)."""
        self._suppress = True
        try:
            for c in components:
                if c.species in self.markers:
                    self.markers[c.species].setValue(float(c.position))
        finally:
            self._suppress = False

    # ----------------------------------------------------------------------------- preview
    def show_preview(self, curves_ds) -> None:
        """Draw model curves (the ``FitResult.curves`` schema, from ``xpsfit.evaluate_model``)
        in the fit's items, in place; ``self.result`` stays the fit shown."""
        if not self._fit_items or self.result is None:
            return
        curves = _curve_arrays(curves_ds, self.result)
        if list(curves["species"]) != list(self._fit_items["species"]):
            return
        if not self.previewing:
            self._hold_axes()
        self._set_curves(curves)
        self.previewing = True

    def end_preview(self) -> None:
        """Put the shown fit's curves back (a drag ended without a refit, or the refit failed)."""
        self.preview.cancel()
        if self.previewing and self.result is not None and self._fit_items:
            self._set_curves(_fit_curves(self.result))
        self._release_axes()

    def _hold_axes(self) -> None:
        # the axes stay put while the pointer moves (no rescaled ticks and relayout, hence no
        # second paint, per move); they follow again when the preview ends
        self._held = [(vb, list(vb.state["autoRange"])) for vb in (self.main.vb, self.resid.vb)]
        for vb, _state in self._held:
            vb.disableAutoRange()

    def _release_axes(self) -> None:
        self.previewing = False
        held, self._held = self._held, []
        for vb, (x, y) in held:
            vb.enableAutoRange(x=x, y=y)

    # ----------------------------------------------------------------------------- CasaXPS
    def show_casa_model(self, overlay) -> None:
        """Show ``overlay`` (a :class:`~xpsfit_gui.casa_overlay.CasaOverlay`, None for a block
        without a CasaXPS model) if the *CasaXPS model* box is ticked."""
        if overlay is self.casa_overlay and (self._casa_items or not self.casa_box.isChecked()):
            return
        self._remove_casa_items()
        self.casa_overlay = overlay
        self.casa_box.setVisible(overlay is not None and overlay.drawn)
        self.casa_note.setVisible(overlay is not None and not overlay.drawn)
        if overlay is None:
            return
        if not overlay.drawn:
            self.casa_note.setText(overlay.label)
            return
        if not self.casa_box.isChecked():
            return
        dash = pg.mkPen(_colour(CASA_COLOUR), width=2, style=Qt.DashLine)
        x, bg = overlay.x, overlay.background
        thin = pg.mkPen(_colour(CASA_COLOUR, 200), width=1.2, style=Qt.DashLine)
        for curve in overlay.components.values():
            self._add_casa(pg.PlotDataItem(x, bg + curve, pen=thin))
        self._add_casa(pg.PlotDataItem(x, bg, pen=pg.mkPen(_colour(CASA_COLOUR, 200), width=1.2,
                                                          style=Qt.DashDotLine)))
        self._add_casa(pg.PlotDataItem(x, overlay.envelope, pen=dash), overlay.label)

    def _add_casa(self, item, name: str | None = None) -> None:
        item.setZValue(5)
        self.main.addItem(item)
        self._casa_items.append(item)
        if name:
            self.legend.addItem(item, name)

    def _remove_casa_items(self) -> None:
        for item in self._casa_items:
            self.legend.removeItem(item)
            if item.scene() is not None:
                self.main.removeItem(item)
        self._casa_items.clear()

    def _on_casa_toggled(self, _checked: bool) -> None:
        overlay, self.casa_overlay = self.casa_overlay, None
        self._remove_casa_items()
        self.show_casa_model(overlay)

    # ----------------------------------------------------------------------------- signals
    def _on_marker(self, line, released: bool) -> None:
        """A marker moved (a preview) or was released (the main window's edit and refit)."""
        if self._suppress:
            return
        if released:
            self.markerMoved.emit(line.species, float(line.value()))
        else:
            self.preview.request_marker(line.species, float(line.value()))

    def _on_region(self, released: bool) -> None:
        if self._suppress:
            return
        lo, hi = sorted(self.region.getRegion())
        if released:
            self.rangeChanged.emit(float(lo), float(hi))
        else:
            self.preview.request_range(lo, hi)

    def set_range_silently(self, lo: float, hi: float) -> None:
        self._suppress = True
        try:
            self.region.setRegion((lo, hi))
        finally:
            self._suppress = False


def _band(x: np.ndarray, lower: np.ndarray, upper: np.ndarray):
    """The closed outline between two curves on one axis (a component's fill). Built from the
    arrays in one step (pyqtgraph's FillBetweenItem rebuilds it from both curves' painter paths
    on every change of either: twice per component and update, the costliest part of one)."""
    path = pg.arrayToQPath(np.concatenate([x, x[::-1]]), np.concatenate([upper, lower[::-1]]))
    path.closeSubpath()
    return path


def _dragging(region) -> bool:
    return bool(getattr(region, "moving", False)) or any(
        getattr(line, "moving", False) for line in region.lines)


def _fit_curves(result) -> dict:
    """Plain arrays of a FitResult's curves (residual normalised by σ)."""
    return _curve_arrays(result.curves, result)


def _curve_arrays(c, result) -> dict:
    """Plain arrays of curves in the ``FitResult.curves`` schema, labelled by ``result``."""
    x = np.asarray(c[DIM].values, dtype=float)
    labels = {k.species: k.label for k in result.components}
    species = [str(s) for s in c["species"].values] if "components" in c else []
    comps = [np.asarray(c["components"].sel(species=s).values, dtype=float) for s in species]
    resid = c["residual"]
    norm = np.asarray(resid.values, dtype=float)
    # the engine stores (data − model)/σ; divide only if a core ever stores raw residuals
    if "normalised" not in str(resid.attrs.get("long_name", "")) and "sigma" in c:
        sigma = np.asarray(c["sigma"].values, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            norm = np.where(sigma > 0, norm / sigma, 0.0)
    return {"x": x, "background": np.asarray(c["background"].values, dtype=float),
            "envelope": np.asarray(c["envelope"].values, dtype=float), "residual": norm,
            "species": species, "labels": [labels.get(s, s) for s in species],
            "components": comps}
