"""xpsfit-gui: the PySide6 + pyqtgraph desktop application (import package ``xpsfit_gui``)."""
