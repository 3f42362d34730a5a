"""The GUI's "From CasaXPS" button: the recipe comes from xpsfit.recipe_from_casa and fits."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

import xpsfit

from gui_helpers import wait_idle
from realdata import ROOT, real_file   # tests/ is on sys.path through tests/conftest.py

# screenshots go to docs/img only when asked (XPSFIT_DOC_IMAGES=1): a test run never edits the repo
IMG = ROOT / "docs" / "img" if os.environ.get("XPSFIT_DOC_IMAGES") else None


def _vamas_with_model(tmp_path) -> tuple[Path, object]:
    spectrum = xpsfit.read(real_file(
        "cheminfo-xps-analysis/cellulose_fitted_following_briggs.vms"))[1]
    recipe = xpsfit.recipe_from_dict({
        "region": "C 1s", "lineshape": "gl_sum", "shape": {"m": 0.3}, "range": [283.4, 293.2],
        "components": [{"name": "C-O", "position": 286.8, "fwhm": [0.6, 2.0]},
                       {"name": "C=O", "position": 288.2, "fwhm": [0.6, 2.0]}]})
    result = xpsfit.fit(spectrum, recipe)
    path = xpsfit.write_vamas(tmp_path / "model.vms", [xpsfit.with_casa_model(result)])
    return path, result


def test_from_casa_button_makes_the_recipe_and_it_fits(window, qtbot, tmp_path):
    path, first = _vamas_with_model(tmp_path)
    assert window.open_paths([path]) == 1
    window.panel.casa_button.click()
    assert not window.hooked_errors
    assert [c.species for c in window.recipe.components] == ["C-O", "C=O"]
    assert window.recipe.background.type == "shirley"
    window.fit_current()
    wait_idle(qtbot, window)
    result = window.results[window.current]
    for c in first.components:
        assert result.component(c.species).position == pytest.approx(c.position, abs=1e-3)
        assert result.component(c.species).fraction == pytest.approx(c.fraction, abs=1e-3)


def test_from_casa_button_without_a_model_reports_one_line(window, cnf_series):
    window.open_paths([cnf_series])
    window.panel.casa_button.click()
    assert len(window.hooked_errors) == 1
    assert "no CasaXPS region" in window.hooked_errors[0] and "\n" not in window.hooked_errors[0]


# ---------------------------------------------------------------------- the CasaXPS overlay
CELLULOSE = "cheminfo-xps-analysis/cellulose_fitted_following_briggs.vms"
FEO = "pynxtools-xps/FeO_analyzed.vms"


def _casa_pixels(view) -> int:
    """Pixels of the overlay's colour in the rendered plot."""
    import numpy as np
    from PySide6.QtGui import QColor, QImage

    from xpsfit_gui.spectrum_view import CASA_COLOUR
    image = view.graphics.grab().toImage().convertToFormat(QImage.Format_RGB32)
    ptr = image.constBits()
    rgb = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    c = QColor(CASA_COLOUR)
    b, g, r = (rgb[..., i].astype(int) for i in range(3))
    return int(np.count_nonzero((abs(r - c.red()) < 40) & (abs(g - c.green()) < 40)
                                & (abs(b - c.blue()) < 40)))


def _peak(x, y) -> float:
    import numpy as np
    k = int(np.argmax(y))
    return float(x[k] + 0.5 * (y[k - 1] - y[k + 1]) / (y[k - 1] - 2 * y[k] + y[k + 1])
                 * (x[1] - x[0]))


def test_a_block_with_a_casaxps_model_shows_it_as_an_overlay(window, qtbot, tmp_path):
    path = real_file(CELLULOSE)
    assert window.open_paths([path]) == 1
    window.select((0, 1))                                    # C 1s, 4 CasaXPS components
    view = window.view
    overlay = view.casa_overlay
    assert overlay is not None and overlay.drawn and overlay.label == "CasaXPS model"
    assert view.casa_box.isVisibleTo(window) and view.casa_box.isChecked()
    assert "CasaXPS model" in [label.text for _, label in view.legend.items]
    # the plotted curves (component = its item minus the background item) peak where
    # CasaXPS put the components
    *comp_items, bg_item, env_item = view._casa_items
    casa = xpsfit.casa_components(window.spectrum((0, 1)))
    assert len(comp_items) == len(casa) == 4
    peaks = sorted(_peak(i.xData, i.yData - bg_item.yData) for i in comp_items)
    for got, c in zip(peaks, sorted(casa, key=lambda c: c.position_be)):
        assert got == pytest.approx(c.position_be, abs=0.05), c.name
    assert env_item.opts["pen"].style() == Qt.DashLine
    on = _casa_pixels(view)
    assert on > 500
    # toggled off: no overlay pixels; on again: back
    view.casa_box.setChecked(False)
    assert view._casa_items == [] and _casa_pixels(view) < on / 20
    view.casa_box.setChecked(True)
    assert len(view._casa_items) == 6 and _casa_pixels(view) > on / 2

    # the recipe from the same model, fitted: the overlay stays with the fit
    window.panel.casa_button.click()
    window.fit_current()
    wait_idle(qtbot, window)
    assert not window.hooked_errors
    assert len(view._casa_items) == 6 and view._fit_items
    fitted = window.current_result()
    for c in casa:
        comp = next(k for k in fitted.components if k.label == c.name)
        assert comp.position == pytest.approx(c.position_be, abs=0.1)
    window.resize(1400, 860)
    qtbot.wait(20)
    shot = (IMG or tmp_path) / "gui_casa_overlay.png"
    assert window.grab().save(str(shot))


def test_a_model_that_cannot_be_converted_is_named_not_drawn(window):
    assert window.open_paths([real_file(FEO)]) == 1
    view = window.view
    overlay = view.casa_overlay
    assert overlay is not None and not overlay.drawn
    assert view._casa_items == [] and _casa_pixels(view) == 0
    assert view.casa_note.isVisibleTo(window) and not view.casa_box.isVisibleTo(window)
    text = view.casa_note.text()
    assert text.startswith("CasaXPS model: not drawn") and "LF(0.54,10,80,100,6)" in text
    # the button refuses the same model with the same reason
    window.panel.casa_button.click()
    assert len(window.hooked_errors) == 1 and "LF(0.54,10,80,100,6)" in window.hooked_errors[0]


def test_a_file_without_a_casaxps_model_has_no_overlay(window, cnf_series):
    window.open_paths([cnf_series])
    view = window.view
    assert view.casa_overlay is None and view._casa_items == []
    assert not view.casa_box.isVisibleTo(window) and not view.casa_note.isVisibleTo(window)
    assert _casa_pixels(view) == 0


def test_a_calibrated_spectrum_draws_its_casaxps_model_moved_with_it():
    """The CasaXPS model is in the file's frame: after a charge shift of the spectrum it is
    evaluated on the unshifted axis and drawn moved with the data, not re-fitted to the shift."""
    import numpy as np

    from xpsfit_gui.casa_overlay import casa_overlay
    spectrum = xpsfit.read(real_file(CELLULOSE))[1]
    base, moved = casa_overlay(spectrum), casa_overlay(xpsfit.shift(spectrum, 1.5))
    assert base.drawn and moved.drawn and "moved +1.50 eV" in moved.label
    assert np.allclose(moved.x, base.x + 1.5)
    assert np.allclose(moved.envelope, base.envelope)
    for name, position in base.positions.items():
        assert moved.positions[name] == pytest.approx(position + 1.5, abs=1e-9)
