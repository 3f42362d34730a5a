"""Recipe panel: library, region, species check list, line shape, background; load/save TOML.

The panel only shows a Recipe and reports what the user asked for; the main window turns each
request into an undoable recipe edit.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

import xpsfit

from .palette import text_colour
from .recipe_edit import BACKGROUNDS, LINESHAPES


class RecipePanel(QWidget):
    libraryRegionChosen = Signal(str, str)     # library, region
    speciesChosen = Signal(list)               # checked species keys, in list order
    lineshapeChosen = Signal(str)
    backgroundChosen = Signal(str)
    loadRequested = Signal()
    saveRequested = Signal()
    casaRequested = Signal()                   # recipe from the spectrum's CasaXPS model
    rangeTyped = Signal(float, float)          # the numeric range fields
    libraryRangeRequested = Signal()
    backgroundParamsChosen = Signal(dict)      # recipe [background] keys -> values
    priorTyped = Signal(str)                   # "target = value ± sigma" ("target =" removes)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._filling = False
        self._library = None
        box = QGroupBox()
        form = QFormLayout()
        self.library_combo = QComboBox()
        self.region_combo = QComboBox()
        self.lineshape_combo = QComboBox()
        self.lineshape_combo.addItems(LINESHAPES)
        self.background_combo = QComboBox()
        self.background_combo.addItems(BACKGROUNDS)
        form.addRow("Library", self.library_combo)
        form.addRow("Region", self.region_combo)
        form.addRow("Line shape", self.lineshape_combo)
        form.addRow("Background", self.background_combo)
        self.species_list = QListWidget()
        self.species_list.setToolTip("check the species to fit")
        self.constraints_label = QLabel("")
        self.constraints_label.setWordWrap(True)
        self.constraints_label.setToolTip("links and priors of the recipe; links are typed in "
                                          "the link columns of the component table")
        self.source_label = QLabel("no recipe")
        self.source_label.setWordWrap(True)
        self.source_label.setStyleSheet("color: #555")
        buttons = QHBoxLayout()
        self.load_button = QPushButton("Load…")
        self.save_button = QPushButton("Save…")
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.save_button)
        self.casa_button = QPushButton("From CasaXPS")
        self.casa_button.setToolTip("recipe from the CasaXPS model (CASA region/comp lines) "
                                    "stored with the selected spectrum")
        buttons.addWidget(self.casa_button)
        inner = QVBoxLayout()
        inner.addLayout(form)
        inner.addWidget(self._build_region_box())
        inner.addWidget(QLabel("Species"))
        inner.addWidget(self.species_list, 1)
        inner.addWidget(self.constraints_label)
        self.prior_edit = QLineEdit()
        self.prior_edit.setPlaceholderText("prior: position(S0) - position(PS4) = 1.5 ± 0.2")
        self.prior_edit.setToolTip("add or replace a prior (target = value ± sigma); "
                                   "'target =' removes it")
        self.prior_edit.returnPressed.connect(
            lambda: self.prior_edit.text().strip() and self.priorTyped.emit(self.prior_edit.text()))
        inner.addWidget(self.prior_edit)
        inner.addWidget(self.source_label)
        inner.addLayout(buttons)
        box.setLayout(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addWidget(box)

        self.library_combo.activated.connect(self._on_library)
        self.region_combo.activated.connect(self._on_region)
        self.lineshape_combo.activated.connect(
            lambda _i: self._filling or self.lineshapeChosen.emit(self.lineshape_combo.currentText()))
        self.background_combo.activated.connect(
            lambda _i: self._filling or self.backgroundChosen.emit(self.background_combo.currentText()))
        self.species_list.itemChanged.connect(self._on_species)
        self.load_button.clicked.connect(self.loadRequested)
        self.save_button.clicked.connect(self.saveRequested)
        self.casa_button.clicked.connect(self.casaRequested)
        self.populate_libraries()

    def _build_region_box(self) -> QGroupBox:
        """Range fields beside the drag band, and every parameter of the background."""
        box = QGroupBox("Region and background")
        form = QFormLayout(box)
        self.range_lo, self.range_hi = (self._spin(0.0, 20000.0, 2) for _ in range(2))
        row = QHBoxLayout()
        row.addWidget(self.range_lo)
        row.addWidget(QLabel("–"))
        row.addWidget(self.range_hi)
        self.library_range_button = QPushButton("Library")
        self.library_range_button.setToolTip("the library's default range for this region")
        row.addWidget(self.library_range_button)
        form.addRow("Range (eV)", row)
        self.endpoints = QSpinBox()
        self.endpoints.setRange(1, 200)
        self.endpoints.setToolTip("points averaged at each end (Shirley, linear)")
        self.tougaard_B = self._spin(0.0, 1e7, 1)
        self.tougaard_C = self._spin(0.0, 1e7, 1)
        self.tougaard_C_prime = self._spin(-1e4, 1e4, 3)
        self.tougaard_D = self._spin(0.0, 1e7, 1)
        self.tougaard_fit_B = QCheckBox("fit B to the high-BE end")
        form.addRow("End points", self.endpoints)
        form.addRow("Tougaard B", self.tougaard_B)
        form.addRow("Tougaard C", self.tougaard_C)
        form.addRow("Tougaard C′", self.tougaard_C_prime)
        form.addRow("Tougaard D", self.tougaard_D)
        form.addRow("", self.tougaard_fit_B)
        for w in (self.range_lo, self.range_hi):
            w.editingFinished.connect(self._on_range_typed)
        self.library_range_button.clicked.connect(self.libraryRangeRequested)
        for w in (self.endpoints, self.tougaard_B, self.tougaard_C, self.tougaard_C_prime,
                  self.tougaard_D):
            w.editingFinished.connect(self._on_background_params)
        self.tougaard_fit_B.toggled.connect(lambda _on: self._on_background_params())
        return box

    @staticmethod
    def _spin(lo: float, hi: float, decimals: int) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setDecimals(decimals)
        box.setKeyboardTracking(False)
        return box

    def background_params(self) -> dict:
        return {"endpoints": self.endpoints.value(), "tougaard_B": self.tougaard_B.value(),
                "tougaard_C": self.tougaard_C.value(),
                "tougaard_C_prime": self.tougaard_C_prime.value(),
                "tougaard_D": self.tougaard_D.value(),
                "tougaard_fit_B": self.tougaard_fit_B.isChecked()}

    def _show_region(self, recipe) -> None:
        lo, hi = recipe.range if recipe.range is not None else (0.0, 0.0)
        self.range_lo.setValue(lo)
        self.range_hi.setValue(hi)
        bg = recipe.background
        self.endpoints.setValue(bg.endpoints)
        self.tougaard_B.setValue(bg.tougaard_B)
        self.tougaard_C.setValue(bg.tougaard_C)
        self.tougaard_C_prime.setValue(bg.tougaard_C_prime)
        self.tougaard_D.setValue(bg.tougaard_D)
        self.tougaard_fit_B.setChecked(bg.tougaard_fit_B)
        tougaard = bg.type == "tougaard"
        for w in (self.tougaard_B, self.tougaard_C, self.tougaard_C_prime, self.tougaard_D,
                  self.tougaard_fit_B):
            w.setEnabled(tougaard)
        self.endpoints.setEnabled(bg.type in ("shirley", "linear", "shirley_active"))

    def _on_range_typed(self) -> None:
        if not self._filling and self.range_lo.value() != self.range_hi.value():
            self.rangeTyped.emit(self.range_lo.value(), self.range_hi.value())

    def _on_background_params(self) -> None:
        if not self._filling:
            self.backgroundParamsChosen.emit(self.background_params())

    # --------------------------------------------------------------------------- filling
    def populate_libraries(self) -> None:
        self._filling = True
        try:
            self.library_combo.clear()
            try:
                names = list(xpsfit.list_libraries())
            except Exception:  # noqa: BLE001 - libraries not installed yet: panel stays empty
                names = []
            self.library_combo.addItems(names)
            self.library_combo.setCurrentIndex(-1)
        finally:
            self._filling = False

    def _load_library(self, name: str):
        try:
            return xpsfit.load_library(name)
        except Exception:  # noqa: BLE001
            return None

    def _fill_regions(self, library, current: str = "") -> None:
        self.region_combo.clear()
        if library is None:
            return
        names = [r.name for r in library.regions.values()]
        self.region_combo.addItems(names)
        key = xpsfit.region_key(current)
        for i, n in enumerate(names):
            if xpsfit.region_key(n) == key:
                self.region_combo.setCurrentIndex(i)
                break
        else:
            self.region_combo.setCurrentIndex(-1)

    def _fill_species(self, region_def, checked: list[str]) -> None:
        self.species_list.clear()
        keys = list(region_def.species) if region_def is not None else []
        # species in the recipe but not in the library still get a row (user components)
        keys += [k for k in checked if k not in keys]
        for key in keys:
            sd = region_def.species.get(key) if region_def is not None else None
            text = f"{sd.label}  ({key}, {sd.position:.1f} eV)" if sd is not None else key
            item = QListWidgetItem(text)
            item.setData(Qt.UserRole, key)
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if key in checked else Qt.Unchecked)
            item.setForeground(QBrush(QColor(text_colour(key))))
            if sd is not None and sd.references:
                item.setToolTip("\n".join(r.citation for r in sd.references))
            self.species_list.addItem(item)

    def show_recipe(self, recipe) -> None:
        """Reflect ``recipe`` (or nothing) without emitting requests."""
        self._filling = True
        try:
            if recipe is None:
                self.source_label.setText("no recipe: choose a library and region, or Load…")
                return
            lib = recipe.library
            self._library = lib
            i = self.library_combo.findText(recipe.library_name)
            if i < 0:
                self.library_combo.addItem(recipe.library_name)
                i = self.library_combo.count() - 1
            self.library_combo.setCurrentIndex(i)
            self._fill_regions(lib, recipe.region)
            try:
                region_def = lib.region(recipe.region)
            except Exception:  # noqa: BLE001
                region_def = None
            self._fill_species(region_def, [c.species for c in recipe.components])
            self.lineshape_combo.setCurrentText(recipe.lineshape)
            self.background_combo.setCurrentText(recipe.background.type)
            lines = [f"link: {link}" for link in recipe.links]
            lines += [f"prior: {p.target} = {p.value:g} ± {p.sigma:g}" for p in recipe.priors]
            if recipe.range:
                lines.append(f"range: {recipe.range[0]:.2f}–{recipe.range[1]:.2f} eV")
            self.constraints_label.setText("\n".join(lines))
            self._show_region(recipe)
            self.source_label.setText(self._origin_text(recipe))
        finally:
            self._filling = False

    def _origin_text(self, recipe) -> str:
        """"from X" only while the recipe is what X holds; "edited" once it differs."""
        if recipe.source != getattr(self, "_origin_source", None):
            self._origin_source, self._origin = recipe.source, recipe
        if not recipe.source or recipe.source.startswith("("):    # "(GUI)": built here
            return "built here (not saved)"
        name = recipe.source.replace("\\", "/").rsplit("/", 1)[-1]
        if recipe is self._origin or recipe == self._origin:
            return f"from {name}"
        return f"edited (not saved); started from {name}"

    def checked_species(self) -> list[str]:
        out = []
        for i in range(self.species_list.count()):
            item = self.species_list.item(i)
            if item.checkState() == Qt.Checked:
                out.append(item.data(Qt.UserRole))
        return out

    # --------------------------------------------------------------------------- requests
    def _on_library(self, _index: int) -> None:
        if self._filling:
            return
        self._library = self._load_library(self.library_combo.currentText())
        self._filling = True
        try:
            self._fill_regions(self._library)
            self.species_list.clear()
        finally:
            self._filling = False

    def _on_region(self, _index: int) -> None:
        if not self._filling and self.region_combo.currentText():
            self.libraryRegionChosen.emit(self.library_combo.currentText(),
                                          self.region_combo.currentText())

    def _on_species(self, _item) -> None:
        if not self._filling:
            self.speciesChosen.emit(self.checked_species())
