"""Recipe panel, fit-range region and drag-and-drop: each user action becomes an undoable recipe
edit and (when a fit is shown) a refit."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

import xpsfit

from gui_helpers import need_api, wait_idle


def test_panel_builds_recipe_from_library_and_species(window, cnf_series, qtbot):
    need_api("recipe_from_dict")
    w = window
    w.open_paths([cnf_series])
    p = w.panel
    assert "sulfide_electrolytes" in [p.library_combo.itemText(i)
                                      for i in range(p.library_combo.count())]
    p.library_combo.setCurrentText("sulfide_electrolytes")
    p._on_library(p.library_combo.currentIndex())
    i = p.region_combo.findText("S 2p")
    assert i >= 0
    p.region_combo.setCurrentIndex(i)
    p.region_combo.activated.emit(i)
    assert w.recipe is not None and w.recipe.region == "S 2p"
    lib_keys = list(xpsfit.load_library("sulfide_electrolytes").region("S 2p").species)
    assert [c.species for c in w.recipe.components] == lib_keys
    assert p.checked_species() == lib_keys
    # uncheck the last species: the recipe follows, and undo brings it back
    p.species_list.item(len(lib_keys) - 1).setCheckState(Qt.Unchecked)
    assert [c.species for c in w.recipe.components] == lib_keys[:-1]
    assert w.table.species() == lib_keys[:-1]
    w.undo_stack.undo()
    assert [c.species for c in w.recipe.components] == lib_keys
    assert p.checked_species() == lib_keys
    # line shape and background choices
    p.background_combo.setCurrentText("linear")
    p.background_combo.activated.emit(p.background_combo.currentIndex())
    assert w.recipe.background.type == "linear"
    w.undo_stack.undo()
    assert w.recipe.background.type != "linear"


def test_range_drag_sets_recipe_range_and_refits(window, cnf_series, s2p_recipe, qtbot):
    w = window
    w.open_paths([cnf_series])
    w.set_recipe(s2p_recipe, "load")
    w.select((0, 4))
    w.fit_current()
    wait_idle(qtbot, w)
    w.view.region.setRegion((158.0, 168.0))   # emits sigRegionChangeFinished, as a release does
    wait_idle(qtbot, w)
    assert w.undo_stack.count() == 2
    assert w.recipe.range == (pytest.approx(158.0), pytest.approx(168.0))
    x = w.current_result().curves["binding_energy"].values
    assert x.min() >= 158.0 - 1e-9 and x.max() <= 168.0 + 1e-9
    assert len(x) < w.spectrum((0, 4)).size
    w.undo_stack.undo()
    wait_idle(qtbot, w)
    assert w.recipe.range == s2p_recipe.range
    np.testing.assert_allclose(w.view.region.getRegion(), s2p_recipe.range, atol=0.051)


def test_drop_files_opens_them(window, cnf_series):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(cnf_series))])
    event = QDropEvent(QPointF(20, 20), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert window.tree.topLevelItemCount() == 1
    assert len(window.files[0].spectra) == 10
