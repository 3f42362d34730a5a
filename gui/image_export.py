"""PNG and SVG pictures of plot widgets.

SVG goes through Qt's own QSvgGenerator (vector output) rather than pyqtgraph's SVGExporter,
whose path rewriting fails on the SVG that Qt 6.11+ produces."""
from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QWidget


def export_widget(widget: QWidget, path: str, title: str = "xpsfit plot", scale: float = 2.0) -> None:
    if str(path).lower().endswith(".svg"):
        from PySide6.QtSvg import QSvgGenerator
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(widget.size())
        gen.setViewBox(QRect(0, 0, widget.width(), widget.height()))
        gen.setTitle(title)
        painter = QPainter(gen)
        try:
            widget.render(painter)
        finally:
            painter.end()
        return
    # raster: render at `scale`× for a crisp picture in reports
    from PySide6.QtGui import QImage
    from PySide6.QtCore import Qt
    img = QImage(int(widget.width() * scale), int(widget.height() * scale), QImage.Format_ARGB32)
    img.fill(Qt.white)
    painter = QPainter(img)
    try:
        painter.scale(scale, scale)
        painter.setRenderHint(QPainter.Antialiasing)
        widget.render(painter)
    finally:
        painter.end()
    if not img.save(str(path)):
        raise OSError(f"could not write image {path}")
