"""Fixtures for the GUI tests (pytest-qt, offscreen; QT_QPA_PLATFORM is set by tests/conftest.py)."""
from __future__ import annotations

import gc
from pathlib import Path

import pytest

pytest.importorskip("pytestqt", reason="pytest-qt is not installed (pip install xpsfit[test])")
pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install xpsfit[gui])")

from gui_helpers import EXAMPLES, need, need_api  # noqa: E402


@pytest.fixture(autouse=True)
def _collect_between_tests():
    """Python's cycle collector runs at safe points only: between GUI tests, after qtbot has
    closed the test's widgets. Left automatic, it could free the wrappers of a finished test's
    pyqtgraph items inside pytest-qt's event processing, while an axis is painting; CI saw one
    segmentation fault in AxisItem.paint (QPainter.boundingRect) that we traced to no thread."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


@pytest.fixture
def s2p_recipe():
    """The example S 2p recipe, through the real loader."""
    load = need_api("load_recipe")
    path = need(EXAMPLES / "s2p_sulfide.toml")
    try:
        return load(path)
    except NotImplementedError:
        pytest.skip("xpsfit.load_recipe is not implemented yet")


@pytest.fixture
def cnf_series() -> Path:
    return need(EXAMPLES / "cnf_series.vms")


@pytest.fixture
def window(qtbot, tmp_path):
    """A main window with its own settings file and an error hook instead of dialogs."""
    from PySide6.QtCore import QSettings

    from xpsfit_gui.main_window import MainWindow
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    errors: list[str] = []
    w = MainWindow(settings=settings, error_hook=errors.append)
    w.hooked_errors = errors
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    if w.job is not None:
        w.cancel_fit()
        w.job.wait(10000)

