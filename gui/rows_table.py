"""A read-only table of result rows (one dict per row) with a caption and an Export CSV button:
the results across spectra after a propagation, and the atomic % of an acquisition."""
from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

#: background of a row that must not be read as a good number (placeholder RSF, flagged fit)
WARN_BRUSH = QBrush(QColor("#f6d5d0"))


def plus_minus(value: float, sigma: float, digits: int = 3, scale: float = 1.0) -> str:
    """``value ± σ``; a σ that is not finite or dwarfs the value reads "σ undetermined"."""
    if not math.isfinite(value):
        return "—"
    text = f"{value * scale:.{digits}f}"
    if not math.isfinite(sigma) or (sigma > 1e3 * max(abs(value), 1e-12)):
        return text + " (σ undetermined)"
    return f"{text} ± {sigma * scale:.{digits}f}"


class RowsTable(QWidget):
    exportRequested = Signal()

    def __init__(self, placeholder: str, parent=None):
        super().__init__(parent)
        self.caption = QLabel(placeholder)
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.exportRequested.emit)
        row = QHBoxLayout()
        row.addWidget(self.caption, 1)
        row.addWidget(self.export_button)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.table, 1)

    def show_rows(self, headers: list[str], rows: list[list[str]], caption: str,
                  warn: list[bool] | None = None) -> None:
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        for i, cells in enumerate(rows):
            for j, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                if warn and warn[i]:
                    item.setBackground(WARN_BRUSH)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.caption.setText(caption)
        self.export_button.setEnabled(bool(rows))

    def cell(self, row: int, column: str) -> str:
        """Text of a cell by header name (tests, scripts)."""
        for j in range(self.table.columnCount()):
            if self.table.horizontalHeaderItem(j).text() == column:
                return self.table.item(row, j).text()
        raise KeyError(column)
