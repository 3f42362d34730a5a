"""Component table: fitted values ± σ, editable start values, bounds, "fixed" and links, with
the fit's warnings (parameter at a bound, |r| > 0.9) shown on the row as colour and tooltip.

Rows are lettered A, B, … as in CasaXPS, so a link cell of row C may hold ``A*0.5``."""
from __future__ import annotations

import math
import re

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

import xpsfit

from .palette import text_colour
COLUMNS = ["Species", "Position (eV)", "FWHM (eV)", "Area", "Fraction (%)",
           "Pos. min", "Pos. max", "FWHM min", "FWHM max", "Fixed",
           "Pos. link", "FWHM link", "Area link", "Line shape", "Shape", "Shape fitted",
           "Vary shape"]
_COL = {title: i for i, title in enumerate(COLUMNS)}
#: column -> edited field (None: read-only)
_EDIT_FIELD = {1: "position", 2: "fwhm", 3: "area", 5: "window_lo", 6: "window_hi",
               7: "fwhm_lo", 8: "fwhm_hi", 9: "fixed",
               10: "link:position", 11: "link:fwhm", 12: "link:area",
               _COL["Line shape"]: "lineshape", _COL["Shape"]: "shape",
               _COL["Vary shape"]: "shape_vary"}
_LINK_COLUMNS = {10: "position", 11: "fwhm", 12: "area"}
#: cells whose text is the edit (no number is read out of it)
_TEXT_FIELDS = ("shape", "lineshape")
#: check boxes: column -> tooltip
_CHECK_COLUMNS = {9: "fix position and FWHM at their start values",
                  _COL["Vary shape"]: "fit this row's shape parameters (its own values); "
                                      "unticked: held at the Shape cell's values"}
#: a σ this many times the value (or any σ of a zero value) says "undetermined", not a number
_SIGMA_MEANINGLESS = 1e3
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
WARN_BRUSH = QBrush(QColor(255, 224, 170))
CORRELATION_LIMIT = xpsfit.CORRELATION_WARN   # the core's one rule


def _fmt(value: float, stderr: float = math.nan, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    text = f"{value:.{digits}f}" if abs(value) < 1e5 else f"{value:.4g}"
    if stderr is not None and math.isfinite(stderr):
        if stderr > _SIGMA_MEANINGLESS * max(abs(value), 1e-12):
            return text + " ± ?"     # e.g. a zero-area component: its σ is no measurement
        text += f" ± {stderr:.{digits}f}" if abs(stderr) < 1e5 else f" ± {stderr:.2g}"
    return text


def component_warnings(result, species: str, label: str = "") -> list[str]:
    """Warnings of ``result`` that concern one component, from structured data only: its own
    parameters (``ComponentResult.parameters``) at a bound, strong correlations of them with any
    other parameter, and the engine's notices whose ``species`` or ``parameter`` is it."""
    out: list[str] = []
    comp = next((c for c in result.components if c.species == species), None)
    own = set(comp.parameters.values()) if comp is not None else set()
    for rec in result.parameters.values():
        if rec.at_bound and rec.name in own:
            out.append(f"{rec.name} = {rec.value:.4g} is at a bound [{rec.min:.4g}, {rec.max:.4g}]")
    cov, names = result.covariance, list(result.covariance_names or [])
    if cov is not None and len(names) == np.shape(cov)[0]:
        d = np.sqrt(np.clip(np.diag(cov), 0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = cov / np.outer(d, d)
        for i in (k for k, n in enumerate(names) if n in own):
            for j in range(len(names)):
                if j != i and np.isfinite(corr[i, j]) and abs(corr[i, j]) > CORRELATION_LIMIT:
                    out.append(f"|r({names[i]}, {names[j]})| = {abs(corr[i, j]):.2f} > "
                               f"{CORRELATION_LIMIT}")
    for w in list(result.warnings) + list(result.flags):
        if (getattr(w, "species", None) == species or getattr(w, "parameter", None) in own) \
                and w not in out:
            out.append(str(w))
    return out


def shape_values(result, comp) -> str:
    """``"m=0.012 ± 0.07"``: the shape parameters of a fitted component, ± 1σ where the fit
    adjusted them; empty without a fit."""
    if result is None or comp is None:
        return ""
    shapes = set(xpsfit.LINESHAPES[comp.lineshape].shape_params) \
        if comp.lineshape in xpsfit.LINESHAPES else set()
    parts = []
    for quantity, name in comp.parameters.items():
        rec = result.parameters.get(name)
        if quantity not in shapes or rec is None:
            continue
        # a parameter at its bound 0 arrives as 1e-40: that is 0 to every digit shown
        value = rec.value if abs(rec.value) >= 1e-9 else 0.0
        text = f"{quantity}={value:.3g}"
        if rec.kind != "fixed" and rec.stderr is not None and math.isfinite(rec.stderr):
            text += f" ± {rec.stderr:.2g}"
        parts.append(text)
    return ", ".join(parts)


class ComponentTable(QTableWidget):
    """One row per recipe component. Emits ``edited(species, field, value)`` on user edits."""

    edited = Signal(str, str, object)

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.horizontalHeaderItem(COLUMNS.index("Fraction (%)")).setToolTip(
            "± σ_total = √(σ_stat² + σ_bg²): the fit's covariance and the background-systematic "
            "spread (end points, region limits, Shirley kind)")
        header = self.horizontalHeader()
        # values ± σ must never wrap; the bounds columns share what is left
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        for col in (5, 6, 7, 8, 10, 11, 12):
            header.setSectionResizeMode(col, QHeaderView.Stretch)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed
                             | QAbstractItemView.AnyKeyPressed)
        self._filling = False
        self._recipe = None
        self.row_warnings: dict[str, list[str]] = {}
        self.itemChanged.connect(self._on_item_changed)

    def show_components(self, recipe, result=None) -> None:
        """Rows from the recipe (start values and bounds), values ± σ from ``result``."""
        self._filling = True
        try:
            self.setRowCount(0)
            self.row_warnings.clear()
            if recipe is None:
                return
            fitted = {c.species: c for c in result.components} if result is not None else {}
            specs = list(recipe.components)
            # a saved result may hold components its recipe lists differently; show them all
            extra = [c for c in fitted if c not in {s.species for s in specs}]
            self.setRowCount(len(specs) + len(extra))
            self._recipe = recipe
            for row, spec in enumerate(specs):
                self._fill_row(row, spec.species, spec, fitted.get(spec.species), result)
            for k, species in enumerate(extra):
                self._fill_row(len(specs) + k, species, None, fitted[species], result)
        finally:
            self._filling = False

    def _fill_row(self, row: int, species: str, spec, comp, result) -> None:
        label = comp.label if comp is not None else spec.label
        letter = xpsfit.row_letter(row)
        name = QTableWidgetItem(f"{letter} ■ {label}")
        name.setToolTip(f"row {letter}: {species}")
        name.setForeground(QBrush(QColor(text_colour(species))))
        name.setData(Qt.UserRole, species)
        name.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled)
        self.setItem(row, 0, name)
        if comp is not None:
            values = [(comp.position, comp.position_stderr), (comp.fwhm, comp.fwhm_stderr),
                      (comp.area, comp.area_stderr),
                      (100 * comp.fraction, 100 * comp.fraction_stderr_total)]
        else:
            area = spec.area if spec.area is not None else math.nan
            values = [(spec.position, math.nan), (spec.fwhm, math.nan), (area, math.nan),
                      (math.nan, math.nan)]
        digits = [3, 3, 1, 1]
        for col, ((v, s), dg) in enumerate(zip(values, digits), start=1):
            item = QTableWidgetItem(_fmt(v, s, dg))
            item.setData(Qt.UserRole, (float(v), float(s)))
            item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            editable = spec is not None and col != 4
            item.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled
                          | (Qt.ItemIsEditable if editable else Qt.NoItemFlags))
            if editable:
                item.setToolTip("type a new start value; the fit reruns")
            self.setItem(row, col, item)
        if spec is not None:
            bounds = [spec.window[0], spec.window[1], spec.fwhm_bounds[0], spec.fwhm_bounds[1]]
            for col, v in enumerate(bounds, start=5):
                item = QTableWidgetItem(_fmt(float(v), digits=2))
                item.setData(Qt.UserRole, float(v))
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                item.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled | Qt.ItemIsEditable)
                self.setItem(row, col, item)
            checked = {9: xpsfit.is_fixed(self._recipe, species),
                       _COL["Vary shape"]: xpsfit.shape_varies(self._recipe, species)}
            for col, tip in _CHECK_COLUMNS.items():
                box = QTableWidgetItem()
                box.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled | Qt.ItemIsUserCheckable)
                box.setCheckState(Qt.Checked if checked[col] else Qt.Unchecked)
                box.setToolTip(tip)
                self.setItem(row, col, box)
            for col, quantity in _LINK_COLUMNS.items():
                item = QTableWidgetItem(xpsfit.link_of(self._recipe, species, quantity))
                item.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled | Qt.ItemIsEditable)
                item.setToolTip(f"{quantity} of row {letter} tied to another row: A*0.5, "
                                f"B+1.18, or an expression; empty: no link")
                self.setItem(row, col, item)
            for title, text, tip in (
                    ("Line shape", xpsfit.component_lineshape(self._recipe, species),
                     "line shape of this row: " + ", ".join(xpsfit.LINESHAPES)
                     + "; empty: the recipe's"),
                    ("Shape", xpsfit.shape_text(self._recipe, species),
                     "shape parameters of this row (e.g. eta=0.3, or a number): the start "
                     "value when 'Vary shape' is ticked, else the value used; empty: the "
                     "recipe's")):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled | Qt.ItemIsEditable)
                item.setToolTip(tip)
                self.setItem(row, _COL[title], item)
        fitted_shape = QTableWidgetItem(shape_values(result, comp))
        fitted_shape.setFlags(Qt.ItemIsSelectable | Qt.ItemIsEnabled)
        fitted_shape.setToolTip("shape parameters of the fit (± 1σ where fitted)")
        self.setItem(row, _COL["Shape fitted"], fitted_shape)
        if result is not None:
            warnings = component_warnings(result, species, label)
            if warnings:
                self.row_warnings[species] = warnings
                tip = "\n".join(warnings)
                for col in range(self.columnCount()):
                    item = self.item(row, col)
                    if item is not None:
                        item.setBackground(WARN_BRUSH)
                        item.setToolTip(tip)
                name.setText(f"⚠ {letter} {label}")

    # ------------------------------------------------------------------------------ access
    def row_of(self, species: str) -> int:
        for row in range(self.rowCount()):
            if self.item(row, 0).data(Qt.UserRole) == species:
                return row
        raise KeyError(species)

    def value(self, species: str, column: str):
        """Numeric content of a cell by column title: (value, σ) for fitted columns, a float
        for bounds, a bool for "Fixed"."""
        row, col = self.row_of(species), COLUMNS.index(column)
        item = self.item(row, col)
        if col in _CHECK_COLUMNS:
            return item.checkState() == Qt.Checked
        if col in _LINK_COLUMNS or _EDIT_FIELD.get(col) in _TEXT_FIELDS \
                or column == "Shape fitted":
            return item.text()
        return item.data(Qt.UserRole)

    def species(self) -> list[str]:
        return [self.item(r, 0).data(Qt.UserRole) for r in range(self.rowCount())]

    # ------------------------------------------------------------------------------ edits
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        field = _EDIT_FIELD.get(item.column())
        if field is None:
            return
        species = self.item(item.row(), 0).data(Qt.UserRole)
        if item.column() in _CHECK_COLUMNS:
            self.edited.emit(species, field, item.checkState() == Qt.Checked)
            return
        if item.column() in _LINK_COLUMNS or field in _TEXT_FIELDS:
            self.edited.emit(species, field, item.text())
            return
        m = _NUMBER.search(item.text())
        if m is None:
            self.edited.emit(species, field, item.text())   # let the edit report the bad value
            return
        self.edited.emit(species, field, float(m.group(0)))
