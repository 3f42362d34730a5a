"""The tree of opened files: file → spectra (region, label, voltage)."""
from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem

KEY_ROLE = Qt.UserRole


def spectrum_caption(spectrum) -> tuple[str, str, str]:
    a = spectrum.attrs
    label = str(a.get("label", "") or a.get("block_name", "") or a.get("sample", ""))
    v = a.get("voltage", math.nan)
    volt = f"{float(v):g} V" if v is not None and math.isfinite(float(v)) else ""
    return str(a.get("region", "")), label, volt


class FileTree(QTreeWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderLabels(["#", "Region", "Label", "V"])
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        for col, width in enumerate((150, 45, 95, 40)):
            self.setColumnWidth(col, width)

    def add_file(self, file_index: int, path: Path, spectra, kind: str = "spectra") -> QTreeWidgetItem:
        top = QTreeWidgetItem([Path(path).name, "", f"{len(spectra)} "
                               + ("saved fits" if kind == "result" else "spectra"), ""])
        f = QFont(top.font(0))
        f.setBold(True)
        top.setFont(0, f)
        top.setToolTip(0, str(path))
        top.setData(0, KEY_ROLE, None)
        top.setFlags(Qt.ItemIsEnabled)
        for i, s in enumerate(spectra):
            region, label, volt = spectrum_caption(s)
            child = QTreeWidgetItem([str(int(s.attrs.get("block_index", i))), region, label, volt])
            child.setData(0, KEY_ROLE, (file_index, i))
            if kind == "result":
                child.setToolTip(0, "saved fit (from the HDF5 result file)")
            top.addChild(child)
        self.addTopLevelItem(top)
        top.setExpanded(True)
        return top

    def item_for(self, key) -> QTreeWidgetItem | None:
        for t in range(self.topLevelItemCount()):
            top = self.topLevelItem(t)
            for c in range(top.childCount()):
                if top.child(c).data(0, KEY_ROLE) == key:
                    return top.child(c)
        return None

    def selected_keys(self) -> list[tuple[int, int]]:
        keys = [it.data(0, KEY_ROLE) for it in self.selectedItems()]
        return [tuple(k) for k in keys if k is not None]
