"""Building and editing a model in the window as a user would (issue 13 items 1–3): add a free
satellite to a real Fe 2p through the Add dialog, type CasaXPS links into the table, set
bounds, the range fields and background parameters, rename, delete, undo — asserting on the
fitted numbers, on rendered pixels, and that the saved TOML reproduces the fit headless."""
from __future__ import annotations

import dataclasses

import os

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

import xpsfit

from gui_helpers import ROOT, wait_idle

sys.path.insert(0, str(ROOT / "tests"))
from realdata import real_file  # noqa: E402

# screenshots go to docs/img only when asked (XPSFIT_DOC_IMAGES=1): a test run never edits the repo
IMG = ROOT / "docs" / "img" if os.environ.get("XPSFIT_DOC_IMAGES") else None
S2P_43V = (0, 8)      # cnf_series.vms block 8: S 2p at 4.3 V
FE2P = """\
region = "Fe 2p"
library = "common"
lineshape = "gl_sum"
shape = {m = 0.3}
range = [700.0, 740.0]
[background]
type = "shirley_active"
[[components]]
species = "Fe2+"
window = [707.5, 710.5]
fwhm = [2.0, 5.0]
"""


def _column(w, title: str) -> int:
    from xpsfit_gui.component_table import COLUMNS
    return COLUMNS.index(title)


def _type(w, qtbot, species: str, title: str, text: str) -> None:
    """Type into a table cell as a user does (the edit is applied on the next event loop turn)."""
    n = w.undo_stack.count()
    errors = len(w.hooked_errors)
    w.table.item(w.table.row_of(species), _column(w, title)).setText(text)
    qtbot.waitUntil(lambda: w.undo_stack.count() > n or len(w.hooked_errors) > errors,
                    timeout=30000)
    wait_idle(qtbot, w)


def _orange_pixels(image, rgb) -> np.ndarray:
    """Boolean mask of pixels drawn in ``rgb`` (the curve) or its 70/255 fill over white."""
    img = image.convertToFormat(image.Format.Format_RGB888)
    h, wd, bpl = img.height(), img.width(), img.bytesPerLine()
    arr = np.frombuffer(img.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)[:, :wd * 3]
    arr = arr.reshape(h, wd, 3).astype(int)
    a = 70 / 255
    fill = np.array([(1 - a) * 255 + a * c for c in rgb])
    near = lambda ref: np.abs(arr - np.asarray(ref)).sum(axis=2) < 45   # noqa: E731
    return near(rgb) | near(fill)


@pytest.fixture
def fe2p(window, tmp_path, qtbot):
    w = window
    path = tmp_path / "fe2p.toml"
    path.write_text(FE2P, encoding="utf-8")
    assert w.open_paths([real_file("pynxtools-xps/FeO_analyzed.vms")]) == 1
    assert w.load_recipe(path)
    w.select((0, 0))
    w.fit_current()
    wait_idle(qtbot, w)
    assert w.hooked_errors == []
    return w


def test_add_free_satellite_to_real_fe2p_through_the_dialog(fe2p, qtbot, tmp_path):
    w = fe2p
    one = w.current_result().statistics.redchi
    colour = QColor(xpsfit.species_colour("Fe2p_sat1"))
    rgb = (colour.red(), colour.green(), colour.blue())
    before = _orange_pixels(w.view.grab().toImage(), rgb).sum()

    d = w.add_component_dialog()
    d.name.setText("Fe2p_sat1")
    d.label.setText("Fe²⁺ satellite")
    d.position.setValue(715.5)
    d.fwhm_lo.setValue(2.0)
    d.fwhm_hi.setValue(9.0)
    d.splitting.setValue(13.6)
    d.accept()
    wait_idle(qtbot, w)
    res = w.current_result()
    assert w.hooked_errors == [], w.hooked_errors
    assert [c.species for c in res.components] == ["Fe2+", "Fe2p_sat1"]
    sat = res.component("Fe2p_sat1")
    # measured: χ²ᵣ 145 → 17.7 on this file; the satellite lands ≈ 714.5 eV (CasaXPS: 716.0)
    assert res.statistics.redchi < 0.25 * one
    assert 713.0 < sat.position < 717.0 and sat.area > 0
    assert w.table.species() == ["Fe2+", "Fe2p_sat1"]
    assert w.table.item(1, 0).text().startswith(("B", "⚠ B"))
    assert "edited" in w.panel.source_label.text()

    # pixels: the satellite's colour appears, and its tallest column sits at its position
    qtbot.waitUntil(lambda: w.view.main.vb.viewRange()[0][1] > 735, timeout=5000)
    image = w.view.grab().toImage()
    mask = _orange_pixels(image, rgb)
    assert mask.sum() > before + 500
    col = int(np.argmax(mask[:, :].sum(axis=0)))
    vb = w.view.main.vb
    xs = {be: w.view.graphics.mapFromScene(vb.mapViewToScene(QPointF(be, 0))).x()
          for be in (sat.position, sat.position + sat.splitting)}
    dpr = image.devicePixelRatio()
    assert min(abs(col / dpr - x) for x in xs.values()) < 40, (col, xs)
    shot = (IMG or tmp_path) / "gui_fe2p_satellite.png"
    assert w.grab().save(str(shot)) and shot.stat().st_size > 0

    # GUI edits → saved recipe → xpsfit.fit headless gives the same numbers
    saved = tmp_path / "edited.toml"
    assert w.save_recipe(saved)
    headless = xpsfit.fit(w.spectrum((0, 0)), xpsfit.load_recipe(saved))
    assert headless.statistics.redchi == pytest.approx(res.statistics.redchi, rel=1e-8)
    assert headless.component("Fe2p_sat1").area == pytest.approx(sat.area, rel=1e-6)

    # undo removes it and refits the one-component model
    w.undo_stack.undo()
    wait_idle(qtbot, w)
    assert [c.species for c in w.current_result().components] == ["Fe2+"]
    assert w.current_result().statistics.redchi == pytest.approx(one, rel=1e-8)


@pytest.fixture
def s2p(window, cnf_series, s2p_recipe, qtbot):
    window.open_paths([cnf_series])
    window.set_recipe(s2p_recipe, "load")
    window.select(S2P_43V)
    window.fit_current()
    wait_idle(qtbot, window)
    assert window.hooked_errors == []
    return window


def test_type_casaxps_link_in_table_then_bad_one(s2p, qtbot):
    w = s2p
    a = w.table.species()[0]
    _type(w, qtbot, "S0", "Area link", "A*0.1")
    assert w.hooked_errors == []
    assert f"area(S0) = area({a}) * 0.1" in w.recipe.links
    res = w.current_result()
    assert res.component("S0").area == pytest.approx(0.1 * res.component(a).area, rel=1e-9)
    assert w.table.value("S0", "Area link") == f"area({a}) * 0.1"
    # a row that does not exist: one line, recipe and fit unchanged, cell restored
    links = list(w.recipe.links)
    _type(w, qtbot, "S0", "Area link", "Z*2")
    assert len(w.hooked_errors) == 1 and "\n" not in w.hooked_errors[0]
    assert "no row Z" in w.hooked_errors[0]
    assert w.recipe.links == links and w.current_result() is res
    assert w.table.value("S0", "Area link") == f"area({a}) * 0.1"
    # clearing the cell removes the link
    _type(w, qtbot, "S0", "Area link", "")
    assert not any(t.startswith("area(S0)") for t in w.recipe.links)


def test_fix_at_fitted_then_rename_duplicate_delete_undo(s2p, qtbot):
    w = s2p
    fitted = w.current_result().component("S0")
    w.table.selectRow(w.table.row_of("S0"))
    w.component_actions.buttons["Fix at fitted"].click()
    wait_idle(qtbot, w)
    assert w.table.value("S0", "Fixed") is True
    s0 = w.current_result().component("S0")
    assert s0.position == pytest.approx(fitted.position, abs=1e-9)
    assert s0.fwhm == pytest.approx(fitted.fwhm, abs=1e-9)
    assert w.rename_component("S0", "sulfur", label="S⁰ (renamed)")
    wait_idle(qtbot, w)
    assert "sulfur" in w.table.species() and "S0" not in w.table.species()
    assert any(t.startswith("position(sulfur) =") for t in w.recipe.links)
    assert w.current_result().component("sulfur").position == pytest.approx(fitted.position,
                                                                              abs=1e-9)
    w.table.selectRow(w.table.row_of("sulfur"))
    w.component_actions.buttons["Duplicate"].click()
    wait_idle(qtbot, w)
    assert w.table.species().index("sulfur_2") == w.table.species().index("sulfur") + 1
    w.table.selectRow(w.table.row_of("sulfur_2"))
    w.component_actions.buttons["Delete"].click()
    wait_idle(qtbot, w)
    assert "sulfur_2" not in w.table.species()
    assert w.hooked_errors == []
    for _ in range(4):
        w.undo_stack.undo()
    wait_idle(qtbot, w)
    assert w.table.species() == [c.species for c in w.current_result().components]
    assert "S0" in w.table.species() and w.table.value("S0", "Fixed") is False
    assert "from s2p_sulfide.toml" in w.panel.source_label.text()


def test_range_fields_and_background_parameters(s2p, qtbot):
    w = s2p
    p = w.panel
    p.range_lo.setValue(158.5)
    p.range_hi.setValue(167.5)
    p.range_hi.editingFinished.emit()
    wait_idle(qtbot, w)
    assert w.recipe.range == (158.5, 167.5)
    x = w.current_result().curves["binding_energy"].values
    assert x.min() >= 158.5 - 1e-9 and x.max() <= 167.5 + 1e-9
    np.testing.assert_allclose(w.view.region.getRegion(), (158.5, 167.5), atol=0.051)
    # the library's default range comes back with one click
    p.library_range_button.click()
    wait_idle(qtbot, w)
    assert w.recipe.range == xpsfit.default_range(w.recipe)
    # Tougaard with B fixed as typed: the recipe and the fit use it
    p.background_combo.setCurrentText("tougaard")
    p.background_combo.activated.emit(p.background_combo.currentIndex())
    wait_idle(qtbot, w)
    assert p.tougaard_B.isEnabled() and not p.endpoints.isEnabled()
    p.tougaard_fit_B.setChecked(False)
    wait_idle(qtbot, w)
    p.tougaard_B.setValue(1500.0)
    p.tougaard_B.editingFinished.emit()
    wait_idle(qtbot, w)
    bg = w.current_result().recipe.background
    assert (bg.type, bg.tougaard_B, bg.tougaard_fit_B) == ("tougaard", 1500.0, False)
    assert w.hooked_errors == []
    # a range that cuts a component off is refused with the CLI's one line
    p.range_lo.setValue(165.0)
    p.range_hi.setValue(170.0)
    p.range_hi.editingFinished.emit()
    assert len(w.hooked_errors) == 1 and "outside the recipe range" in w.hooked_errors[0]
    assert w.recipe.range == xpsfit.default_range(w.recipe)


def test_region_choice_takes_the_library_default_range(window, cnf_series):
    w = window
    w.open_paths([cnf_series])
    p = w.panel
    p.library_combo.setCurrentText("sulfide_electrolytes")
    p._on_library(p.library_combo.currentIndex())
    i = p.region_combo.findText("S 2p")
    p.region_combo.setCurrentIndex(i)
    p.region_combo.activated.emit(i)
    lib_range = xpsfit.load_library("sulfide_electrolytes").region("S 2p").default_range
    assert lib_range is not None and w.recipe.range == lib_range
    assert (p.range_lo.value(), p.range_hi.value()) == pytest.approx(lib_range)
    assert "built here" in p.source_label.text()


def test_prior_typed_in_panel_and_shape_typed_in_table(s2p, qtbot):
    w = s2p
    p = w.panel
    before = w.current_result()
    p.prior_edit.setText("position(S0) - position(PS4) = 2.3 ± 0.01")
    p.prior_edit.returnPressed.emit()
    wait_idle(qtbot, w)
    assert w.hooked_errors == [] and p.prior_edit.text() == ""
    assert "prior: position(S0) - position(PS4) = 2.3 ± 0.01" in p.constraints_label.text()
    res = w.current_result()
    gap = res.component("S0").position - res.component("PS4").position
    assert abs(gap - 2.3) < 0.05 and res is not before     # a tight prior holds the gap
    # a typo: one line, nothing changed, the text stays for correction
    p.prior_edit.setText("position(S0) ~ 2")
    p.prior_edit.returnPressed.emit()
    assert len(w.hooked_errors) == 1 and "cannot read prior" in w.hooked_errors[0]
    assert p.prior_edit.text() == "position(S0) ~ 2"
    # the shape cell: a bare number is the line shape's first parameter (η of pseudo-Voigt)
    _type(w, qtbot, "S0", "Shape", "0.6")
    assert w.recipe.component("S0").shape == {"eta": 0.6}
    assert w.table.value("S0", "Shape") == "eta=0.6"
    assert w.current_result().recipe.component("S0").shape == {"eta": 0.6}
    _type(w, qtbot, "S0", "Shape", "eta=3")
    assert len(w.hooked_errors) == 2 and "outside" in w.hooked_errors[1]
    assert w.table.value("S0", "Shape") == "eta=0.6"


def test_real_s2p_bound_then_free_doublet_is_flagged_not_called_good(window, qtbot, tmp_path):
    """Real PHI S 2p (Mutlipak_vms.npl): the library sulfide window (161.5–162.8 eV) holds the
    peak at its bound; typing a lower bound frees it (measured χ²ᵣ 14.5 → 3.2); a free doublet
    at 160 eV lowers χ²ᵣ again (→ 1.4) but the two areas are r ≈ −1 correlated, and the table
    says so on both rows."""
    w = window
    assert w.open_paths([real_file("lg4x-v2/Mutlipak_vms.npl")]) == 1
    key = next(k for k in w.all_keys() if w.spectrum(k).attrs.get("region") == "S 2p")
    w.set_recipe(xpsfit.start_recipe("common", "S 2p", ["sulfide"]), "new")
    w.select(key)
    w.fit_current()
    wait_idle(qtbot, w)
    first = w.current_result()
    assert first.component("sulfide").position == pytest.approx(161.5, abs=1e-3)   # at bound
    assert "sulfide" in w.table.row_warnings
    _type(w, qtbot, "sulfide", "Pos. min", "160.5")
    freed = w.current_result()
    assert 160.9 < freed.component("sulfide").position < 161.3
    assert freed.statistics.redchi < 0.5 * first.statistics.redchi
    assert w.add_component("S_low", position=160.0, window=[159.0, 160.8], fwhm=[0.5, 2.5],
                           splitting=1.18)
    wait_idle(qtbot, w)
    two = w.current_result()
    assert w.hooked_errors == []
    assert two.statistics.redchi < 0.7 * freed.statistics.redchi
    # honest: the split is not determined by the data, and the rows say so
    for species in ("sulfide", "S_low"):
        assert any("|r(" in t for t in w.table.row_warnings[species]), w.table.row_warnings
        assert w.table.item(w.table.row_of(species), 0).text().startswith("⚠")
    shot = (IMG or tmp_path) / "gui_s2p_free_component.png"
    assert w.grab().save(str(shot)) and shot.stat().st_size > 0


def _add_through_dialog(w, qtbot, *, name, position, species=None, label="", fwhm=None):
    """Add… button → fill the dialog → OK, as a user does; waits for the refit."""
    n = w.undo_stack.count()
    w.component_actions.buttons["Add"].click()
    d = w._add_dialog
    assert d is not None and d.isVisible()
    if species is not None:
        d.species.setCurrentText(species)
    d.name.setText(name)
    d.label.setText(label)
    d.position.setValue(position)
    if fwhm is not None:
        d.fwhm_lo.setValue(fwhm[0])
        d.fwhm_hi.setValue(fwhm[1])
    from PySide6.QtWidgets import QDialogButtonBox
    ok = d.findChild(QDialogButtonBox).button(QDialogButtonBox.Ok)
    qtbot.mouseClick(ok, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.undo_stack.count() > n, timeout=10000)
    wait_idle(qtbot, w)


def _tick(w, qtbot, species: str, title: str, checked: bool) -> None:
    n = w.undo_stack.count()
    item = w.table.item(w.table.row_of(species), _column(w, title))
    item.setCheckState(Qt.Checked if checked else Qt.Unchecked)
    qtbot.waitUntil(lambda: w.undo_stack.count() > n, timeout=10000)
    wait_idle(qtbot, w)


def test_real_fe2p_with_two_free_satellites_in_the_gui_alone(fe2p, qtbot, tmp_path):
    """The issue's "Done when" Fe 2p: real FeO (pynxtools-xps), only buttons, dialogs and table
    cells. A second Fe²⁺ multiplet line (the library species again) and TWO free satellites
    (2p3/2 near 715 eV, 2p1/2 near 729 eV) take χ²ᵣ from 145 to 4.7 (still bad: structured
    residuals, ρ₁ 0.81, with GL m = 0.3 held); letting the two main lines fit their own m
    (Vary shape) gives 2.55 with m → 0 at its bound, and holding m = 0 typed into the Shape
    cells gives 2.54, verdict doubtful (χ²ᵣ > 2, ρ₁ 0.66 > 0.5) but not bad. CasaXPS's own
    model of this file (asymmetric LF main lines, U 3 Tougaard) has main 709.05, satellites
    716.0 and 729.9 eV."""
    w = fe2p
    one = w.current_result()
    assert one.statistics.redchi > 100 and one.verdict == "bad"
    _add_through_dialog(w, qtbot, name="Fe2+_b", species="Fe2+", label="Fe²⁺ multiplet",
                        position=711.3)
    _add_through_dialog(w, qtbot, name="Fe2p_sat1", label="Fe²⁺ sat. 2p3/2", position=715.0,
                        fwhm=(2.0, 9.0))
    _add_through_dialog(w, qtbot, name="Fe2p_sat2", label="Fe²⁺ sat. 2p1/2", position=729.0,
                        fwhm=(2.0, 12.0))
    assert w.hooked_errors == [], w.hooked_errors
    assert w.table.species() == ["Fe2+", "Fe2+_b", "Fe2p_sat1", "Fe2p_sat2"]
    held = w.current_result()
    assert 4.0 < held.statistics.redchi < 5.5 and held.verdict == "bad"
    assert "residual_structure" in {r.code for r in held.verdict_reasons}
    assert w.table.value("Fe2+", "Shape fitted") == "m=0.3"
    assert w.table.value("Fe2+", "Vary shape") is False

    for row in ("Fe2+", "Fe2+_b"):
        _tick(w, qtbot, row, "Vary shape", True)
    varied = w.current_result()
    assert varied.statistics.redchi < 2.7
    m = varied.parameters[varied.component("Fe2+").parameters["m"]]
    assert m.kind == "free" and m.value < 0.01          # Gaussian: the lines want no GL tail
    assert varied.parameters[varied.component("Fe2p_sat1").parameters["m"]].value == 0.3
    assert w.table.value("Fe2+", "Vary shape") is True
    assert w.table.value("Fe2+", "Shape fitted").startswith("m=") \
        and "±" in w.table.value("Fe2+", "Shape fitted")
    assert "Fe2+_b" in w.table.row_warnings      # m at its bound is said on the row
    w.table.scrollToItem(w.table.item(0, _column(w, "Vary shape")))
    table_shot = (IMG or tmp_path) / "gui_shape_columns.png"
    assert w.table.grab().save(str(table_shot))

    for row in ("Fe2+", "Fe2+_b"):
        _type(w, qtbot, row, "Shape", "m=0")
        _tick(w, qtbot, row, "Vary shape", False)
    res = w.current_result()
    assert w.hooked_errors == [], w.hooked_errors
    assert res.statistics.redchi < 2.7 and res.statistics.redchi < 0.02 * one.statistics.redchi
    assert res.verdict == "doubtful", [str(r) for r in res.verdict_reasons]
    assert {r.code for r in res.verdict_reasons} == {"chi2", "residual_structure"}
    assert "verdict DOUBTFUL" in w.statusBar().currentMessage()
    main, sat1, sat2 = (res.component(k) for k in ("Fe2+", "Fe2p_sat1", "Fe2p_sat2"))
    assert abs(main.position - 709.05) < 0.3             # CasaXPS 709.05
    assert 714.0 < sat1.position < 716.0 and 6.0 < sat1.fwhm < 9.0
    assert 728.0 < sat2.position < 730.0 and sat2.fwhm > 6.0
    assert 0.4 < sat1.fraction + sat2.fraction < 0.65
    assert all(c.area > 3 * c.area_stderr for c in res.components)
    assert w.recipe.component("Fe2+").shape == {"m": 0.0}
    assert w.recipe.component("Fe2+").shape_vary is None  # held: the recipe's rule again

    shot = (IMG or tmp_path) / "gui_fe2p_satellites.png"
    assert w.grab().save(str(shot)) and shot.stat().st_size > 0
    saved = tmp_path / "fe2p_two_satellites.toml"
    assert w.save_recipe(saved)
    headless = xpsfit.fit(w.spectrum((0, 0)), xpsfit.load_recipe(saved))
    assert headless.statistics.redchi == pytest.approx(res.statistics.redchi, rel=1e-8)
    assert headless.verdict == res.verdict


def test_rename_dialog_renames_row_recipe_links_and_legend(s2p, qtbot):
    w = s2p
    before = w.current_result()
    assert "fwhm(S2-) = fwhm(PS4)" in w.recipe.links
    w.table.selectRow(w.table.row_of("PS4"))
    w.component_actions.buttons["Rename"].click()
    d = w._rename_dialog
    assert d is not None and d.isVisible() and d.name.text() == "PS4"
    assert d.label.text() == "PS₄³⁻"
    d.name.setText("thiophosphate")
    d.label.setText("PS₄³⁻ (renamed)")
    from PySide6.QtWidgets import QDialogButtonBox
    qtbot.mouseClick(d.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    wait_idle(qtbot, w)
    assert w.hooked_errors == []
    # recipe: key and label changed, the link that named PS4 follows
    assert [c.species for c in w.recipe.components][0] == "thiophosphate"
    assert w.recipe.component("thiophosphate").label == "PS₄³⁻ (renamed)"
    assert "fwhm(S2-) = fwhm(thiophosphate)" in w.recipe.links
    assert not any("PS4" in t for t in w.recipe.links)
    # the refit is the same model: same numbers under the new name
    res = w.current_result()
    assert res is not before
    assert res.component("thiophosphate").area == pytest.approx(
        before.component("PS4").area, rel=1e-6)
    assert res.component("S2-").fwhm == pytest.approx(res.component("thiophosphate").fwhm,
                                                      rel=1e-12)
    # table and legend show the new label
    assert w.table.species()[0] == "thiophosphate"
    assert "PS₄³⁻ (renamed)" in w.table.item(0, 0).text()
    legend = [label.text for _sample, label in w.view.legend.items]
    assert "PS₄³⁻ (renamed)" in legend and "PS₄³⁻" not in legend
    # a taken name and a name links could not spell: one line each, nothing changed
    recipe = w.recipe
    for bad, message in (("thiophosphate", "appears twice"), ("S(0)", "parentheses")):
        w.table.selectRow(w.table.row_of("S0"))
        w.component_actions.buttons["Rename"].click()
        d = w._rename_dialog
        d.name.setText(bad)
        qtbot.mouseClick(d.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
        assert message in w.hooked_errors[-1] and "\n" not in w.hooked_errors[-1]
        assert w.recipe is recipe and "S0" in w.table.species()
    assert len(w.hooked_errors) == 2
    # one undo brings PS4 and its link back
    w.undo_stack.undo()
    wait_idle(qtbot, w)
    assert "fwhm(S2-) = fwhm(PS4)" in w.recipe.links and w.table.species()[0] == "PS4"


def test_line_shape_column_and_vary_toggle_edit_the_recipe(s2p, qtbot, tmp_path):
    """Per-row line shape typed into the table, its shape value fitted (Vary shape) and shown
    ± σ, a bad name refused with one line; the saved TOML reproduces the fit headless. The
    example fits one shared η; held shapes (recipe init --fixed-shape) are the case where a
    per-row toggle matters, so the recipe starts with shapes held."""
    w = s2p
    held = dataclasses.replace(w.recipe, shape_vary=False,
                               series=dataclasses.replace(w.recipe.series,
                                                          shared=["position", "fwhm"]))
    w.set_recipe(held, "hold shapes")
    w.fit_current()
    wait_idle(qtbot, w)
    assert w.table.value("S0", "Line shape") == "pseudo_voigt"
    assert w.table.value("S0", "Shape fitted") == "eta=0.2"
    _type(w, qtbot, "polysulfide", "Line shape", "gl_sum")
    assert w.hooked_errors == []
    res = w.current_result()
    assert res.component("polysulfide").lineshape == "gl_sum"
    assert res.component("S0").lineshape == "pseudo_voigt"
    assert w.table.value("polysulfide", "Shape") == ""        # gl_sum's m: its default
    assert w.table.value("polysulfide", "Shape fitted") == "m=0.3"
    _tick(w, qtbot, "polysulfide", "Vary shape", True)
    res = w.current_result()
    m = res.parameters[res.component("polysulfide").parameters["m"]]
    assert m.kind == "free" and m.value != 0.3
    assert w.table.value("polysulfide", "Shape fitted") == f"m={m.value:.3g} ± {m.stderr:.2g}"
    eta = res.parameters[res.component("PS4").parameters["eta"]]
    assert eta.kind == "fixed" and eta.value == 0.2           # the other rows are held
    assert w.recipe.component("polysulfide").shape_vary is True
    # a name the registry does not have: one line, nothing changed, the cell restored
    _type(w, qtbot, "S0", "Line shape", "lorentzian")
    assert len(w.hooked_errors) == 1 and "\n" not in w.hooked_errors[0]
    assert "unknown line shape 'lorentzian'" in w.hooked_errors[0]
    assert w.table.value("S0", "Line shape") == "pseudo_voigt" and w.current_result() is res
    saved = tmp_path / "shapes.toml"
    assert w.save_recipe(saved)
    headless = xpsfit.fit(w.spectrum(S2P_43V), xpsfit.load_recipe(saved))
    assert headless.statistics.redchi == pytest.approx(res.statistics.redchi, rel=1e-8)
    # undo twice: back to the recipe's line shape, held
    w.undo_stack.undo()
    w.undo_stack.undo()
    wait_idle(qtbot, w)
    assert w.table.value("polysulfide", "Line shape") == "pseudo_voigt"
    assert w.table.value("polysulfide", "Vary shape") is False


def test_real_fe2p_casaxps_style_singlets_reach_verdict_ok(fe2p, qtbot, tmp_path):
    """Why the doublet model above stays doubtful: a doublet gives 2p1/2 the FWHM of 2p3/2 and
    a fixed area ratio, but on FeO the 2p1/2 lines are broader (Coster–Kronig). Built as a
    CasaXPS user would — six free singlets through Add…, the library doublet deleted, the
    spin-orbit splitting typed as CasaXPS links (A+13.6, B+13.6), Gaussian main lines typed
    as m=0 — the fit reaches χ²ᵣ 1.43, verdict ok (measured; 2p1/2 FWHM 3.95 vs 2p3/2 2.54)."""
    w = fe2p
    for name, position, fwhm in (("Fe2p3_a", 709.0, (1.0, 5.0)), ("Fe2p3_b", 710.7, (1.0, 5.0)),
                                 ("sat3", 715.0, (2.0, 10.0)), ("Fe2p1_a", 722.6, (1.0, 6.0)),
                                 ("Fe2p1_b", 724.3, (1.0, 6.0)), ("sat1", 729.0, (2.0, 12.0))):
        _add_through_dialog(w, qtbot, name=name, position=position, fwhm=fwhm)
    w.table.selectRow(w.table.row_of("Fe2+"))
    w.component_actions.buttons["Delete"].click()
    wait_idle(qtbot, w)
    assert w.table.species() == ["Fe2p3_a", "Fe2p3_b", "sat3", "Fe2p1_a", "Fe2p1_b", "sat1"]
    _type(w, qtbot, "Fe2p1_a", "Pos. link", "A+13.6")
    _type(w, qtbot, "Fe2p1_b", "Pos. link", "B+13.6")
    for row in ("Fe2p3_a", "Fe2p3_b", "Fe2p1_a", "Fe2p1_b"):
        _type(w, qtbot, row, "Shape", "m=0")
    assert w.hooked_errors == [], w.hooked_errors
    res = w.current_result()
    assert res.statistics.redchi < 1.6 and res.verdict == "ok", \
        (res.statistics.redchi, [str(r) for r in res.verdict_reasons])
    assert "verdict ok" in w.statusBar().currentMessage()
    a, b = res.component("Fe2p3_a"), res.component("Fe2p1_a")
    assert b.position - a.position == pytest.approx(13.6, abs=1e-9)
    assert abs(a.position - 709.05) < 0.2                  # CasaXPS's main line: 709.05 eV
    assert b.fwhm > 1.3 * a.fwhm                           # 2p1/2 broader than 2p3/2
    assert 714.0 < res.component("sat3").position < 716.0
    assert 728.0 < res.component("sat1").position < 730.0
    shot = (IMG or tmp_path) / "gui_fe2p_singlets.png"
    assert w.grab().save(str(shot))
    saved = tmp_path / "fe2p_casa_style.toml"
    assert w.save_recipe(saved)
    assert xpsfit.fit(w.spectrum((0, 0)), xpsfit.load_recipe(saved)).verdict == "ok"
