"""Calibrate, propagate, quantify in the window, driven as a user would, on real spectra;
asserting on the fitted numbers, the tables and the rendered pixels."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from gui_helpers import wait_idle
from realdata import real_file

import xpsfit

CHARGED = {"region": "C 1s", "library": "common", "range": [276.0, 288.0],
           "components": [{"species": "C-C", "position": 280.8, "window": 0.6},
                          {"species": "C-O", "position": 282.5, "window": 0.6},
                          {"species": "C=O", "position": 284.0, "window": 0.8}]}
#: one model per region of the PHI multiplex (ranges inside each block)
MULTIPAK = {
    "C 1s": {"range": [280.0, 292.0], "components": ["C-C", "C-O", "C=O"]},
    "O 1s": {"range": [525.0, 540.0], "components": ["OH", "C-O"]},
    "Mo 3d": {"range": [222.0, 240.0], "components": ["Mo4+", "Mo6+"]},
}


def _recipe(region):
    m = MULTIPAK[region]
    return xpsfit.recipe_from_dict({"region": region, "library": "common", "range": m["range"],
                                    "components": [{"species": s} for s in m["components"]]})


def _keys(window, region):
    return [k for k in window.all_keys() if window.spectrum(k).attrs["region"] == region]


def _fit(window, qtbot, key, recipe):
    window.select(key)
    window.set_recipe(recipe, "test recipe")
    wait_idle(qtbot, window)
    window.fit_current()
    wait_idle(qtbot, window)
    return window.current_result()


def _peak_energy_on_screen(window) -> float:
    """Binding energy under the highest dark (data-coloured) pixel of the rendered plot."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication
    QApplication.processEvents()        # the view re-ranges on the next event pass
    view = window.view
    view.legend.setVisible(False)       # its text is dark too
    try:
        img = view.graphics.grab().toImage()
    finally:
        view.legend.setVisible(True)
    vb = view.main.vb
    rect = view.graphics.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    w, h = img.width(), img.height()
    rgb = np.array([[img.pixelColor(x, y).getRgb()[:3] for x in range(w)]
                    for y in range(max(rect.top(), 0), min(rect.bottom(), h))], dtype=int)
    dark = (rgb.max(axis=2) < 90)
    cols = np.arange(w)
    inside = (cols > rect.left() + 10) & (cols < rect.right() - 10)   # ticks point inwards
    dark[:, ~inside] = False
    row, col = np.argwhere(dark)[0]
    scene = view.graphics.mapToScene(QPoint(int(col), int(row + max(rect.top(), 0))))
    return float(vb.mapSceneToView(scene).x())


def test_charge_reference_a_real_c1s_to_284_8_and_undo(window, qtbot, tmp_path):
    window.open_paths([real_file("cheminfo-vamas/ARXPS.vms")])
    key = _keys(window, "C 1s")[0]
    raw = _fit(window, qtbot, key, xpsfit.recipe_from_dict(CHARGED))
    assert raw.component("C-C").position == pytest.approx(280.8, abs=0.4)
    assert _peak_energy_on_screen(window) == pytest.approx(raw.component("C-C").position,
                                                           abs=0.4)
    axis_before = window.spectrum(key)["binding_energy"].values.copy()

    assert window.calibrate("C-C", 284.8)
    wait_idle(qtbot, window)
    res = window.current_result()
    assert res.success, res.flags
    assert res.component("C-C").position == pytest.approx(284.8, abs=1.5e-3)
    assert 3.5 < res.charge_shift < 4.5
    for c in res.components:           # fractions do not depend on where the axis sits
        assert c.fraction == pytest.approx(raw.component(c.species).fraction, abs=0.02)
    shown = window.calibration_label.text()
    assert f"charge shift {res.charge_shift:+.3f} eV" in shown and "→ 284.8 eV" in shown
    assert np.allclose(window.view.spectrum["binding_energy"].values,
                       res.spectrum["binding_energy"].values)
    assert _peak_energy_on_screen(window) == pytest.approx(284.8, abs=0.4)
    window.grab().save(str(tmp_path / "calibrated.png"))
    window.save_recipe(tmp_path / "calibrated.toml")
    assert 'species = "C-C"' in (tmp_path / "calibrated.toml").read_text()
    assert "[charge_reference]" in (tmp_path / "calibrated.toml").read_text()

    window.undo_stack.undo()
    wait_idle(qtbot, window)
    back = window.current_result()
    assert back.component("C-C").position == pytest.approx(raw.component("C-C").position)
    assert np.array_equal(window.spectrum(key)["binding_energy"].values, axis_before)
    assert window.recipe.charge_reference is None
    assert window.calibration_label.text() == ""
    assert not window.hooked_errors
    assert not window.calibrate("C-N", 284.8)       # not a component: one line, nothing moves
    assert len(window.hooked_errors) == 1 and "C-N" in window.hooked_errors[0]
    assert "\n" not in window.hooked_errors[0]
    assert np.array_equal(window.spectrum(key)["binding_energy"].values, axis_before)


def test_calibration_applied_to_the_other_regions_of_the_acquisition(window, qtbot):
    window.open_paths([real_file("lg4x-v2/Mutlipak_vms.npl")])
    c1s, o1s = _keys(window, "C 1s")[0], _keys(window, "O 1s")[0]
    _fit(window, qtbot, c1s, _recipe("C 1s"))
    window.calibrate("C-C", 284.8)
    wait_idle(qtbot, window)
    res = window.current_result()
    o_axis = window.spectrum(o1s)["binding_energy"].values.copy()
    assert window.apply_calibration() == 4          # O 1s, S 2p, N 1s, Mo 3d
    moved = window.spectrum(o1s)
    assert np.allclose(moved["binding_energy"].values, o_axis + res.charge_shift)
    assert "C-C = 284.8 eV" in moved.attrs["charge_reference"]
    o_fit = xpsfit.fit(moved, _recipe("O 1s"))
    assert o_fit.charge_shift == pytest.approx(res.charge_shift)     # recorded in the result
    window.undo_stack.undo()            # the shift of the other regions
    wait_idle(qtbot, window)
    assert np.array_equal(window.spectrum(o1s)["binding_energy"].values, o_axis)
    assert not window.hooked_errors


def test_propagate_a_model_over_five_spectra_and_read_the_table(window, qtbot, tmp_path):
    window.open_paths([real_file("cheminfo-vamas/ARXPS.vms")])
    keys = _keys(window, "C 1s")
    assert len(keys) == 5
    recipe = xpsfit.recipe_from_dict(CHARGED)
    window.select(keys[0])
    window.set_recipe(recipe, "test recipe")
    for k in keys:
        window.tree.item_for(k).setSelected(True)
    assert window.propagate()
    wait_idle(qtbot, window)
    table = window.across_view
    assert window.tabs.currentWidget() is table
    assert table.table.rowCount() == 5 * 3
    for i, k in enumerate(keys):
        r = window.results[k]
        alone = xpsfit.fit(window.spectrum(k), recipe)       # the same model, fitted alone
        for j, c in enumerate(r.components):
            row = 3 * i + j
            assert table.cell(row, "position (eV)").startswith(f"{c.position:.3f}")
            assert table.cell(row, "fraction (%)").startswith(f"{100 * c.fraction:.1f}")
            assert c.position == pytest.approx(alone.component(c.species).position, abs=0.01)
            assert c.fraction == pytest.approx(alone.component(c.species).fraction, abs=0.01)
        assert table.cell(3 * i, "χ²ᵣ") == f"{r.statistics.redchi:.3g}"
        assert r.verdict in ("ok", "doubtful", "bad")           # the core's verdict, shown
        assert table.cell(3 * i, "verdict") == r.verdict
    out = tmp_path / "across.csv"
    assert window.export_across_csv(out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 15
    assert [float(r["position"]) for r in rows] == pytest.approx(
        [c.position for k in keys for c in window.results[k].components])
    window.grab().save(str(tmp_path / "propagated.png"))
    assert not window.hooked_errors


def test_quantify_an_acquisition_flags_the_placeholder_rsf(window, qtbot, tmp_path):
    window.open_paths([real_file("lg4x-v2/Mutlipak_vms.npl")])
    fits = {region: _fit(window, qtbot, _keys(window, region)[0], _recipe(region))
            for region in MULTIPAK}
    window.select(_keys(window, "C 1s")[0])
    assert window.quantify()
    view = window.quant_view
    assert window.tabs.currentWidget() is view
    assert view.table.rowCount() == 3
    rsf = {"C 1s": 1.0, "O 1s": 2.93, "Mo 3d": 1.0}
    norm = {g: sum(c.area for c in fits[g].components) / rsf[g] for g in rsf}
    shown = {}
    for i in range(3):
        region = view.cell(i, "region")
        shown[region] = float(view.cell(i, "atomic %").split()[0])
        assert shown[region] == pytest.approx(100 * norm[region] / sum(norm.values()), abs=0.006)
        assert ("PLACEHOLDER RSF" in view.cell(i, "RSF source")) == (region == "Mo 3d")
    assert sum(shown.values()) == pytest.approx(100.0, abs=0.02)
    assert "placeholder" in view.caption.text()
    # the placeholder row is shaded on screen, the others are not
    img = view.table.viewport().grab().toImage()
    for i in range(3):
        y = view.table.rowViewportPosition(i) + view.table.rowHeight(i) // 2
        x = view.table.columnViewportPosition(0) + 2
        colour = img.pixelColor(x, y).name()
        assert (colour == "#f6d5d0") == (view.cell(i, "region") == "Mo 3d"), (i, colour)
    out = tmp_path / "atomic.csv"
    assert window.export_quantification_csv(out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["region"]: r["rsf_placeholder"] for r in rows} == {
        "C 1s": "false", "O 1s": "false", "Mo 3d": "true"}
    window.grab().save(str(tmp_path / "quantified.png"))
    assert not window.hooked_errors


def test_a_calibrated_model_propagates_referenced_over_the_acquisition(window, qtbot):
    """Calibrate the first charged C 1s, propagate: every spectrum of the acquisition is
    referenced (C–C at 284.8 eV) with its own shift, none is left on the charged axis."""
    window.open_paths([real_file("cheminfo-vamas/ARXPS.vms")])
    keys = _keys(window, "C 1s")
    _fit(window, qtbot, keys[0], xpsfit.recipe_from_dict(CHARGED))
    window.calibrate("C-C", 284.8)
    wait_idle(qtbot, window)
    first = window.current_result().charge_shift
    assert window.propagate(keys)
    wait_idle(qtbot, window)
    for k in keys:
        r = window.results[k]
        assert r.success, (k, r.flags)
        assert r.component("C-C").position == pytest.approx(284.8, abs=1.5e-3)
        assert r.charge_shift == pytest.approx(first, abs=0.5)
    assert "every fit ok" in window.across_view.caption.text()
