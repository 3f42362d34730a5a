"""The buttons above the component table and the "Add component" dialog (no fitting here: the
window turns each request into an undoable recipe edit)."""
from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLineEdit, QPushButton, QWidget)

FREE = "(free component)"


class ComponentActions(QWidget):
    addRequested = Signal()
    duplicateRequested = Signal()
    renameRequested = Signal()
    deleteRequested = Signal()
    fixRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.buttons = {}
        for text, signal, tip in (
                ("Add…", self.addRequested, "a free component or a library species (again)"),
                ("Duplicate", self.duplicateRequested, "a copy of the selected row"),
                ("Rename…", self.renameRequested, "new name and label of the selected row; "
                                                  "links follow"),
                ("Delete", self.deleteRequested, "remove the selected row and its links"),
                ("Fix at fitted", self.fixRequested, "fix position and FWHM of the selected "
                                                     "row at the fitted values")):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(signal)
            row.addWidget(b)
            self.buttons[text.rstrip("…")] = b
        row.addStretch(1)


def _spin(lo: float, hi: float, value: float, decimals: int = 2, step: float = 0.1):
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    return box


class AddComponentDialog(QDialog):
    """Name, label, library species or free, position, FWHM bounds, Δ and area ratio
    (Δ = 0: a singlet)."""

    def __init__(self, species: list[str], position: float, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Add component")
        form = QFormLayout(self)
        self.species = QComboBox()
        self.species.addItems([FREE] + list(species))
        self.name = QLineEdit()
        self.label = QLineEdit()
        self.position = _spin(0.0, 20000.0, position)
        self.fwhm_lo = _spin(0.05, 50.0, 0.5)
        self.fwhm_hi = _spin(0.05, 50.0, 3.0)
        self.splitting = _spin(0.0, 100.0, 0.0)
        self.ratio = _spin(0.01, 10.0, 0.5, 3, 0.05)
        for text, w in (("Library species", self.species), ("Name", self.name),
                        ("Label", self.label), ("Position (eV)", self.position),
                        ("FWHM min (eV)", self.fwhm_lo), ("FWHM max (eV)", self.fwhm_hi),
                        ("Splitting Δ (eV, 0 = singlet)", self.splitting),
                        ("Area ratio (minor/major)", self.ratio)):
            form.addRow(text, w)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> tuple[str, dict]:
        """(name, keyword arguments of ``xpsfit.add_component``) for what the dialog shows."""
        species = self.species.currentText()
        kw: dict = {"position": self.position.value()}
        name = self.name.text().strip()
        if species != FREE:
            kw["species"] = species
            name = name or species
        else:
            kw["fwhm"] = [self.fwhm_lo.value(), self.fwhm_hi.value()]
            if self.splitting.value() > 0:
                kw["splitting"] = self.splitting.value()
                kw["ratio"] = self.ratio.value()
        if self.label.text().strip():
            kw["label"] = self.label.text().strip()
        return name, kw


class RenameDialog(QDialog):
    """New name (the key links and priors use) and label (what the table and legend show)."""

    def __init__(self, name: str, label: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Rename {name}")
        self.old_name, self.old_label = name, label
        form = QFormLayout(self)
        self.name = QLineEdit(name)
        self.name.setToolTip("the key of links and priors (fwhm(name)); no parentheses")
        self.label = QLineEdit(label)
        form.addRow("Name", self.name)
        form.addRow("Label", self.label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def request(self) -> tuple[str, str | None]:
        """(new name, new label or None when the label was left as it was)."""
        label = self.label.text().strip()
        return self.name.text().strip(), (label if label and label != self.old_label
                                          else None)


def centre(recipe, spectrum) -> float:
    """A start position for a new component: the middle of the fit range or of the data."""
    if recipe is not None and recipe.range is not None:
        return 0.5 * (recipe.range[0] + recipe.range[1])
    if spectrum is not None and spectrum.size:
        x = spectrum[spectrum.dims[0]].values
        return float(0.5 * (x.min() + x.max()))
    return math.nan
