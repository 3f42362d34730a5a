"""The GUI's "From CasaXPS" button: the recipe comes from xpsfit.recipe_from_casa and fits."""
from __future__ import annotations

from pathlib import Path

import pytest

import xpsfit

from gui_helpers import wait_idle
from realdata import real_file   # tests/ is on sys.path through tests/conftest.py


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
