"""Entry point of ``xpsfit-gui`` (placeholder window until the GUI issue lands)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel
    app = QApplication.instance() or QApplication(sys.argv if argv is None else ["xpsfit-gui", *argv])
    label = QLabel("xpsfit")
    label.show()
    return app.exec()
