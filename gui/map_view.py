"""Map result viewer: one image per quantity and species (fraction, area, position, ...) with a
colour bar; a click on a pixel shows that pixel's spectrum and its fit by ``xpsfit.fit``."""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

import xpsfit

from .spectrum_view import SpectrumView

#: what the quantity box offers: per-species images, then per-pixel scalars
PER_SPECIES = ("fraction", "area", "position", "fwhm", "fraction_stderr", "area_stderr",
               "position_stderr")
PER_PIXEL = ("redchi", "status", "verdict")


class MapView(QWidget):
    """Images of a map result (2-D maps: first dim = rows, second = columns)."""

    #: (row, column) of the pixel just shown
    pixelShown = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.quantity = QComboBox()
        self.quantity.addItems([*PER_SPECIES, *PER_PIXEL])
        self.species = QComboBox()
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Show"))
        controls.addWidget(self.quantity)
        controls.addWidget(QLabel("of"))
        controls.addWidget(self.species)
        controls.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot = self.graphics.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)              # row 0 at the top, as the map is stored
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False)
        self.colour_bar.setImageItem(self.image, insert_in=self.plot)
        self.image.mouseClickEvent = self._on_click
        self.marker = pg.ScatterPlotItem(symbol="+", size=16, pen=pg.mkPen("r", width=2),
                                         brush=None)
        self.plot.addItem(self.marker)
        self.spectrum_view = SpectrumView()
        self.status = QLabel("Open a map result (xpsfit map … --out maps.h5).")
        self.status.setWordWrap(True)
        split = QSplitter()
        split.addWidget(self.graphics)
        split.addWidget(self.spectrum_view)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self.result = None
        self.path: Path | None = None
        self._recipe = None
        self.pixel_fit = None
        self.quantity.currentTextChanged.connect(self.redraw)
        self.species.currentTextChanged.connect(self.redraw)

    def open_result(self, path) -> None:
        """Load a result of ``xpsfit.fit_map_to_hdf5``; errors surface as XpsfitError."""
        res = xpsfit.load_map_result(path)
        if res["success"].ndim != 2:
            raise xpsfit.FitError(f"the map viewer shows 2-D maps; this one has dims "
                                  f"{res['success'].dims}", path=str(path))
        self.result, self.path, self._recipe, self.pixel_fit = res, Path(path), None, None
        self.marker.setData([], [])
        self.species.blockSignals(True)
        self.species.clear()
        self.species.addItems([str(s) for s in res.species.values])
        self.species.blockSignals(False)
        self.redraw()
        self.plot.autoRange()

    def image_values(self) -> np.ndarray:
        """The 2-D array currently drawn (NaN where a pixel has no value)."""
        var = self.result[self.quantity.currentText()]
        if "species" in var.dims:
            var = var.sel(species=self.species.currentText())
        return np.asarray(var.values, dtype=float)

    def redraw(self, *_):
        if self.result is None:
            return
        values = self.image_values()
        self.species.setEnabled(self.quantity.currentText() in PER_SPECIES)
        self.image.setImage(values, autoLevels=False)
        finite = values[np.isfinite(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.colour_bar.setLevels((lo, hi if hi > lo else lo + 1e-12))
        failed = int((~self.result["success"].values.astype(bool)).sum())
        self.status.setText(f"{self.path.name}: {values.shape[0]} × {values.shape[1]} pixels, "
                            f"{failed} not fitted; {self.quantity.currentText()} "
                            f"{lo:.4g} … {hi:.4g}. Click a pixel to see its spectrum and fit.")

    def _on_click(self, event) -> None:
        pos = event.pos()
        self.show_pixel(int(np.floor(pos.y())), int(np.floor(pos.x())))

    def _pixel_recipe(self):
        if self._recipe is None:
            text = str(self.result.attrs.get("recipe_toml", ""))
            if not text:
                raise xpsfit.RecipeError("the map result holds no recipe", path=str(self.path))
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise xpsfit.RecipeError(f"stored recipe is not TOML: {exc}",
                                         path=str(self.path)) from None
            self._recipe = xpsfit.recipe_from_dict(data, source=str(self.path))
        return self._recipe

    def show_pixel(self, row: int, col: int) -> None:
        """Read pixel (row, col) from the map the result was fitted from, fit it, draw both."""
        if self.result is None:
            return
        ny, nx = self.result["success"].shape
        if not (0 <= row < ny and 0 <= col < nx):
            return
        source = str(self.result.attrs.get("source", ""))
        self.marker.setData([col + 0.5], [row + 0.5])
        code = int(self.result["status"].values[row, col])
        reason = xpsfit.MAP_STATUS.get(code, f"status {code}")
        try:
            spectrum = xpsfit.read_map_pixel(source, (row, col))
            self.pixel_fit = xpsfit.fit(spectrum, self._pixel_recipe())
        except xpsfit.XpsfitError as exc:
            self.status.setText(f"pixel ({row}, {col}) [{reason}]: {exc}")
            self.pixel_fit = None
            return
        self.spectrum_view.show_spectrum(spectrum, result=self.pixel_fit)
        self.status.setText(f"pixel ({row}, {col}) in the map: {reason}, reduced χ² "
                            f"{float(self.result['redchi'].values[row, col]):.3g}; refitted alone: "
                            f"reduced χ² {self.pixel_fit.statistics.redchi:.3g}")
        self.pixelShown.emit(row, col)
